import { type SchedulerAction, type SchedulerLike, Subscription } from 'rxjs';
import { type Clock, type TimerHandle, toXStateClock, type XStateClock } from '../clock.js';
import { SssError } from '../errors.js';
import { EventQueue, type SimEvent } from './event-queue.js';

/** A run did not reach the state it was asked for within its limit. */
export class SimulationLimitError extends SssError {
  constructor(message: string) {
    super('sim-limit', message);
  }
}

class Timer implements SimEvent {
  time = 0;
  seq = 0;
  pending = false;
  queued = false;

  constructor(readonly callback: () => void) {}

  fire(): void {
    this.callback();
  }
}

/** The default bound of {@link VirtualClock.runUntilIdle}: one virtual day. */
const DEFAULT_IDLE_LIMIT_MS = 24 * 3600 * 1000;

/**
 * Discrete-event time: `now()` only moves when the clock runs the next event. All timers of a
 * simulation, and all packets in flight, share one {@link EventQueue}, so a run is a pure function
 * of what was scheduled.
 */
export class VirtualClock implements Clock {
  private readonly queue = new EventQueue();
  private time = 0;

  now(): number {
    return this.time;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer = new Timer(callback);
    this.queue.push(timer, this.time + Math.max(0, delayMs || 0));
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    if (handle instanceof Timer) this.queue.cancel(handle);
  }

  /** Schedules an event object at an absolute virtual time (not before now). */
  schedule(event: SimEvent, time: number): void {
    this.queue.push(event, Math.max(time, this.time));
  }

  /** Cancels an event given to {@link VirtualClock.schedule}. */
  cancel(event: SimEvent): void {
    this.queue.cancel(event);
  }

  /** Events waiting to run. */
  get pendingEvents(): number {
    return this.queue.size;
  }

  /** Runs the earliest event; false when there is none. */
  step(): boolean {
    const event = this.queue.pop();
    if (event === undefined) return false;
    this.time = event.time;
    event.fire();
    return true;
  }

  /** Runs every event due within the next `ms` and leaves the clock exactly `ms` later. */
  runFor(ms: number): void {
    const end = this.time + ms;
    while (this.queue.peekTime() <= end) this.step();
    this.time = end;
  }

  /**
   * Runs events until `predicate` holds (checked before the first and after every event) or
   * `limitMs` of virtual time has passed. Returns whether the predicate held.
   */
  runUntil(predicate: () => boolean, limitMs: number): boolean {
    const end = this.time + limitMs;
    if (predicate()) return true;
    while (this.queue.peekTime() <= end) {
      this.step();
      if (predicate()) return true;
    }
    this.time = end;
    return false;
  }

  /**
   * Runs until no event is left.
   * @throws SimulationLimitError if events remain after `limitMs` of virtual time (a periodic
   * timer never lets a simulation go idle).
   */
  runUntilIdle(limitMs = DEFAULT_IDLE_LIMIT_MS): void {
    const end = this.time + limitMs;
    while (this.queue.peekTime() <= end) this.step();
    if (this.queue.size > 0) {
      throw new SimulationLimitError(
        `still ${this.queue.size} events pending after ${limitMs} ms of virtual time`,
      );
    }
  }

  /** This clock in the shape of XState's `clock` option. */
  toXState(): XStateClock {
    return toXStateClock(this);
  }

  /** This clock as an RxJS scheduler, for `timer`, `delay`, `debounceTime` and friends. */
  toScheduler(): SchedulerLike {
    return new ClockScheduler(this);
  }
}

/** Any {@link Clock} as an RxJS `SchedulerLike`. */
export class ClockScheduler implements SchedulerLike {
  constructor(private readonly clock: Clock) {}

  now(): number {
    return this.clock.now();
  }

  schedule<T>(
    work: (this: SchedulerAction<T>, state?: T) => void,
    delay = 0,
    state?: T,
  ): Subscription {
    return new ClockAction(this.clock, work).schedule(state, delay);
  }
}

/** An RxJS action on a {@link Clock}; rescheduling from inside `work` (as `interval` does) re-arms it. */
class ClockAction<T> extends Subscription implements SchedulerAction<T> {
  private timer: TimerHandle | null = null;
  private state: T | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super();
    this.add(() => this.disarm());
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    this.disarm();
    this.timer = this.clock.setTimer(delay, () => {
      this.timer = null;
      this.work.call(this, this.state);
    });
    return this;
  }

  private disarm(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }
}
