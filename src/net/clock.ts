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

interface RealTimer {
  readonly immediate?: ReturnType<typeof setImmediate>;
  readonly timeout?: ReturnType<typeof setTimeout>;
}

/** Wall-clock time: `performance.now()` and the platform's timers. */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }

  /**
   * A zero delay runs the callback right after the pending I/O (`setImmediate` on Node), not a
   * clamped millisecond later as `setTimeout` would: work deferred to the end of a turn should
   * not cost latency.
   */
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    if (delayMs <= 0 && typeof setImmediate === 'function') {
      return { immediate: setImmediate(callback) };
    }
    return { timeout: setTimeout(callback, Math.max(0, delayMs)) };
  }

  clearTimer(handle: TimerHandle): void {
    const timer = handle as RealTimer;
    if (timer.immediate !== undefined) clearImmediate(timer.immediate);
    else clearTimeout(timer.timeout);
  }
}
