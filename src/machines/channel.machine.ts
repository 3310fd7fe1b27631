/**
 * The lifecycle of an established channel (DESIGN.md, fixed decision 2). The packet engine
 * (`ChannelCore`) decides link state from acknowledgements and silence and sends an event only
 * when the state changes; the machine is what observers and the inspector see.
 */
import { setup } from 'xstate';

export type ChannelEvent =
  | { type: 'LINK_UP' }
  | { type: 'LINK_STALLED' }
  | { type: 'LINK_DOWN' }
  /** The channel closed: locally, by the peer, or on a protocol error. */
  | { type: 'CLOSED' };

/**
 * `up`, `stalled` and `down` with SST's meaning (reference/sst-protocol.md §2.7); `closed` is
 * final. Any link state can follow any other, because silence can outlast a stall and one
 * acknowledgement ends either.
 */
export const channelMachine = setup({
  types: { events: {} as ChannelEvent },
}).createMachine({
  id: 'channel',
  initial: 'up',
  on: { CLOSED: '.closed' },
  states: {
    up: { on: { LINK_STALLED: 'stalled', LINK_DOWN: 'down' } },
    stalled: { on: { LINK_UP: 'up', LINK_DOWN: 'down' } },
    down: { on: { LINK_UP: 'up', LINK_STALLED: 'stalled' } },
    closed: { type: 'final' },
  },
});
