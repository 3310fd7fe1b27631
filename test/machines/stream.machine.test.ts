import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { streamMachine } from '../../src/machines/stream.machine.js';

const start = () => createActor(streamMachine).start();

describe('stream machine', () => {
  it('starts live: both directions open, detached, link down', () => {
    expect(start().getSnapshot().value).toEqual({
      live: { sending: 'open', receiving: 'open', attachment: 'detached', link: 'down' },
    });
  });

  it('sending: finishing after the end is written, done once everything is acknowledged', () => {
    const actor = start();
    actor.send({ type: 'SEND_ACKNOWLEDGED' });
    expect(actor.getSnapshot().matches({ live: { sending: 'open' } })).toBe(true);
    actor.send({ type: 'WRITE_FINISHED' });
    actor.send({ type: 'SEND_ACKNOWLEDGED' });
    expect(actor.getSnapshot().matches({ live: { sending: 'done' } })).toBe(true);
  });

  it('a reset ends sending from any state; receiving ends by end, reset or close', () => {
    for (const event of ['RECEIVE_ENDED', 'RECEIVE_RESET', 'READ_CLOSED'] as const) {
      const actor = start();
      actor.send({ type: 'WRITE_FINISHED' });
      actor.send({ type: 'SEND_RESET' });
      actor.send({ type: event });
      const receiving = {
        RECEIVE_ENDED: 'ended',
        RECEIVE_RESET: 'reset',
        READ_CLOSED: 'closed',
      } as const;
      expect(actor.getSnapshot().matches({ live: { sending: 'reset' } })).toBe(true);
      expect(actor.getSnapshot().matches({ live: { receiving: receiving[event] } })).toBe(true);
    }
  });

  it('attachment and link follow the channel underneath', () => {
    const actor = start();
    actor.send({ type: 'ATTACHED' });
    actor.send({ type: 'LINK_UP' });
    actor.send({ type: 'LINK_STALLED' });
    expect(actor.getSnapshot().matches({ live: { attachment: 'attached', link: 'stalled' } })).toBe(
      true,
    );
    actor.send({ type: 'DETACHED' });
    actor.send({ type: 'LINK_DOWN' });
    expect(actor.getSnapshot().matches({ live: { attachment: 'detached', link: 'down' } })).toBe(
      true,
    );
  });

  it('collected is final', () => {
    const actor = start();
    actor.send({ type: 'COLLECTED' });
    expect(actor.getSnapshot().status).toBe('done');
  });
});
