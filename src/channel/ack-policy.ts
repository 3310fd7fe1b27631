import { InvalidParameterError } from '../net/errors.js';

/** RFC 9000 §18.2: the default max_ack_delay, in milliseconds. */
export const DEFAULT_MAX_ACK_DELAY_MS = 25;

/** RFC 9000 §13.2.2: acknowledge at least every second ack-eliciting packet. */
export const DEFAULT_ACK_ELICITING_THRESHOLD = 2;

// RFC 9000 §18.2: max_ack_delay values of 2^14 ms or more are invalid.
const MAX_ACK_DELAY_LIMIT_MS = 2 ** 14;

/** Options of an {@link AckPolicy}. */
export interface AckPolicyOptions {
  /**
   * Longest time, in milliseconds, an ack-eliciting packet may wait for its ACK; the value this
   * endpoint advertises as max_ack_delay. Default 25, at most 16383.
   */
  maxAckDelay?: number;
  /** An ACK is due at once when this many ack-eliciting packets are unacknowledged. Default 2. */
  ackElicitingThreshold?: number;
}

/**
 * What {@link AckPolicy.onPacketReceived} asks of the caller: send an ACK now, have one due at
 * {@link AckPolicy.ackDeadline}, or nothing, because no ack-eliciting packet awaits an ACK.
 */
export type AckUrgency = 'immediate' | 'delayed' | 'none';

/**
 * When to send an ACK frame (RFC 9000 §13.2.1, §13.2.2; RFC 9002 §5.3 for the delay it reports).
 * Acknowledging every packet would double the packet rate on the return path; acknowledging too
 * rarely starves the sender's RTT and loss estimates. So an ACK is sent at once when
 * `ackElicitingThreshold` ack-eliciting packets are unacknowledged, or when an ack-eliciting packet
 * shows reordering or loss (it arrived below the largest received number, or there are missing
 * numbers below it), so the sender learns of the hole quickly; otherwise it waits at most
 * `maxAckDelay`. Packets that are not ack-eliciting (pure ACKs, padding) never cause an ACK on
 * their own, which keeps two endpoints from acknowledging each other's ACKs forever.
 *
 * Sans-IO: the caller passes time in, arms its timer at {@link AckPolicy.ackDeadline}, and calls
 * {@link AckPolicy.onAckSent} for every ACK frame it sends, standalone or piggybacked.
 */
export class AckPolicy {
  /** The longest an ack-eliciting packet waits for its ACK, in milliseconds. */
  readonly maxAckDelay: number;
  /** How many unacknowledged ack-eliciting packets make an ACK due at once. */
  readonly ackElicitingThreshold: number;
  #largest = -1;
  #largestAt = 0;
  #largestEliciting = -1;
  // There may be missing numbers above the largest ack-eliciting packet (a packet that was not
  // ack-eliciting opened a gap, or the largest ack-eliciting one itself came out of order), so the
  // next ack-eliciting packet above it must be acknowledged at once. Conservative: a late packet
  // that fills the gap does not clear it, which costs at most one early ACK.
  #gapAboveEliciting = false;
  #unacked = 0;
  #deadline: number | null = null;
  #lastAckSentAt: number | null = null;

  constructor(options: AckPolicyOptions = {}) {
    const maxAckDelay = options.maxAckDelay ?? DEFAULT_MAX_ACK_DELAY_MS;
    // NaN and infinities fail these comparisons too.
    if (!(maxAckDelay >= 0 && maxAckDelay < MAX_ACK_DELAY_LIMIT_MS)) {
      throw new InvalidParameterError('maxAckDelay', 'must be in [0, 16384) milliseconds');
    }
    const threshold = options.ackElicitingThreshold ?? DEFAULT_ACK_ELICITING_THRESHOLD;
    if (!(Number.isSafeInteger(threshold) && threshold >= 1)) {
      throw new InvalidParameterError('ackElicitingThreshold', 'must be a positive integer');
    }
    this.maxAckDelay = maxAckDelay;
    this.ackElicitingThreshold = threshold;
  }

  /**
   * Notes the arrival at `now` of packet `pn`, which authenticated and was not a duplicate, and
   * says whether an ACK is due.
   */
  onPacketReceived(pn: number, ackEliciting: boolean, now: number): AckUrgency {
    if (!Number.isSafeInteger(pn) || pn < 0) {
      throw new InvalidParameterError('pn', 'must be an integer in [0, 2^53)');
    }
    checkTime(now);
    const previousLargest = this.#largest;
    const opensGap = previousLargest >= 0 && pn > previousLargest + 1;
    if (pn > previousLargest) {
      this.#largest = pn;
      this.#largestAt = now;
    }
    if (ackEliciting) this.#noteAckEliciting(pn, pn < previousLargest, opensGap, now);
    else if (opensGap) this.#gapAboveEliciting = true;
    return this.#urgency(now);
  }

  #noteAckEliciting(pn: number, outOfOrder: boolean, opensGap: boolean, now: number): void {
    const missingBelow = opensGap || (this.#gapAboveEliciting && pn > this.#largestEliciting);
    if (pn > this.#largestEliciting) {
      this.#largestEliciting = pn;
      // Arriving below the largest received, it may have holes above it that we cannot see.
      this.#gapAboveEliciting = outOfOrder;
    }
    this.#unacked++;
    if (outOfOrder || missingBelow || this.#unacked >= this.ackElicitingThreshold) {
      this.#deadline = Math.min(this.#deadline ?? now, now);
    } else if (this.#deadline === null) {
      // Only the oldest unacknowledged packet sets the deadline: later ones must not push it back.
      this.#deadline = now + this.maxAckDelay;
    }
  }

  /** When the caller should send an ACK (now, if this is in the past), or null if none is owed. */
  ackDeadline(): number | null {
    return this.#deadline;
  }

  /** When the last ACK frame was sent, or null before the first. */
  get lastAckSentAt(): number | null {
    return this.#lastAckSentAt;
  }

  /** Records that an ACK frame covering everything received so far was sent at `now`. */
  onAckSent(now: number): void {
    checkTime(now);
    this.#unacked = 0;
    this.#deadline = null;
    this.#lastAckSentAt = now;
  }

  /**
   * The ACK frame's ACK Delay: microseconds from the arrival of the largest packet number
   * received to `now`, when the ACK is sent (RFC 9000 §19.3). Zero before any packet.
   */
  ackDelayMicros(now: number): number {
    checkTime(now);
    if (this.#largest < 0) return 0;
    return Math.max(0, Math.round((now - this.#largestAt) * 1000));
  }

  #urgency(now: number): AckUrgency {
    if (this.#deadline === null) return 'none';
    return this.#deadline <= now ? 'immediate' : 'delayed';
  }
}

function checkTime(now: number): void {
  if (!Number.isFinite(now)) throw new InvalidParameterError('now', 'must be a finite number');
}
