import { InvalidParameterError } from '../../net/errors.js';
import { DEFAULT_MAX_DATAGRAM_SIZE, checkDatagramSize } from './controller.js';

/** Datagrams the pacer lets out back to back after a pause: the initial window's worth. */
export const DEFAULT_PACING_BURST = 10;

// Shortfall, bytes, small enough to be float rounding of a refill that was exactly on time.
const ROUNDING_SLACK = 1e-3;

/** Options of a {@link Pacer}. */
export interface PacerOptions {
  /** Default {@link DEFAULT_MAX_DATAGRAM_SIZE}. */
  readonly maxDatagramSize?: number;
  /** Bucket size in datagrams. Default {@link DEFAULT_PACING_BURST}. */
  readonly burstDatagrams?: number;
}

/**
 * A token bucket that spreads sends over the RTT instead of releasing a window at once
 * (RFC 9002 §7.7): tokens, in bytes, accrue at the rate the congestion controller gives, up to a
 * burst of a few datagrams. Sans-IO: the caller asks how long to wait and arms its own timer.
 * Probes and ACK-only packets may be sent without asking; their bytes are still charged.
 */
export class Pacer {
  readonly #burst: number;
  #capacity: number;
  #tokens: number;
  #rate = Number.POSITIVE_INFINITY;
  #updatedAt = Number.NaN;

  constructor(options: PacerOptions = {}) {
    const mds = checkDatagramSize(options.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM_SIZE);
    const burst = options.burstDatagrams ?? DEFAULT_PACING_BURST;
    if (!Number.isSafeInteger(burst) || burst < 1) {
      throw new InvalidParameterError('burstDatagrams', 'must be a positive integer');
    }
    this.#burst = burst;
    this.#capacity = burst * mds;
    this.#tokens = this.#capacity;
  }

  /** Bytes per ms; `Infinity` (no pacing) until {@link Pacer.setRate}. */
  get rate(): number {
    return this.#rate;
  }

  /** Most bytes that can leave back to back. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Sets the rate in bytes per ms, e.g. from `CongestionController.pacingRate` after each ACK;
   * `Infinity` turns pacing off. Tokens earned until `now` accrue at the old rate.
   */
  setRate(bytesPerMs: number, now: number): void {
    if (!(bytesPerMs > 0)) throw new InvalidParameterError('rate', 'must be a positive number');
    this.#refill(now);
    this.#rate = bytesPerMs;
  }

  /** The path's datagram size changed: the burst stays the same number of datagrams. */
  setMaxDatagramSize(bytes: number): void {
    this.#capacity = this.#burst * checkDatagramSize(bytes);
    this.#tokens = Math.min(this.#tokens, this.#capacity);
  }

  /** 0 when a packet of `bytes` may leave at `now`, otherwise how many ms to wait. */
  delayUntilSend(bytes: number, now: number): number {
    this.#refill(now);
    // A packet larger than the bucket waits only for a full bucket, or it would wait forever.
    const shortfall = Math.min(bytes, this.#capacity) - this.#tokens;
    return shortfall <= ROUNDING_SLACK ? 0 : shortfall / this.#rate;
  }

  /** A packet of `bytes` left at `now`. */
  onSent(bytes: number, now: number): void {
    this.#refill(now);
    this.#tokens -= bytes;
  }

  #refill(now: number): void {
    const elapsed = Number.isNaN(this.#updatedAt) ? 0 : Math.max(0, now - this.#updatedAt);
    this.#updatedAt = now;
    if (elapsed === 0) return;
    this.#tokens = Math.min(this.#capacity, this.#tokens + elapsed * this.#rate);
  }
}
