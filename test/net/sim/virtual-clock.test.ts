import fc from 'fast-check';
import { delay, interval, of, take, timer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { SimulationLimitError, VirtualClock } from '../../../src/net/sim/virtual-clock.js';

describe('VirtualClock', () => {
  it('property: timers fire in order of due time, ties in the order they were set', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }), (delays) => {
        const clock = new VirtualClock();
        const fired: { index: number; at: number }[] = [];
        delays.forEach((d, index) => {
          clock.setTimer(d, () => fired.push({ index, at: clock.now() }));
        });
        clock.runUntilIdle();
        const expected = delays
          .map((d, index) => ({ index, at: d }))
          .sort((a, b) => a.at - b.at || a.index - b.index);
        expect(fired).toEqual(expected);
      }),
    );
  });

  it('property: timers set from inside callbacks still fire in time order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 })), {
          maxLength: 50,
        }),
        (pairs) => {
          const clock = new VirtualClock();
          const times: number[] = [];
          for (const [first, second] of pairs) {
            clock.setTimer(first, () => {
              times.push(clock.now());
              clock.setTimer(second, () => times.push(clock.now()));
            });
          }
          clock.runUntilIdle();
          expect(times).toEqual([...times].sort((a, b) => a - b));
          expect(times).toHaveLength(pairs.length * 2);
        },
      ),
    );
  });

  it('a cleared timer never fires, and clearing a fired timer does nothing', () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    const cleared = clock.setTimer(10, () => fired.push('cleared'));
    const kept = clock.setTimer(20, () => fired.push('kept'));
    clock.clearTimer(cleared);
    clock.runFor(30);
    clock.clearTimer(kept);
    clock.clearTimer(kept);
    expect(fired).toEqual(['kept']);
    expect(clock.pendingEvents).toBe(0);
  });

  it('runFor runs exactly the events due and leaves the clock at the end of the span', () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    for (const at of [5, 10, 10.5, 20]) clock.setTimer(at, () => fired.push(at));
    clock.runFor(10);
    expect(fired).toEqual([5, 10]);
    expect(clock.now()).toBe(10);
    clock.runFor(10);
    expect(fired).toEqual([5, 10, 10.5, 20]);
    expect(clock.now()).toBe(20);
  });

  it('runUntil stops as soon as the predicate holds, or after the limit', () => {
    const clock = new VirtualClock();
    let count = 0;
    const tick = () => {
      count++;
      clock.setTimer(10, tick);
    };
    clock.setTimer(10, tick);
    expect(clock.runUntil(() => count === 3, 1000)).toBe(true);
    expect(clock.now()).toBe(30);
    expect(clock.runUntil(() => count === 1000, 100)).toBe(false);
    expect(clock.now()).toBe(130);
  });

  it('runUntilIdle refuses to run forever behind a periodic timer', () => {
    const clock = new VirtualClock();
    const tick = () => clock.setTimer(1000, tick);
    tick();
    expect(() => clock.runUntilIdle(60_000)).toThrow(SimulationLimitError);
  });

  it('negative and NaN delays fire now, never in the past', () => {
    const clock = new VirtualClock();
    clock.runFor(100);
    const at: number[] = [];
    clock.setTimer(-5, () => at.push(clock.now()));
    clock.setTimer(Number.NaN, () => at.push(clock.now()));
    clock.runUntilIdle();
    expect(at).toEqual([100, 100]);
  });
});

describe('VirtualClock adapters', () => {
  const machine = createMachine({
    initial: 'waiting',
    states: {
      waiting: { after: { 1000: 'timedOut' }, on: { GO: 'done' } },
      timedOut: {},
      done: {},
    },
  });

  it('runs XState `after` delays on virtual time', () => {
    const clock = new VirtualClock();
    const actor = createActor(machine, { clock: clock.toXState() }).start();
    clock.runFor(999);
    expect(actor.getSnapshot().value).toBe('waiting');
    clock.runFor(1);
    expect(actor.getSnapshot().value).toBe('timedOut');
  });

  it('cancels an XState delay when the state is left early', () => {
    const clock = new VirtualClock();
    const actor = createActor(machine, { clock: clock.toXState() }).start();
    clock.runFor(500);
    actor.send({ type: 'GO' });
    clock.runUntilIdle();
    expect(actor.getSnapshot().value).toBe('done');
    expect(clock.now()).toBe(500);
  });

  it('drives RxJS timer, interval and delay as an RxJS scheduler', () => {
    const clock = new VirtualClock();
    const scheduler = clock.toScheduler();
    const seen: string[] = [];
    timer(100, scheduler).subscribe(() => seen.push(`timer@${clock.now()}`));
    interval(30, scheduler)
      .pipe(take(3))
      .subscribe((n) => seen.push(`interval${n}@${clock.now()}`));
    of('x')
      .pipe(delay(50, scheduler))
      .subscribe(() => seen.push(`delay@${clock.now()}`));
    clock.runUntilIdle();
    expect(seen).toEqual(['interval0@30', 'delay@50', 'interval1@60', 'interval2@90', 'timer@100']);
    expect(scheduler.now()).toBe(100);
  });

  it('unsubscribing from an RxJS timer cancels its virtual timer', () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const subscription = interval(10, clock.toScheduler()).subscribe((n) => seen.push(n));
    clock.runFor(25);
    subscription.unsubscribe();
    clock.runUntilIdle();
    expect(seen).toEqual([0, 1]);
    expect(clock.now()).toBe(25);
  });
});
