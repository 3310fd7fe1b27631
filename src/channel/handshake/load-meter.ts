import type { Clock } from '../../net/clock.js';

/**
 * A token bucket over the rate of handshakes the responder answers with Diffie-Hellman work:
 * while tokens remain it is not under load; once the rate is exceeded it asks for cookies.
 */
export class LoadMeter {
  readonly #clock: Clock;
  readonly #ratePerMs: number;
  readonly #burst: number;
  #tokens: number;
  #updatedAt: number;

  /** `ratePerSecond` handshakes a second on average, up to `burst` at once. */
  constructor(clock: Clock, ratePerSecond: number, burst: number) {
    this.#clock = clock;
    this.#ratePerMs = ratePerSecond / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updatedAt = clock.now();
  }

  /** True when one more handshake would exceed the rate. */
  get underLoad(): boolean {
    this.#refill();
    return this.#tokens < 1;
  }

  /** Counts one handshake. */
  take(): void {
    this.#refill();
    this.#tokens = Math.max(0, this.#tokens - 1);
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#updatedAt) * this.#ratePerMs);
    this.#updatedAt = now;
  }
}
