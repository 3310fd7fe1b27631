import { InvalidParameterError } from '../../net/errors.js';

/** RTT assumed before the first sample, ms (RFC 9002 §6.2.2 recommends 333 ms). */
export const INITIAL_RTT_MS = 333;

/** Resolution of the caller's timers, ms: the floor of loss and PTO delays (RFC 9002 §6.1.2). */
export const TIMER_GRANULARITY_MS = 1;

/** What congestion controllers and pacers read of the RTT estimate. */
export interface RttView {
  /** The most recent sample, ms; the initial RTT before the first. */
  readonly latest: number;
  /** Exponentially weighted mean of the samples, adjusted for ack delay, ms. */
  readonly smoothed: number;
  /** Mean deviation of the samples (`rttvar`), ms. */
  readonly variance: number;
  /** Smallest sample, without ack-delay adjustment, ms; `Infinity` before the first sample. */
  readonly min: number;
  /** True once a sample has been taken. */
  readonly hasSample: boolean;
}

/**
 * Round-trip time estimate of one path, RFC 9002 §5 (the RFC 6298 §2 filter with QUIC's ack-delay
 * correction). Sans-IO: the caller measures each sample as `now - timeSent` and passes it in.
 */
export class RttEstimator implements RttView {
  readonly #initial: number;
  #latest: number;
  #smoothed: number;
  #variance: number;
  #min = Number.POSITIVE_INFINITY;
  #hasSample = false;

  /** `initialRtt`, ms, stands in for the path's RTT until the first sample. */
  constructor(initialRtt: number = INITIAL_RTT_MS) {
    if (!Number.isFinite(initialRtt) || initialRtt <= 0) {
      throw new InvalidParameterError('initialRtt', 'must be a positive number of milliseconds');
    }
    this.#initial = initialRtt;
    this.#latest = initialRtt;
    this.#smoothed = initialRtt;
    this.#variance = initialRtt / 2;
  }

  get latest(): number {
    return this.#latest;
  }

  get smoothed(): number {
    return this.#smoothed;
  }

  get variance(): number {
    return this.#variance;
  }

  get min(): number {
    return this.#min;
  }

  get hasSample(): boolean {
    return this.#hasSample;
  }

  /**
   * Takes one sample. `ackDelay` is the delay the peer reports it held the acknowledgement, ms.
   * Pass the peer's `maxAckDelay` once the handshake is confirmed: the reported delay is then
   * capped at it, so that a peer cannot inflate the delay to shrink our RTT (RFC 9002 §5.3).
   * Before that leave it out and the delay is used as reported.
   */
  update(latestRtt: number, ackDelay: number, maxAckDelay = Number.POSITIVE_INFINITY): void {
    // A clock that steps back would give a negative sample; a zero one is harmless.
    const latest = Math.max(0, latestRtt);
    this.#latest = latest;
    // min_rtt ignores ack delay (RFC 9002 §5.2): it must never be below a true path RTT.
    this.#min = Math.min(this.#min, latest);
    if (!this.#hasSample) {
      // The first sample replaces the initial guess outright (RFC 9002 §5.3).
      this.#hasSample = true;
      this.#smoothed = latest;
      this.#variance = latest / 2;
      return;
    }
    const delay = Math.min(Math.max(0, ackDelay), maxAckDelay);
    // Subtract the peer's delay only when that leaves at least min_rtt: a reported delay larger
    // than the sample's excess over the path minimum is implausible (RFC 9002 §5.3).
    const adjusted = latest - delay >= this.#min ? latest - delay : latest;
    this.#variance = 0.75 * this.#variance + 0.25 * Math.abs(this.#smoothed - adjusted);
    this.#smoothed = 0.875 * this.#smoothed + 0.125 * adjusted;
  }

  /**
   * The probe timeout before backoff, ms: `smoothed + max(4·rttvar, granularity) + maxAckDelay`
   * (RFC 9002 §6.2.1). Pass 0 for `maxAckDelay` where the peer acknowledges at once.
   */
  pto(maxAckDelay: number): number {
    return this.#smoothed + Math.max(4 * this.#variance, TIMER_GRANULARITY_MS) + maxAckDelay;
  }

  /** Forgets every sample, e.g. after moving to a new path (RFC 9000 §9.4). */
  reset(): void {
    this.#latest = this.#initial;
    this.#smoothed = this.#initial;
    this.#variance = this.#initial / 2;
    this.#min = Number.POSITIVE_INFINITY;
    this.#hasSample = false;
  }
}
