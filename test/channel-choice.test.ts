import { describe, expect, it } from 'vitest';
import { DIAL_ROUND_MS, isQuiet, keepNewChannel, QUIET_MS } from '../src/channel-choice.js';

const base = { now: 50_000, dialStartedAt: 49_000 };

describe('keepNewChannel', () => {
  it('keeps a channel when none is held, or when the same side made both', () => {
    expect(keepNewChannel({ ...base, held: undefined, ours: false, lowerKey: true })).toBe(true);
    const held = { ours: true, attachedAt: 49_900 };
    expect(keepNewChannel({ ...base, held, ours: true, lowerKey: false })).toBe(true);
    const theirs = { ours: false, attachedAt: 49_900 };
    expect(keepNewChannel({ ...base, held: theirs, ours: false, lowerKey: true })).toBe(true);
  });

  it('in a round of crossed dials, both hosts keep the channel the lower key dialled', () => {
    // The lower host: its own dial ends after the peer's channel arrived during it.
    const peerFirst = { ours: false, attachedAt: 49_500 };
    expect(keepNewChannel({ ...base, held: peerFirst, ours: true, lowerKey: true })).toBe(true);
    // The higher host, the same way round: its own channel loses.
    expect(keepNewChannel({ ...base, held: peerFirst, ours: true, lowerKey: false })).toBe(false);
    // Its own channel came first, then the peer's: the lower host refuses the peer's...
    const oursFirst = { ours: true, attachedAt: 49_500 };
    expect(keepNewChannel({ ...base, held: oursFirst, ours: false, lowerKey: true })).toBe(false);
    // ...and the higher host takes it.
    expect(keepNewChannel({ ...base, held: oursFirst, ours: false, lowerKey: false })).toBe(true);
  });

  it('outside a round the newest channel wins whoever dialled it', () => {
    const old = { ours: true, attachedAt: base.now - DIAL_ROUND_MS };
    expect(keepNewChannel({ ...base, held: old, ours: false, lowerKey: true })).toBe(true);
    const before = { ours: false, attachedAt: base.dialStartedAt - 1 };
    expect(keepNewChannel({ ...base, held: before, ours: true, lowerKey: false })).toBe(true);
  });

  it("inside a round, the lower host takes the peer's channel when its own has gone quiet", () => {
    const oursFirst = { ours: true, attachedAt: 49_500 };
    const choice = { ...base, held: oursFirst, ours: false, lowerKey: true };
    expect(keepNewChannel({ ...choice, heldQuiet: false })).toBe(false);
    expect(keepNewChannel({ ...choice, heldQuiet: true })).toBe(true);
  });

  it('a channel is quiet after a second, or three probe timeouts if longer, with nothing heard', () => {
    expect(isQuiet(QUIET_MS, 10)).toBe(false);
    expect(isQuiet(QUIET_MS + 1, 10)).toBe(true);
    expect(isQuiet(2000, 700)).toBe(false);
    expect(isQuiet(2101, 700)).toBe(true);
  });
});
