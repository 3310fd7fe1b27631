import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplayWindow } from '../../src/channel/replay-window.js';
import { InvalidParameterError } from '../../src/net/errors.js';

const MAX_PN = Number.MAX_SAFE_INTEGER;

/** Cheaper than expect() in the hot loops of properties; fast-check reports the message. */
function agree<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected)
    throw new Error(`${what}: got ${String(actual)}, expected ${String(expected)}`);
}

/** The specification: a set of every number ever accepted, looked at only within the window. */
class ModelWindow {
  readonly #seen = new Set<number>();
  highest = -1;

  constructor(readonly size: number) {}

  check(pn: number): boolean {
    if (pn > this.highest) return true;
    return pn > this.highest - this.size && !this.#seen.has(pn);
  }

  accept(pn: number): boolean {
    if (!this.check(pn)) return false;
    this.#seen.add(pn);
    this.highest = Math.max(this.highest, pn);
    return true;
  }
}

/** A packet arrival: where its number lies relative to the highest so far, and if it authenticated. */
type Arrival = {
  kind: 'step' | 'near' | 'jump' | 'absolute';
  step: number;
  value: number;
  authentic: boolean;
};

function arrivalArb(size: number): fc.Arbitrary<Arrival> {
  return fc.record({
    // Mostly small steps, so that the window fills densely and stale bits would show.
    kind: fc.constantFrom<Arrival['kind']>(
      'step',
      'step',
      'step',
      'near',
      'near',
      'jump',
      'absolute',
    ),
    step: fc.integer({ min: -12, max: 3 }),
    value: fc.integer({ min: -2 * size - 40, max: 2 * size + 40 }),
    authentic: fc.boolean(),
  });
}

function packetNumberOf(arrival: Arrival, highest: number, size: number): number {
  switch (arrival.kind) {
    case 'step':
      return Math.max(0, highest + arrival.step);
    case 'near':
      return Math.max(0, highest + arrival.value);
    case 'jump':
      return Math.max(0, highest) + 40 * size + Math.abs(arrival.value);
    case 'absolute':
      return Math.abs(arrival.value);
  }
}

describe('ReplayWindow', () => {
  it('starts empty: highest is -1 and packet 0 is new', () => {
    const window = new ReplayWindow();
    expect(window.size).toBe(2048);
    expect(window.highest).toBe(-1);
    expect(window.check(0)).toBe(true);
  });

  it('rejects a packet number once it is accepted, but not after a check alone', () => {
    const window = new ReplayWindow();
    expect(window.check(7)).toBe(true);
    expect(window.check(7)).toBe(true); // a forged packet that failed authentication marks nothing
    expect(window.accept(7)).toBe(true);
    expect(window.check(7)).toBe(false);
    expect(window.highest).toBe(7);
  });

  it('a second accept of the same number returns false (two copies decrypted concurrently)', () => {
    const window = new ReplayWindow();
    expect(window.check(3) && window.check(3)).toBe(true);
    expect(window.accept(3)).toBe(true);
    expect(window.accept(3)).toBe(false);
  });

  it('accepts reordered packets inside the window and rejects those below its bottom', () => {
    const window = new ReplayWindow(2048);
    window.accept(5000);
    expect(window.check(5000 - 2047)).toBe(true);
    expect(window.check(5000 - 2048)).toBe(false);
    expect(window.accept(5000 - 2048)).toBe(false);
    expect(window.accept(4999)).toBe(true);
    expect(window.highest).toBe(5000);
  });

  it('a jump past the whole ring forgets every old bit', () => {
    const window = new ReplayWindow(64);
    for (let pn = 0; pn < 64; pn++) window.accept(pn);
    const far = 63 + 64 * 1000;
    expect(window.accept(far)).toBe(true);
    for (let pn = far - 63; pn < far; pn++) expect(window.check(pn)).toBe(true);
  });

  it('works at the top of the exact integer range', () => {
    const window = new ReplayWindow(100);
    const top = MAX_PN;
    expect(window.accept(top - 1)).toBe(true);
    expect(window.accept(top)).toBe(true);
    expect(window.check(top - 1)).toBe(false);
    expect(window.check(top - 2)).toBe(true);
    expect(window.check(top - 100)).toBe(false);
  });

  it('check gives false, and accept throws, for numbers that are not packet numbers', () => {
    const window = new ReplayWindow();
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY]) {
      expect(window.check(bad)).toBe(false);
      expect(() => window.accept(bad)).toThrow(InvalidParameterError);
    }
  });

  it('rejects a window size that is not a positive integer up to 2^20', () => {
    for (const bad of [0, -32, 1.5, Number.NaN, 2 ** 21]) {
      expect(() => new ReplayWindow(bad)).toThrow(InvalidParameterError);
    }
  });

  it('property: check and accept agree with a set of every accepted number, within the window', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 200 })
          .chain((size) =>
            fc.tuple(
              fc.constant(size),
              fc.array(arrivalArb(size), { maxLength: 300, size: 'max' }),
            ),
          ),
        ([size, arrivals]) => {
          const window = new ReplayWindow(size);
          const model = new ModelWindow(size);
          for (const arrival of arrivals) {
            const pn = packetNumberOf(arrival, model.highest, size);
            agree(window.check(pn), model.check(pn), `check(${pn})`);
            if (arrival.authentic) agree(window.accept(pn), model.accept(pn), `accept(${pn})`);
            agree(window.highest, model.highest, 'highest');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: a duplicate is always rejected, however far the window has moved', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.nat(5000), { minLength: 1, maxLength: 200, size: 'max' }),
        (size, numbers) => {
          const window = new ReplayWindow(size);
          const accepted: number[] = [];
          for (const pn of numbers) {
            if (window.check(pn) && window.accept(pn)) accepted.push(pn);
            for (const old of accepted.slice(-5)) agree(window.check(old), false, `check(${old})`);
          }
          for (const old of accepted) {
            agree(window.check(old), false, `check(${old})`);
            agree(window.accept(old), false, `accept(${old})`);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
