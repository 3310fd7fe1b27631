/**
 * The lifecycle of an established channel (DESIGN.md, fixed decision 2). The packet engine
 * (`ChannelCore`) decides link state, path changes and key updates on its per-packet path and
 * sends an event only when one happens; the machine is what observers and the inspector see.
 * The handshake before it is `handshake.machine.ts`.
 */
import { assign, setup } from 'xstate';

export type ChannelEvent =
  | { type: 'LINK_UP' }
  | { type: 'LINK_STALLED' }
  | { type: 'LINK_DOWN' }
  /** The channel sends on a path the peer has not yet proven it holds. */
  | { type: 'PATH_VALIDATING'; path: string }
  | { type: 'PATH_VALIDATED'; path: string }
  /** Validation failed; the channel is back on `path`. */
  | { type: 'PATH_FAILED'; path: string }
  /** The send key changed to key phase `phase`. */
  | { type: 'KEY_UPDATED'; phase: 0 | 1 }
  /** A CLOSE frame is going out. */
  | { type: 'CLOSING' }
  /** The channel closed: locally, by the peer, or on a protocol error. */
  | { type: 'CLOSED' };

/**
 * `open` runs three regions side by side:
 * - `link`: `up`, `stalled` and `down` with SST's meaning (reference/sst-protocol.md §2.7). Any
 *   state can follow any other, because silence can outlast a stall and one acknowledgement
 *   ends either.
 * - `path`: `settled`, or `validating` while the channel sends on an address the peer has not
 *   yet answered a challenge on (migration, RFC 9000 §9), under the anti-amplification limit.
 * - `keys`: the key phase of what we send, flipping at each key update.
 *
 * `closing` (our CLOSE frame on its way) and `closed` follow; `closed` is final.
 */
export const channelMachine = setup({
  types: {
    events: {} as ChannelEvent,
    context: {} as { path: string; keyUpdates: number },
    input: {} as { path: string },
  },
  actions: {
    recordPath: assign({
      path: ({ context, event }) => ('path' in event ? event.path : context.path),
    }),
    countKeyUpdate: assign({ keyUpdates: ({ context }) => context.keyUpdates + 1 }),
  },
}).createMachine({
  id: 'channel',
  context: ({ input }) => ({ path: input.path, keyUpdates: 0 }),
  initial: 'open',
  on: { CLOSED: '.closed' },
  states: {
    open: {
      type: 'parallel',
      on: { CLOSING: 'closing' },
      states: {
        link: {
          initial: 'up',
          states: {
            up: { on: { LINK_STALLED: 'stalled', LINK_DOWN: 'down' } },
            stalled: { on: { LINK_UP: 'up', LINK_DOWN: 'down' } },
            down: { on: { LINK_UP: 'up', LINK_STALLED: 'stalled' } },
          },
        },
        path: {
          initial: 'settled',
          on: {
            PATH_VALIDATING: { target: '.validating', actions: 'recordPath' },
            PATH_VALIDATED: { target: '.settled', actions: 'recordPath' },
            PATH_FAILED: { target: '.settled', actions: 'recordPath' },
          },
          states: { settled: {}, validating: {} },
        },
        keys: {
          initial: 'phase0',
          states: {
            phase0: {
              on: {
                KEY_UPDATED: { target: 'phase1', actions: 'countKeyUpdate' },
              },
            },
            phase1: {
              on: {
                KEY_UPDATED: { target: 'phase0', actions: 'countKeyUpdate' },
              },
            },
          },
        },
      },
    },
    closing: {},
    closed: { type: 'final' },
  },
});
