/**
 * The lifecycle of one stream (DESIGN.md, fixed decision 2). The stream session moves bytes on
 * its per-packet path and the public `Stream` sends this machine an event only when a direction
 * ends, the stream is reset, its channel comes or goes, or the link changes. A stream is
 * collected, with no TIME-WAIT, once both directions are done.
 */
import { setup } from 'xstate';

export type StreamEvent =
  /** The application finished writing (half-close). */
  | { type: 'WRITE_FINISHED' }
  /** Every byte written, and the end, was acknowledged. */
  | { type: 'SEND_ACKNOWLEDGED' }
  /** The sending direction was reset, by us or at the peer's request. */
  | { type: 'SEND_RESET' }
  /** The peer's data was read to its end. */
  | { type: 'RECEIVE_ENDED' }
  /** The peer reset its sending direction. */
  | { type: 'RECEIVE_RESET' }
  /** The application stopped reading. */
  | { type: 'READ_CLOSED' }
  /** A channel to the peer carries the stream. */
  | { type: 'ATTACHED' }
  /** No channel carries the stream; it keeps its state and waits for one. */
  | { type: 'DETACHED' }
  | { type: 'LINK_UP' }
  | { type: 'LINK_STALLED' }
  | { type: 'LINK_DOWN' }
  /** Both directions are done and the session forgot the stream. */
  | { type: 'COLLECTED' };

/**
 * `live` runs four regions side by side: `sending` (open, finishing, done, reset), `receiving`
 * (open, ended, reset, closed), `attachment` (detached, attached) and `link` (up, stalled,
 * down). `collected` is final.
 */
export const streamMachine = setup({
  types: { events: {} as StreamEvent },
}).createMachine({
  id: 'stream',
  initial: 'live',
  states: {
    live: {
      type: 'parallel',
      on: { COLLECTED: 'collected' },
      states: {
        sending: {
          initial: 'open',
          on: { SEND_RESET: '.reset' },
          states: {
            open: { on: { WRITE_FINISHED: 'finishing' } },
            finishing: { on: { SEND_ACKNOWLEDGED: 'done' } },
            done: {},
            reset: {},
          },
        },
        receiving: {
          initial: 'open',
          states: {
            open: {
              on: { RECEIVE_ENDED: 'ended', RECEIVE_RESET: 'reset', READ_CLOSED: 'closed' },
            },
            ended: {},
            reset: {},
            closed: {},
          },
        },
        attachment: {
          initial: 'detached',
          states: {
            detached: { on: { ATTACHED: 'attached' } },
            attached: { on: { DETACHED: 'detached' } },
          },
        },
        link: {
          initial: 'down',
          states: {
            up: { on: { LINK_STALLED: 'stalled', LINK_DOWN: 'down' } },
            stalled: { on: { LINK_UP: 'up', LINK_DOWN: 'down' } },
            down: { on: { LINK_UP: 'up', LINK_STALLED: 'stalled' } },
          },
        },
      },
    },
    collected: { type: 'final' },
  },
});
