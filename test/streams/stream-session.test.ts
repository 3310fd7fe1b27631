/**
 * A hostile or broken peer, fed to a StreamSession frame by frame (sans IO): windows exceeded,
 * streams opened without limit, frames for streams that never existed, resets mid-record,
 * malformed frames. Memory stays bounded, errors land on the stream concerned or are counted,
 * and nothing is thrown.
 */
import { describe, expect, it } from 'vitest';
import { readVarint } from '../../src/channel/varint.js';
import {
  ROOT_PARENT,
  StreamFlag,
  writeResetFrame,
  writeStopFrame,
  writeStreamFrame,
  writeWindowFrame,
} from '../../src/streams/stream-frames.js';
import {
  INITIAL_STREAM_WINDOW,
  StreamSession,
  type StreamToken,
} from '../../src/streams/stream-session.js';
import { NO_EVENTS, StreamErrorCode, type StreamState } from '../../src/streams/stream-state.js';

const LOW = new Uint8Array(32);
const HIGH = new Uint8Array(32).fill(1);

/** Our session; the peer's key is the higher, so its streams have odd ids (1, 3, 5, ...). */
function session(maxIncomingStreams = 4, autoWindowBudget?: number) {
  const incoming: StreamState[] = [];
  const resets = new Map<number, number>();
  const s = new StreamSession({
    localKey: LOW,
    peerKey: HIGH,
    maxIncomingStreams,
    autoWindowBudget,
    randomBytes: (n) => new Uint8Array(n).fill(7),
    now: () => 0,
    onIncoming: (state) => {
      incoming.push(state);
      state.events = { ...NO_EVENTS, reset: (code) => resets.set(state.id, code) };
    },
  });
  return { s, incoming, resets };
}

/** Delivers one frame, written by `write` into a fresh buffer, as the channel would. */
function feed(s: StreamSession, write: (out: Uint8Array) => number): string | undefined {
  const out = new Uint8Array(200_000);
  const end = write(out);
  const payload = out.subarray(0, end);
  const cursor = { offset: 0 };
  const type = readVarint(payload, cursor);
  return s.onFrame(type, payload, cursor) as string | undefined;
}

const open =
  (id: number, offset: number, data: Uint8Array, flags = 0) =>
  (out: Uint8Array) =>
    writeStreamFrame(out, 0, id, offset, data, flags, ROOT_PARENT);

/** Sends until nothing is left and acknowledges every packet, as a perfect channel would. */
function drain(s: StreamSession): void {
  const out = new Uint8Array(1200);
  for (let i = 0; i < 10_000 && s.hasFrames(); i++) {
    const written = s.writeFrames(out, 0, out.length);
    if (written === undefined) break;
    s.onAcked(written.token as StreamToken);
  }
}

describe('StreamSession against a hostile peer', () => {
  it('data beyond the window resets that stream (flowControl) and leaves the others alone', () => {
    const { s, incoming, resets } = session();
    feed(s, open(1, 0, new Uint8Array(10)));
    feed(s, open(3, 0, new Uint8Array(10)));
    expect(feed(s, open(1, 10, new Uint8Array(INITIAL_STREAM_WINDOW)))).not.toBe('malformed');
    expect(s.stats.flowViolations).toBe(1);
    expect(resets.get(1)).toBe(StreamErrorCode.flowControl);
    const [first, second] = incoming;
    expect(first?.receive.buffered).toBeLessThanOrEqual(INITIAL_STREAM_WINDOW);
    feed(s, (out) => writeStreamFrame(out, 0, 3, 10, new Uint8Array(5), StreamFlag.fin));
    expect(resets.has(3)).toBe(false);
    expect(second?.receive.buffered).toBe(15);
  });

  it('a peer opening streams without limit has the excess refused, and the table stays bounded', () => {
    const { s, incoming } = session(4);
    for (let n = 0; n < 1000; n++) feed(s, open(2 * n + 1, 0, new Uint8Array(100)));
    expect(incoming).toHaveLength(4);
    // Numbers beyond the MAX_STREAMS we advertised break the protocol: dropped and counted.
    expect(s.stats.invalid).toBe(996);
    drain(s);
    // The refusals went out and were acknowledged: only the four accepted streams are held.
    expect(s.streams.size).toBe(4);
    expect(s.hasFrames()).toBe(false);
  });

  it('a substream under a stream that does not listen is refused, and only answered', () => {
    const { s, incoming } = session(4);
    feed(s, open(1, 0, new Uint8Array(10)));
    feed(s, (out) => writeStreamFrame(out, 0, 3, 0, new Uint8Array(100), 0, 1));
    expect(incoming).toHaveLength(1);
    expect(s.stats.refused).toBe(1);
    expect(s.streams.size).toBe(1);
    expect(s.hasFrames()).toBe(true);
    drain(s);
    expect(s.hasFrames()).toBe(false);
    expect(s.streams.size).toBe(1);
  });

  it('frames for streams that never existed are counted and change nothing', () => {
    const { s, incoming } = session();
    // Our parity (even ids), never opened by us; then a peer stream never opened.
    expect(feed(s, (out) => writeWindowFrame(out, 0, 8, 1 << 20))).not.toBe('malformed');
    feed(s, (out) => writeStopFrame(out, 0, 10, 0x100));
    feed(s, (out) => writeStreamFrame(out, 0, 5, 0, new Uint8Array(10), 0));
    expect(s.stats.invalid).toBeGreaterThanOrEqual(3);
    expect(incoming).toHaveLength(0);
    expect(s.streams.size).toBe(0);
  });

  it('a reset mid-record: the half record is never delivered and the reader is told why', () => {
    const { s, incoming, resets } = session();
    feed(s, open(1, 0, new Uint8Array(4).fill(1), StreamFlag.record));
    feed(s, (out) => writeStreamFrame(out, 0, 1, 4, new Uint8Array(6).fill(2), 0));
    feed(s, (out) => writeResetFrame(out, 0, 1, 0x123, 10));
    const state = incoming[0] as StreamState;
    expect(resets.get(1)).toBe(0x123);
    expect(state.peerResetCode).toBe(0x123);
    expect(state.receive.readRecord()).toEqual(new Uint8Array(4).fill(1));
    expect(state.receive.readRecord()).toBeUndefined();
    // Data after the reset is ignored, not buffered.
    feed(s, (out) => writeStreamFrame(out, 0, 1, 10, new Uint8Array(1000), 0));
    expect(state.receive.buffered).toBeLessThanOrEqual(6);
  });

  it('truncated frames are reported malformed, never thrown', () => {
    const { s } = session();
    for (const cut of [1, 2, 3, 5]) {
      const out = new Uint8Array(100);
      const end = writeStreamFrame(out, 0, 1, 0, new Uint8Array(20), 0, ROOT_PARENT);
      const payload = out.subarray(0, Math.min(cut, end));
      const cursor = { offset: 0 };
      const type = readVarint(payload, cursor);
      expect(() => s.onFrame(type, payload, cursor)).not.toThrow();
      expect(s.onFrame(type, payload, { offset: cursor.offset })).toBe('malformed');
    }
  });
});

describe('StreamSession receive windows', () => {
  /** The peer sends stream `id` as much as its window allows; we read it all and answer. */
  function round(s: StreamSession, state: StreamState, sent: { [id: number]: number }): void {
    const end = state.receive.maxOffset;
    for (let at = sent[state.id] ?? 0; at < end; at += INITIAL_STREAM_WINDOW) {
      feed(s, open(state.id, at, new Uint8Array(Math.min(INITIAL_STREAM_WINDOW, end - at))));
    }
    sent[state.id] = end;
    while (state.receive.readData().length > 0);
    drain(s);
  }

  it('grow for readers that keep up, all together within the session budget; a forgotten stream gives its growth back', () => {
    const budget = 1024 * 1024;
    const { s, incoming } = session(4, budget);
    for (const id of [1, 3, 5, 7]) feed(s, open(id, 0, new Uint8Array(1)));
    const sent: { [id: number]: number } = {};
    for (let i = 0; i < 12; i++) for (const state of incoming) round(s, state, sent);
    const growth = incoming.map((state) => state.receive.window - INITIAL_STREAM_WINDOW);
    expect(Math.max(...growth)).toBeGreaterThan(0);
    expect(growth.reduce((a, b) => a + b, 0)).toBe(s.autoWindowGrown);
    expect(s.autoWindowGrown).toBe(budget);

    // Stream 1 ends both ways and is forgotten: its growth goes back to the budget...
    const first = incoming[0] as StreamState;
    const firstGrowth = first.autoGrown;
    feed(s, (out) => writeStreamFrame(out, 0, 1, sent[1] ?? 0, new Uint8Array(0), StreamFlag.fin));
    first.receive.readData();
    s.finish(first);
    drain(s);
    s.collectIfDone(first);
    expect(first.collected).toBe(true);
    expect(s.autoWindowGrown).toBe(budget - firstGrowth);
    // ...and the others may grow into it.
    for (let i = 0; i < 4; i++) for (const state of incoming.slice(1)) round(s, state, sent);
    expect(s.autoWindowGrown).toBe(budget);
  });

  it('with no budget, every window stays where it began', () => {
    const { s, incoming } = session(2, 0);
    for (const id of [1, 3]) feed(s, open(id, 0, new Uint8Array(1)));
    const sent: { [id: number]: number } = {};
    for (let i = 0; i < 6; i++) for (const state of incoming) round(s, state, sent);
    for (const state of incoming) expect(state.receive.window).toBe(INITIAL_STREAM_WINDOW);
    expect(s.autoWindowGrown).toBe(0);
  });
});
