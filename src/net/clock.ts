/** Opaque handle of a pending timer, returned by {@link Clock.setTimer}. */
export type TimerHandle = object;

/**
 * The time source of all core code. Production uses {@link RealClock}; tests and the simulator use
 * a virtual clock, so that a run is determined by its seed alone.
 */
export interface Clock {
  /** Milliseconds on a monotonic time line; fractions allowed. */
  now(): number;
  /** Calls `callback` once, `delayMs` (clamped to >= 0) from now. */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  /** Cancels a pending timer; cancelling a fired or cancelled timer does nothing. */
  clearTimer(handle: TimerHandle): void;
}

/** The shape XState v5 accepts as `createActor(machine, { clock })`. */
export interface XStateClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

/** Adapts any {@link Clock} to XState's `clock` option, so `after` delays run on it. */
export function toXStateClock(clock: Clock): XStateClock {
  return {
    setTimeout: (fn, timeout) => clock.setTimer(timeout, fn),
    clearTimeout: (id) => clock.clearTimer(id as TimerHandle),
  };
}

/** Wall-clock time: `performance.now()` and the platform's timers. */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    return setTimeout(callback, Math.max(0, delayMs));
  }

  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  }
}
