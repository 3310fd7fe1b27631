import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../src/net/errors.js';
import { PriorityScheduler } from '../../src/streams/priority-scheduler.js';

/** Cheaper than expect() in the hot loops of properties; fast-check reports the message. */
function agree<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected)
    throw new Error(`${what}: got ${String(actual)}, expected ${String(expected)}`);
}

/**
 * The specification, naively: every item carries a stamp from a clock that ticks at each add,
 * priority change and turn. The next item is the one of highest priority with the oldest stamp,
 * and taking its turn restamps it, which sends it to the back of its level.
 */
class ModelScheduler {
  readonly #items: { item: number; priority: number; stamp: number }[] = [];
  #clock = 0;

  add(item: number, priority: number): void {
    if (this.has(item)) return;
    this.#items.push({ item, priority, stamp: this.#clock++ });
  }

  remove(item: number): void {
    const index = this.#items.findIndex((entry) => entry.item === item);
    if (index >= 0) this.#items.splice(index, 1);
  }

  setPriority(item: number, priority: number): void {
    const entry = this.#items.find((candidate) => candidate.item === item);
    if (entry === undefined || entry.priority === priority) return;
    entry.priority = priority;
    entry.stamp = this.#clock++;
  }

  has(item: number): boolean {
    return this.#items.some((entry) => entry.item === item);
  }

  get size(): number {
    return this.#items.length;
  }

  next(): number | undefined {
    const first = this.#first();
    if (first !== undefined) first.stamp = this.#clock++;
    return first?.item;
  }

  peek(): number | undefined {
    return this.#first()?.item;
  }

  #first() {
    return [...this.#items].sort((a, b) => b.priority - a.priority || a.stamp - b.stamp)[0];
  }
}

type Op =
  | { kind: 'add'; item: number; priority: number }
  | { kind: 'remove'; item: number }
  | { kind: 'setPriority'; item: number; priority: number }
  | { kind: 'next' }
  | { kind: 'peek' };

const ITEMS = 8;
const itemArb = fc.nat(ITEMS - 1);
// Few levels, so that levels hold several items and their rotation is exercised.
const priorityArb = fc.integer({ min: -2, max: 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({ kind: fc.constant('add'), item: itemArb, priority: priorityArb }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('remove'), item: itemArb }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('setPriority'),
      item: itemArb,
      priority: priorityArb,
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('next') }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('peek') }), weight: 1 },
) as fc.Arbitrary<Op>;
const opsArb = fc.array(opArb, { maxLength: 200, size: 'max' });

/** Applies `op` to the scheduler; returns what next() gave, if it was a next(). */
function apply(scheduler: PriorityScheduler<number>, op: Op): number | undefined {
  switch (op.kind) {
    case 'add':
      scheduler.add(op.item, op.priority);
      return undefined;
    case 'remove':
      scheduler.remove(op.item);
      return undefined;
    case 'setPriority':
      scheduler.setPriority(op.item, op.priority);
      return undefined;
    case 'next':
      return scheduler.next();
    case 'peek':
      scheduler.peek();
      return undefined;
  }
}

/** Draws `count` turns. */
function turns<T>(scheduler: PriorityScheduler<T>, count: number): (T | undefined)[] {
  return Array.from({ length: count }, () => scheduler.next());
}

describe('PriorityScheduler', () => {
  it('is empty at first: next and peek give undefined', () => {
    const scheduler = new PriorityScheduler<string>();
    expect(scheduler.size).toBe(0);
    expect(scheduler.next()).toBeUndefined();
    expect(scheduler.peek()).toBeUndefined();
  });

  it('takes turns round robin within a level, in the order items were added', () => {
    const scheduler = new PriorityScheduler<string>();
    for (const item of ['a', 'b', 'c']) scheduler.add(item, 0);
    expect(turns(scheduler, 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('serves a higher level first, and a lower one only once the higher is empty', () => {
    const scheduler = new PriorityScheduler<string>();
    scheduler.add('low', -5);
    scheduler.add('mid', 0);
    scheduler.add('high', 7);
    expect(turns(scheduler, 2)).toEqual(['high', 'high']);
    scheduler.remove('high');
    expect(scheduler.next()).toBe('mid');
    scheduler.remove('mid');
    expect(scheduler.next()).toBe('low');
  });

  it('peek names the item whose turn it is without taking the turn', () => {
    const scheduler = new PriorityScheduler<string>();
    scheduler.add('a', 1);
    scheduler.add('b', 1);
    expect(scheduler.peek()).toBe('a');
    expect(scheduler.peek()).toBe('a');
    expect(scheduler.next()).toBe('a');
    expect(scheduler.peek()).toBe('b');
  });

  it('adds a new item at the back of its level, behind the one whose turn it is', () => {
    const scheduler = new PriorityScheduler<string>();
    scheduler.add('a', 0);
    scheduler.add('b', 0);
    expect(scheduler.next()).toBe('a');
    scheduler.add('c', 0);
    expect(turns(scheduler, 4)).toEqual(['b', 'a', 'c', 'b']);
  });

  it('adding an item already scheduled changes neither its priority nor its place', () => {
    const scheduler = new PriorityScheduler<string>();
    scheduler.add('a', 0);
    scheduler.add('b', 0);
    scheduler.add('a', 9);
    expect(scheduler.size).toBe(2);
    expect(turns(scheduler, 3)).toEqual(['a', 'b', 'a']);
  });

  it('removing the item whose turn it is passes the turn to the next in line', () => {
    const scheduler = new PriorityScheduler<string>();
    for (const item of ['a', 'b', 'c']) scheduler.add(item, 0);
    expect(scheduler.next()).toBe('a');
    scheduler.remove('b');
    expect(scheduler.has('b')).toBe(false);
    expect(turns(scheduler, 3)).toEqual(['c', 'a', 'c']);
    scheduler.remove('b');
    expect(scheduler.size).toBe(2);
  });

  it('an item removed and added again goes to the back of its level', () => {
    const scheduler = new PriorityScheduler<string>();
    for (const item of ['a', 'b', 'c']) scheduler.add(item, 0);
    scheduler.remove('a');
    scheduler.add('a', 0);
    expect(turns(scheduler, 3)).toEqual(['b', 'c', 'a']);
  });

  it('setPriority moves an item to the back of its new level', () => {
    const scheduler = new PriorityScheduler<string>();
    scheduler.add('a', 0);
    scheduler.add('b', 1);
    scheduler.add('c', 1);
    scheduler.setPriority('a', 1);
    expect(turns(scheduler, 3)).toEqual(['b', 'c', 'a']);
    scheduler.setPriority('b', -1);
    expect(turns(scheduler, 3)).toEqual(['c', 'a', 'c']);
    scheduler.remove('a');
    scheduler.remove('c');
    expect(scheduler.next()).toBe('b');
  });

  it('setPriority to the priority an item already has keeps its place', () => {
    const scheduler = new PriorityScheduler<string>();
    scheduler.add('a', 2);
    scheduler.add('b', 2);
    scheduler.setPriority('a', 2);
    expect(turns(scheduler, 2)).toEqual(['a', 'b']);
  });

  it('setPriority of an item not scheduled does nothing: add gives the priority', () => {
    const scheduler = new PriorityScheduler<string>();
    scheduler.setPriority('a', 5);
    expect(scheduler.has('a')).toBe(false);
    scheduler.add('b', 1);
    scheduler.add('a', 0);
    expect(turns(scheduler, 2)).toEqual(['b', 'b']);
  });

  it('schedules items of any kind, told apart by identity', () => {
    const scheduler = new PriorityScheduler<{ name: string }>();
    const first = { name: 'same' };
    const second = { name: 'same' };
    scheduler.add(first, 0);
    scheduler.add(second, 0);
    expect(scheduler.size).toBe(2);
    expect(turns(scheduler, 2)).toEqual([first, second]);
    expect(scheduler.next()).toBe(first);
  });

  it('rejects a priority that is not a safe integer', () => {
    const scheduler = new PriorityScheduler<string>();
    scheduler.add('a', 0);
    for (const bad of [0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => scheduler.add('b', bad)).toThrow(InvalidParameterError);
      expect(() => scheduler.setPriority('a', bad)).toThrow(InvalidParameterError);
    }
    expect(scheduler.has('b')).toBe(false);
    expect(scheduler.next()).toBe('a');
  });

  it('property: every sequence of operations gives the turns of the naive sorted model', () => {
    fc.assert(
      fc.property(opsArb, (ops) => {
        const scheduler = new PriorityScheduler<number>();
        const model = new ModelScheduler();
        for (const [step, op] of ops.entries()) {
          const got = apply(scheduler, op);
          const expected = op.kind === 'next' ? model.next() : undefined;
          if (op.kind === 'add') model.add(op.item, op.priority);
          if (op.kind === 'remove') model.remove(op.item);
          if (op.kind === 'setPriority') model.setPriority(op.item, op.priority);
          agree(got, expected, `step ${step} (${op.kind})`);
          agree(scheduler.peek(), model.peek(), `peek after step ${step}`);
          agree(scheduler.size, model.size, `size after step ${step}`);
          for (let item = 0; item < ITEMS; item++) {
            agree(scheduler.has(item), model.has(item), `has(${item}) after step ${step}`);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: next never returns an item while one of higher priority is scheduled', () => {
    fc.assert(
      fc.property(opsArb, (ops) => {
        const scheduler = new PriorityScheduler<number>();
        const priorities = new Map<number, number>();
        for (const op of ops) {
          const got = apply(scheduler, op);
          if (op.kind === 'add' && !priorities.has(op.item)) priorities.set(op.item, op.priority);
          if (op.kind === 'remove') priorities.delete(op.item);
          if (op.kind === 'setPriority' && priorities.has(op.item)) {
            priorities.set(op.item, op.priority);
          }
          if (op.kind !== 'next') continue;
          if (priorities.size === 0) {
            agree(got, undefined, 'next() when empty');
          } else {
            const highest = Math.max(...priorities.values());
            agree(priorities.get(got as number), highest, `priority of next() = ${got}`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: over k*n turns, each of n items at the top level gets exactly k turns', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: -1000, max: 1000 }),
        fc.array(fc.integer({ min: -2000, max: -1001 }), { maxLength: 5 }),
        opsArb,
        (n, k, level, lowerLevels, history) => {
          const scheduler = new PriorityScheduler<number>();
          // Any earlier history, on items other than the n, must not bias the rotation.
          for (const op of history) apply(scheduler, op);
          for (let item = 0; item < ITEMS; item++) scheduler.remove(item);
          for (const [i, priority] of lowerLevels.entries()) scheduler.add(100 + i, priority);
          for (let item = 0; item < n; item++) scheduler.add(1000 + item, level);
          const counts = new Map<number, number>();
          for (const item of turns(scheduler, k * n)) {
            counts.set(item as number, (counts.get(item as number) ?? 0) + 1);
          }
          agree(counts.size, n, 'items served');
          for (const [item, count] of counts) agree(count, k, `turns of ${item}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: setPriority takes effect at the very next call', () => {
    fc.assert(
      fc.property(opsArb, itemArb, fc.nat(5), (history, item, rotations) => {
        const scheduler = new PriorityScheduler<number>();
        for (const op of history) apply(scheduler, op);
        scheduler.add(item, 0);
        turns(scheduler, rotations);
        scheduler.setPriority(item, 10);
        agree(scheduler.next(), item, 'next() after raising it above all');
        scheduler.setPriority(item, -10);
        if (scheduler.size > 1) {
          const other = scheduler.next();
          if (other === item) throw new Error('next() gave the item just lowered below all');
        }
      }),
      { numRuns: 300 },
    );
  });
});
