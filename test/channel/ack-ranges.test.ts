import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckRanges } from '../../src/channel/ack-ranges.js';
import type { AckRange } from '../../src/channel/frames.js';
import { InvalidParameterError } from '../../src/net/errors.js';

/**
 * The specification: a plain set of numbers, the same eviction rule, and a floor that only
 * eviction raises; forgetting below a number refuses nothing later.
 */
class ModelRanges {
  readonly #held = new Set<number>();
  floor = 0;

  constructor(readonly maxRanges: number) {}

  has(pn: number): boolean {
    return this.#held.has(pn);
  }

  add(pn: number): boolean {
    if (pn < this.floor || this.#held.has(pn)) return false;
    this.#held.add(pn);
    const ascending = this.ranges().reverse();
    if (ascending.length > this.maxRanges) {
      this.floor = (ascending[1] as AckRange)[0];
      this.forgetBelow(this.floor);
    }
    return this.#held.has(pn);
  }

  forgetBelow(pn: number): void {
    for (const held of this.#held) if (held < pn) this.#held.delete(held);
  }

  /** Descending ranges, computed the slow way. */
  ranges(): [number, number][] {
    const sorted = [...this.#held].sort((a, b) => b - a);
    const out: [number, number][] = [];
    for (const pn of sorted) {
      const last = out[out.length - 1];
      if (last !== undefined && last[0] === pn + 1) last[0] = pn;
      else out.push([pn, pn]);
    }
    return out;
  }
}

type Op = { op: 'add'; pn: number } | { op: 'forget'; pn: number } | { op: 'has'; pn: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('add' as const), pn: fc.nat(120) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('forget' as const), pn: fc.nat(120) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('has' as const), pn: fc.nat(125) }) },
);

/** Cheaper than expect() in the hot loops of properties; fast-check reports the message. */
function agree<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected)
    throw new Error(`${what}: got ${String(actual)}, expected ${String(expected)}`);
}

function addAll(ranges: AckRanges, numbers: readonly number[]): void {
  for (const pn of numbers) ranges.add(pn);
}

describe('AckRanges', () => {
  it('starts empty: no ranges, largest -1, floor 0', () => {
    const ranges = new AckRanges();
    expect(ranges.count).toBe(0);
    expect(ranges.largest).toBe(-1);
    expect(ranges.floor).toBe(0);
    expect(ranges.ranges()).toEqual([]);
    expect(ranges.has(0)).toBe(false);
  });

  it('packets in order make one range', () => {
    const ranges = new AckRanges();
    for (let pn = 0; pn < 1000; pn++) expect(ranges.add(pn)).toBe(true);
    expect(ranges.ranges()).toEqual([[0, 999]]);
    expect(ranges.largest).toBe(999);
  });

  it('gaps make ranges listed newest first; filling a gap merges its neighbours', () => {
    const ranges = new AckRanges();
    addAll(ranges, [1, 2, 3, 7, 8, 12, 5]);
    expect(ranges.ranges()).toEqual([
      [12, 12],
      [7, 8],
      [5, 5],
      [1, 3],
    ]);
    addAll(ranges, [4, 6, 0]);
    expect(ranges.ranges()).toEqual([
      [12, 12],
      [0, 8],
    ]);
  });

  it('add returns false for a duplicate and has reports what is held', () => {
    const ranges = new AckRanges();
    addAll(ranges, [10, 11, 20]);
    expect(ranges.add(11)).toBe(false);
    expect(ranges.add(20)).toBe(false);
    expect([9, 10, 11, 12, 19, 20, 21].map((pn) => ranges.has(pn))).toEqual([
      false,
      true,
      true,
      false,
      false,
      true,
      false,
    ]);
  });

  it('ranges(max) gives the newest max ranges, in fresh arrays', () => {
    const ranges = new AckRanges();
    addAll(ranges, [0, 2, 4, 6]);
    const newest = ranges.ranges(2);
    expect(newest).toEqual([
      [6, 6],
      [4, 4],
    ]);
    (newest[0] as [number, number])[0] = 99;
    expect(ranges.ranges(0)).toEqual([]);
    expect(ranges.ranges(10)).toHaveLength(4);
    expect(ranges.largest).toBe(6);
  });

  it('past maxRanges the oldest range is dropped and its numbers stay forgotten', () => {
    const ranges = new AckRanges(3);
    addAll(ranges, [0, 1, 3, 5]);
    expect(ranges.ranges()).toEqual([
      [5, 5],
      [3, 3],
      [0, 1],
    ]);
    expect(ranges.add(7)).toBe(true);
    expect(ranges.ranges()).toEqual([
      [7, 7],
      [5, 5],
      [3, 3],
    ]);
    expect(ranges.floor).toBe(3);
    expect(ranges.add(1)).toBe(false);
    expect(ranges.add(2)).toBe(false); // in the gap below the oldest range: forgotten too
    expect(ranges.has(2)).toBe(false);
    expect(ranges.add(4)).toBe(true);
    expect(ranges.ranges()).toEqual([
      [7, 7],
      [3, 5],
    ]);
  });

  it('a late packet that would be the one range too many is not recorded', () => {
    const ranges = new AckRanges(2);
    addAll(ranges, [10, 20]);
    expect(ranges.add(5)).toBe(false);
    expect(ranges.has(5)).toBe(false);
    expect(ranges.ranges()).toEqual([
      [20, 20],
      [10, 10],
    ]);
  });

  it('forgetBelow drops whole ranges and trims the one it cuts; a late packet below is still recorded, to be reported once', () => {
    const ranges = new AckRanges();
    addAll(ranges, [0, 1, 2, 5, 6, 7, 8, 10]);
    ranges.forgetBelow(6);
    expect(ranges.ranges()).toEqual([
      [10, 10],
      [6, 8],
    ]);
    expect(ranges.floor).toBe(0);
    // Packet 3 was only late: the next ACK says so, and the one after no longer.
    expect(ranges.add(3)).toBe(true);
    expect(ranges.ranges()).toEqual([
      [10, 10],
      [6, 8],
      [3, 3],
    ]);
    ranges.forgetBelow(11);
    expect(ranges.count).toBe(0);
    expect(ranges.largest).toBe(-1);
    expect(ranges.add(11)).toBe(true);
    expect(ranges.ranges()).toEqual([[11, 11]]);
  });

  it('rejects bad arguments from the application', () => {
    expect(() => new AckRanges(0)).toThrow(InvalidParameterError);
    expect(() => new AckRanges(1.5)).toThrow(InvalidParameterError);
    const ranges = new AckRanges();
    for (const bad of [-1, 0.5, Number.NaN, 2 ** 53]) {
      expect(() => ranges.add(bad)).toThrow(InvalidParameterError);
      expect(() => ranges.forgetBelow(bad)).toThrow(InvalidParameterError);
    }
    expect(() => ranges.ranges(-1)).toThrow(InvalidParameterError);
  });

  it('handles packet numbers near 2^53', () => {
    const ranges = new AckRanges();
    const top = Number.MAX_SAFE_INTEGER;
    addAll(ranges, [top, top - 2, top - 1]);
    expect(ranges.ranges()).toEqual([[top - 2, top]]);
  });

  it('property: add, has, ranges, largest and floor agree with a set model', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(opArb, { maxLength: 200, size: 'max' }),
        (maxRanges, ops) => {
          const ranges = new AckRanges(maxRanges);
          const model = new ModelRanges(maxRanges);
          for (const { op, pn } of ops) {
            if (op === 'add') agree(ranges.add(pn), model.add(pn), `add(${pn})`);
            else if (op === 'forget') {
              ranges.forgetBelow(pn);
              model.forgetBelow(pn);
            } else agree(ranges.has(pn), model.has(pn), `has(${pn})`);
            const expected = model.ranges();
            agree(JSON.stringify(ranges.ranges()), JSON.stringify(expected), 'ranges()');
            agree(ranges.largest, expected[0]?.[1] ?? -1, 'largest');
            agree(ranges.floor, model.floor, 'floor');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: the number of ranges stays within the bound under adversarial input', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.shuffledSubarray(
          Array.from({ length: 1500 }, (_, i) => 2 * i),
          { minLength: 1 },
        ),
        (maxRanges, everyOther) => {
          const ranges = new AckRanges(maxRanges);
          let most = 0;
          for (const pn of everyOther) {
            ranges.add(pn);
            most = Math.max(most, ranges.count);
          }
          expect(most).toBeLessThanOrEqual(maxRanges);
          const held = ranges.ranges();
          expect(held).toHaveLength(Math.min(maxRanges, everyOther.length));
          // Held numbers are a top slice of what arrived.
          const largestArrived = Math.max(...everyOther);
          expect(held[0]).toEqual([largestArrived, largestArrived]);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('keeps 256 ranges by default when every other packet is lost', () => {
    const ranges = new AckRanges();
    for (let pn = 0; pn < 100_000; pn += 2) ranges.add(pn);
    expect(ranges.count).toBe(256);
    expect(ranges.ranges(1)).toEqual([[99_998, 99_998]]);
    expect(ranges.floor).toBe(100_000 - 2 * 256);
  });
});
