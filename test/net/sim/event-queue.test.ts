import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue, type SimEvent } from '../../../src/net/sim/event-queue.js';
import { VirtualClock } from '../../../src/net/sim/virtual-clock.js';

class TestEvent implements SimEvent {
  time = 0;
  seq = 0;
  pending = false;
  queued = false;
  fired = 0;

  constructor(readonly id: number) {}

  fire(): void {
    this.fired++;
  }
}

/**
 * Entries the heap holds, dead ones included. Not public API: the only way to observe that lazy
 * cancellation is compacted (`size` counts live events only).
 */
function heapLength(queue: EventQueue): number {
  return (queue as unknown as { heap: readonly SimEvent[] }).heap.length;
}

/**
 * The compaction bound: dead entries never exceed max(64, live + 1) (a pop may leave one more
 * dead entry than live ones until the next cancel), so the heap stays within 2 * live + 65.
 */
function heapBound(queue: EventQueue): number {
  return 2 * queue.size + 65;
}

type Op =
  | { readonly kind: 'push'; readonly time: number }
  | { readonly kind: 'cancel'; readonly pick: number }
  | { readonly kind: 'repush'; readonly pick: number; readonly time: number }
  | { readonly kind: 'pop' }
  | { readonly kind: 'peek' };

// Few distinct times, so that ties (which must break by insertion order) are common.
const time = fc.oneof(fc.integer({ min: 0, max: 12 }), fc.double({ min: 0, max: 12, noNaN: true }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: time.map((t) => ({ kind: 'push' as const, time: t })) },
  { weight: 3, arbitrary: fc.nat().map((pick) => ({ kind: 'cancel' as const, pick })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat(), time)
      .map(([pick, t]) => ({ kind: 'repush' as const, pick, time: t })),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'pop' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'peek' as const }) },
);

/** The reference: a plain list of live entries, ordered by (time, insertion sequence). */
interface ModelEntry {
  readonly event: TestEvent;
  readonly time: number;
  readonly seq: number;
}

function modelMin(live: readonly ModelEntry[]): ModelEntry | undefined {
  let best: ModelEntry | undefined;
  for (const entry of live) {
    if (
      best === undefined ||
      entry.time < best.time ||
      (entry.time === best.time && entry.seq < best.seq)
    )
      best = entry;
  }
  return best;
}

describe('EventQueue', () => {
  it('property: any sequence of push, cancel, pop and peek matches a sorted-list model', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const queue = new EventQueue();
        const events: TestEvent[] = [];
        let live: ModelEntry[] = [];
        let seq = 0;
        for (const op of ops) {
          switch (op.kind) {
            case 'push': {
              const event = new TestEvent(events.length);
              events.push(event);
              queue.push(event, op.time);
              live.push({ event, time: op.time, seq: seq++ });
              break;
            }
            case 'cancel': {
              // Any event: pending, already popped or already cancelled (the last two: no-ops).
              const event = events[op.pick % Math.max(1, events.length)];
              if (event === undefined) break;
              queue.cancel(event);
              live = live.filter((e) => e.event !== event);
              break;
            }
            case 'repush': {
              // Any event may be scheduled again: waiting (it moves), cancelled but not yet swept
              // from the heap, or already fired.
              const event = events[op.pick % Math.max(1, events.length)];
              if (event === undefined) break;
              queue.push(event, op.time);
              live = live.filter((e) => e.event !== event);
              live.push({ event, time: op.time, seq: seq++ });
              break;
            }
            case 'pop': {
              const expected = modelMin(live);
              const got = queue.pop() as TestEvent | undefined;
              expect(got?.id).toBe(expected?.event.id);
              if (got !== undefined) {
                expect(got.time).toBe(expected?.time);
                expect(got.pending).toBe(false);
                got.fired++;
              }
              live = live.filter((e) => e !== expected);
              break;
            }
            case 'peek':
              expect(queue.peekTime()).toBe(modelMin(live)?.time ?? Number.POSITIVE_INFINITY);
              break;
          }
          expect(queue.size).toBe(live.length);
          expect(heapLength(queue)).toBeLessThanOrEqual(heapBound(queue));
          for (const event of events) {
            expect(event.pending).toBe(live.some((e) => e.event === event));
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('an event cancelled and pushed again before it was swept comes out once, at its new time', () => {
    const queue = new EventQueue();
    const e = new TestEvent(0);
    const f = new TestEvent(1);
    queue.push(e, 10);
    queue.push(f, 15);
    queue.cancel(e);
    queue.push(e, 20);
    expect(queue.pop()).toBe(f);
    expect(queue.pop()).toBe(e);
    expect(queue.pop()).toBeUndefined();
  });

  it('equal times pop in insertion order', () => {
    const queue = new EventQueue();
    const events = Array.from({ length: 50 }, (_, i) => new TestEvent(i));
    // Interleave two times so the heap really reorders: odd ids at 5, even ids at 3.
    for (const event of events) queue.push(event, event.id % 2 === 0 ? 3 : 5);
    const order: number[] = [];
    for (let e = queue.pop(); e !== undefined; e = queue.pop()) order.push((e as TestEvent).id);
    const evens = events.filter((e) => e.id % 2 === 0).map((e) => e.id);
    const odds = events.filter((e) => e.id % 2 === 1).map((e) => e.id);
    expect(order).toEqual([...evens, ...odds]);
  });

  it('an empty queue pops undefined and peeks Infinity', () => {
    const queue = new EventQueue();
    expect(queue.pop()).toBeUndefined();
    expect(queue.peekTime()).toBe(Number.POSITIVE_INFINITY);
    const event = new TestEvent(0);
    queue.push(event, 1);
    queue.cancel(event);
    expect(queue.size).toBe(0);
    expect(queue.pop()).toBeUndefined();
    expect(queue.peekTime()).toBe(Number.POSITIVE_INFINITY);
  });

  it('arming and disarming a timer in a loop keeps the heap bounded (lazy-cancel compaction)', () => {
    const queue = new EventQueue();
    const keep = Array.from({ length: 10 }, (_, i) => new TestEvent(i));
    keep.forEach((event, i) => queue.push(event, 1000 + i));
    let largest = 0;
    for (let i = 0; i < 10_000; i++) {
      const timer = new TestEvent(100 + i);
      queue.push(timer, 500 - (i % 100));
      queue.cancel(timer);
      largest = Math.max(largest, heapLength(queue));
    }
    expect(queue.size).toBe(10);
    expect(largest).toBeLessThanOrEqual(2 * 10 + 65);
    // Compaction kept order: the survivors still come out by time.
    const order: number[] = [];
    for (let e = queue.pop(); e !== undefined; e = queue.pop()) order.push((e as TestEvent).id);
    expect(order).toEqual(keep.map((e) => e.id));
  });
});

describe('VirtualClock over the event queue', () => {
  it('property: cancelled timers never fire, the others fire once, in (time, scheduling) order', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            delay: fc.integer({ min: 0, max: 20 }),
            // Cancel before running, from inside another timer's callback, or never.
            cancel: fc.constantFrom('no', 'before', 'by-earlier'),
          }),
          { maxLength: 200 },
        ),
        (specs) => {
          const clock = new VirtualClock();
          const fired: number[] = [];
          const handles = specs.map((spec, i) => clock.setTimer(spec.delay, () => fired.push(i)));
          const cancelled = new Set<number>();
          specs.forEach((spec, i) => {
            if (spec.cancel === 'before') {
              clock.clearTimer(handles[i] as NonNullable<(typeof handles)[number]>);
              cancelled.add(i);
            }
          });
          // A timer at time -1 relative to each victim: strictly earlier, so it runs first.
          specs.forEach((spec, i) => {
            if (spec.cancel === 'by-earlier' && spec.delay > 0) {
              clock.setTimer(spec.delay - 1, () =>
                clock.clearTimer(handles[i] as NonNullable<(typeof handles)[number]>),
              );
              cancelled.add(i);
            }
          });
          clock.runUntilIdle();
          const expected = specs
            .map((spec, i) => ({ i, delay: spec.delay }))
            .filter(({ i }) => !cancelled.has(i))
            .sort((x, y) => x.delay - y.delay || x.i - y.i)
            .map(({ i }) => i);
          expect(fired).toEqual(expected);
          expect(clock.pendingEvents).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a periodic re-armed and cleared timer leaves only live events pending', () => {
    const clock = new VirtualClock();
    let fired = 0;
    for (let i = 0; i < 5_000; i++) {
      const handle = clock.setTimer(100, () => fired++);
      clock.clearTimer(handle);
    }
    clock.setTimer(1, () => fired++);
    expect(clock.pendingEvents).toBe(1);
    clock.runUntilIdle();
    expect(fired).toBe(1);
  });
});
