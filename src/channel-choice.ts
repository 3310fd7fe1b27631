/**
 * Which channel carries a peer's streams when two hosts dial each other at once. Both hosts
 * must pick the same one, or each closes the channel the other kept and they dial again; the
 * rule is that of simultaneous open in libp2p and WireGuard: of two channels made in the same
 * round, the one the host with the lower key started wins. Outside such a round the newest
 * channel wins, since a peer dials only when it has lost the channel it had.
 */

/** A channel a host holds for a peer, as far as choosing goes. */
export interface HeldChannel {
  /** This host dialled it. */
  readonly ours: boolean;
  /** When it was attached, ms. */
  readonly attachedAt: number;
}

/**
 * How long after a dial a channel the peer dialled still counts as made in the same round, ms:
 * a handshake that started before the peer heard of ours ends within the handshake's timeout.
 */
export const DIAL_ROUND_MS = 10_000;

export interface ChannelChoice {
  /** The channel already carrying the streams, if any, still open. */
  readonly held: HeldChannel | undefined;
  /** This host dialled the new channel. */
  readonly ours: boolean;
  /** This host's key is the lower of the pair. */
  readonly lowerKey: boolean;
  /** When this host's latest dial started, ms (undefined if it never dialled). */
  readonly dialStartedAt: number | undefined;
  readonly now: number;
}

/** True if the new channel should replace the held one; false if it should be closed. */
export function keepNewChannel(choice: ChannelChoice): boolean {
  const { held, ours, lowerKey, dialStartedAt, now } = choice;
  if (held === undefined || held.ours === ours) return true;
  if (ours) {
    // Our dial ended after the peer's channel arrived: a round, if the peer's came during it.
    const sameRound = dialStartedAt !== undefined && held.attachedAt >= dialStartedAt;
    return !sameRound || lowerKey;
  }
  // The peer's dial ended after ours: a round, if ours is recent enough to have crossed it.
  const sameRound = now - held.attachedAt < DIAL_ROUND_MS;
  return !sameRound || !lowerKey;
}
