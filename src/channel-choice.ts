/**
 * Which channel carries a peer's streams when two hosts dial each other at once. Both hosts
 * must pick the same one, or each closes the channel the other kept and they dial again; the
 * rule is that of simultaneous open in libp2p and WireGuard: of two channels made in the same
 * round, the one the host with the lower key started wins. Outside such a round the newest
 * channel wins, since a peer dials only when it has lost the channel it had; and so does a
 * peer's channel that arrives while the one held has gone quiet, since a peer that lost its end
 * (it restarted, say) falls silent on it.
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

/**
 * A held channel that has heard nothing from the peer for this long, and for three probe
 * timeouts, is quiet, ms: in a round of crossed dials the peer has just answered on it.
 */
export const QUIET_MS = 1000;

/** Whether a channel last heard `silentMs` ago, with probe timeout `ptoMs`, has gone quiet. */
export function isQuiet(silentMs: number, ptoMs: number): boolean {
  return silentMs > Math.max(QUIET_MS, 3 * ptoMs);
}

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
  /** The held channel has gone quiet ({@link isQuiet}): the peer may have lost its end. */
  readonly heldQuiet?: boolean;
}

/** True if the new channel should replace the held one; false if it should be closed. */
export function keepNewChannel(choice: ChannelChoice): boolean {
  const { held, ours, lowerKey, dialStartedAt, now, heldQuiet = false } = choice;
  if (held === undefined || held.ours === ours) return true;
  if (ours) {
    // Our dial ended after the peer's channel arrived: a round, if the peer's came during it.
    const sameRound = dialStartedAt !== undefined && held.attachedAt >= dialStartedAt;
    return !sameRound || lowerKey;
  }
  // The peer's dial ended after ours: a round, if ours is recent enough to have crossed it and
  // the peer still answers on it.
  const sameRound = now - held.attachedAt < DIAL_ROUND_MS && !heldQuiet;
  return !sameRound || !lowerKey;
}
