/** `--limit-rate`: a cap on the bytes per second a command sends, over all its streams. */
import { setTimeout as sleep } from 'node:timers/promises';

/** How far ahead of the average rate a burst may run, ms: a sleep shorter than this is skipped. */
const BURST_MS = 50;

/** Where a {@link RateLimiter} reads the time and waits (the real clock unless testing). */
export interface RateClock {
  now(): number;
  sleep(ms: number): Promise<unknown>;
}

const REAL_CLOCK: RateClock = { now: () => performance.now(), sleep };

export class RateLimiter {
  readonly #bytesPerSecond: number;
  readonly #clock: RateClock;
  /** When the bytes taken so far will have been sent at the average rate, ms. */
  #due: number;

  constructor(bytesPerSecond: number, clock: RateClock = REAL_CLOCK) {
    this.#bytesPerSecond = bytesPerSecond;
    this.#clock = clock;
    this.#due = clock.now();
  }

  /**
   * Waits until `bytes` more may go at the rate. Time spent idle earns no credit beyond the
   * burst: a sender that paused does not then run at twice the rate.
   */
  async take(bytes: number): Promise<void> {
    const now = this.#clock.now();
    this.#due = Math.max(this.#due, now) + (bytes * 1000) / this.#bytesPerSecond;
    const ahead = this.#due - now - BURST_MS;
    if (ahead > 0) await this.#clock.sleep(ahead);
  }
}
