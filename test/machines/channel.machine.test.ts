import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { channelMachine } from '../../src/machines/channel.machine.js';

function start() {
  return createActor(channelMachine, { input: { path: '10.0.0.2:443' } }).start();
}

describe('channel machine', () => {
  it('starts open: link up, path settled on the handshake address, key phase 0', () => {
    const snapshot = start().getSnapshot();
    expect(snapshot.value).toEqual({ open: { link: 'up', path: 'settled', keys: 'phase0' } });
    expect(snapshot.context).toEqual({ path: '10.0.0.2:443', keyUpdates: 0 });
  });

  it('link state follows any order of up, stalled and down', () => {
    const actor = start();
    const seen: unknown[] = [];
    for (const type of [
      'LINK_STALLED',
      'LINK_DOWN',
      'LINK_STALLED',
      'LINK_UP',
      'LINK_DOWN',
      'LINK_UP',
    ] as const) {
      actor.send({ type });
      seen.push((actor.getSnapshot().value as { open: { link: string } }).open.link);
    }
    expect(seen).toEqual(['stalled', 'down', 'stalled', 'up', 'down', 'up']);
  });

  it('a migration validates, then settles on the new path; a failed one settles back', () => {
    const actor = start();
    actor.send({ type: 'PATH_VALIDATING', path: '203.0.113.7:6000' });
    expect(actor.getSnapshot().matches({ open: { path: 'validating' } })).toBe(true);
    actor.send({ type: 'PATH_VALIDATED', path: '203.0.113.7:6000' });
    expect(actor.getSnapshot().matches({ open: { path: 'settled' } })).toBe(true);
    expect(actor.getSnapshot().context.path).toBe('203.0.113.7:6000');
    actor.send({ type: 'PATH_VALIDATING', path: '198.51.100.9:9' });
    actor.send({ type: 'PATH_FAILED', path: '203.0.113.7:6000' });
    expect(actor.getSnapshot().context.path).toBe('203.0.113.7:6000');
  });

  it('each key update flips the phase and is counted', () => {
    const actor = start();
    actor.send({ type: 'KEY_UPDATED', phase: 1 });
    actor.send({ type: 'KEY_UPDATED', phase: 0 });
    actor.send({ type: 'KEY_UPDATED', phase: 1 });
    expect(actor.getSnapshot().matches({ open: { keys: 'phase1' } })).toBe(true);
    expect(actor.getSnapshot().context.keyUpdates).toBe(3);
  });

  it('closing then closed, which is final; link events after it change nothing', () => {
    const actor = start();
    actor.send({ type: 'CLOSING' });
    expect(actor.getSnapshot().value).toBe('closing');
    actor.send({ type: 'LINK_DOWN' });
    expect(actor.getSnapshot().value).toBe('closing');
    actor.send({ type: 'CLOSED' });
    expect(actor.getSnapshot().status).toBe('done');
  });
});
