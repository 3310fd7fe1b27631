import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from './fixtures.js';
import { Prng, type PrngState } from '../../src/net/prng.js';

const TWO_POW_32 = 2 ** 32;

function draws(prng: Prng, count: number): number[] {
  return Array.from({ length: count }, () => prng.nextU32());
}

/** Pearson's chi-square statistic of `counts` against a uniform distribution. */
function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

describe('Prng seeding', () => {
  it('property: the same seed gives the same sequence', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (seed) => {
        expect(draws(new Prng(seed), 64)).toEqual(draws(new Prng(seed), 64));
      }),
      { numRuns: 100 },
    );
  });

  it('property: different seeds give different sequences', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.maxSafeInteger(), (a, b) => {
        fc.pre(a !== b);
        expect(draws(new Prng(a), 8)).not.toEqual(draws(new Prng(b), 8));
      }),
      { numRuns: 100 },
    );
  });

  it('nearby seeds give unrelated first outputs (splitmix spreads them)', () => {
    const first = new Set<number>();
    for (let seed = 0; seed < 10_000; seed++) first.add(new Prng(seed).nextU32());
    // 10,000 draws from 2^32 values collide with probability ~1 %; allow one collision.
    expect(first.size).toBeGreaterThanOrEqual(9_999);
  });

  it('both 32-bit halves of the seed take part, and negative seeds are accepted', () => {
    const streams = [1, 1 + TWO_POW_32, 2 ** 52 + 1, -1, Number.MIN_SAFE_INTEGER].map((seed) =>
      draws(new Prng(seed), 4).join(','),
    );
    expect(new Set(streams).size).toBe(streams.length);
  });

  it('rejects a seed that is not a safe integer, naming `seed`', () => {
    for (const seed of [0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -(2 ** 53)]) {
      expect(parameterOf(() => new Prng(seed))).toBe('seed');
    }
  });
});

describe('Prng save and restore', () => {
  it('property: a restored generator continues exactly where the saved one was', () => {
    fc.assert(
      fc.property(fc.integer(), fc.nat(100), (seed, skip) => {
        const prng = new Prng(seed);
        draws(prng, skip);
        const state = prng.save();
        const restored = Prng.restore(state);
        expect(draws(restored, 32)).toEqual(draws(prng, 32));
      }),
      { numRuns: 100 },
    );
  });

  it('the saved state is a JSON-clean snapshot that later draws do not change', () => {
    const prng = new Prng(42);
    const state = prng.save();
    const copy = JSON.parse(JSON.stringify(state)) as PrngState;
    const expected = draws(prng, 16);
    expect(state).toEqual(copy);
    expect(draws(Prng.restore(copy), 16)).toEqual(expected);
    for (const word of state) {
      expect(Number.isInteger(word) && word >= 0 && word < TWO_POW_32).toBe(true);
    }
  });

  it('restore reduces words to unsigned 32 bits', () => {
    const state = new Prng(9).save();
    const signed = state.map((w) => w | 0) as unknown as PrngState;
    expect(draws(Prng.restore(signed), 8)).toEqual(draws(Prng.restore(state), 8));
  });

  it('rejects the all-zero state, from which xoshiro never leaves, naming `state`', () => {
    expect(parameterOf(() => Prng.restore([0, 0, 0, 0]))).toBe('state');
    expect(parameterOf(() => Prng.restore([TWO_POW_32, 0, 0, 0]))).toBe('state');
    expect(parameterOf(() => Prng.restore([0, 0, 0, 1]))).toBeUndefined();
  });
});

describe('Prng fork', () => {
  it('a fork is deterministic: the same parent state forks the same child', () => {
    const a = new Prng(5).fork();
    const b = new Prng(5).fork();
    expect(draws(a, 32)).toEqual(draws(b, 32));
  });

  it('forking advances the parent by exactly four draws, whatever the child then does', () => {
    const parent = new Prng(11);
    const twin = new Prng(11);
    const child = parent.fork();
    draws(child, 1000);
    draws(twin, 4);
    expect(draws(parent, 32)).toEqual(draws(twin, 32));
  });

  it('drawing from a child never shifts its parent or its siblings', () => {
    const run = (childDraws: number) => {
      const parent = new Prng(3);
      const first = parent.fork();
      const second = parent.fork();
      draws(first, childDraws);
      return { parent: draws(parent, 16), second: draws(second, 16) };
    };
    expect(run(1000)).toEqual(run(0));
  });

  it('property: a child stream is unlike its parent and its siblings', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const parent = new Prng(seed);
        const a = parent.fork();
        const b = parent.fork();
        const streams = [draws(parent, 16), draws(a, 16), draws(b, 16)];
        // No value is shared between the streams (a chance collision is ~3e-7 per run; fixed seed).
        expect(new Set(streams.flat()).size).toBe(48);
      }),
      { numRuns: 100, seed: 20260102 },
    );
  });
});

describe('Prng distributions', () => {
  it('property: nextFloat is nextU32 / 2^32, hence in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const prng = new Prng(seed);
        const twin = new Prng(seed);
        const bad: number[] = [];
        for (let i = 0; i < 200; i++) {
          const x = prng.nextFloat();
          if (!(x >= 0 && x < 1) || x !== twin.nextU32() / TWO_POW_32) bad.push(x);
        }
        expect(bad).toEqual([]);
      }),
      { numRuns: 50 },
    );
  });

  it('property: nextInt(bound) is an integer in [0, bound) for every bound up to 2^32', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: TWO_POW_32 }), (seed, bound) => {
        const prng = new Prng(seed);
        const bad: number[] = [];
        for (let i = 0; i < 100; i++) {
          const n = prng.nextInt(bound);
          if (!Number.isInteger(n) || n < 0 || n >= bound) bad.push(n);
        }
        expect(bad).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it('nextInt(2^32) is the raw 32-bit draw', () => {
    const prng = new Prng(6);
    const twin = new Prng(6);
    for (let i = 0; i < 100; i++) expect(prng.nextInt(TWO_POW_32)).toBe(twin.nextU32());
  });

  it('nextInt(1) is always 0', () => {
    const prng = new Prng(8);
    for (let i = 0; i < 100; i++) expect(prng.nextInt(1)).toBe(0);
  });

  it('nextInt is roughly uniform: chi-square passes for small and awkward bounds (fixed seed)', () => {
    // Critical values at p = 0.001 are about 27.9 (9 df), 22.5 (6 df) and 1153 (999 df); the
    // bounds below are looser still, so only a real bias fails.
    const cases = [
      { bound: 10, draws: 100_000, limit: 35 },
      { bound: 7, draws: 70_000, limit: 30 },
      { bound: 1000, draws: 200_000, limit: 1200 },
    ];
    for (const [i, { bound, draws: n, limit }] of cases.entries()) {
      const prng = new Prng(20260101 + i);
      const counts = new Array<number>(bound).fill(0);
      for (let k = 0; k < n; k++) {
        const x = prng.nextInt(bound);
        counts[x] = (counts[x] ?? 0) + 1;
      }
      expect(chiSquare(counts)).toBeLessThan(limit);
    }
  });

  it('bytes from fillBytes are roughly uniform (chi-square, fixed seed)', () => {
    const prng = new Prng(77);
    const bytes = new Uint8Array(256 * 400 + 3);
    prng.fillBytes(bytes);
    const counts = new Array<number>(256).fill(0);
    for (const b of bytes) counts[b] = (counts[b] ?? 0) + 1;
    // 255 df: the critical value at p = 0.001 is about 330.
    expect(chiSquare(counts)).toBeLessThan(350);
  });
});

describe('Prng fillBytes', () => {
  /** The bytes fillBytes must write: each draw's little-endian bytes, the last draw cut short. */
  function expectedBytes(seed: number, length: number): Uint8Array {
    const prng = new Prng(seed);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i += 4) {
      const word = prng.nextU32();
      for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return out;
  }

  it('fills every length, including non-multiples of 4, with the little-endian draws', () => {
    for (let length = 0; length <= 37; length++) {
      const prng = new Prng(length);
      const out = new Uint8Array(length).fill(0xa5);
      prng.fillBytes(out);
      expect([...out]).toEqual([...expectedBytes(length, length)]);
    }
  });

  it('property: writes exactly the view it is given, and consumes ceil(length / 4) draws', () => {
    fc.assert(
      fc.property(fc.integer(), fc.nat(64), fc.nat(7), fc.nat(7), (seed, length, before, after) => {
        const buffer = new Uint8Array(before + length + after).fill(0xa5);
        const view = buffer.subarray(before, before + length);
        const prng = new Prng(seed);
        prng.fillBytes(view);
        expect([...view]).toEqual([...expectedBytes(seed, length)]);
        expect(buffer.subarray(0, before).every((b) => b === 0xa5)).toBe(true);
        expect(buffer.subarray(before + length).every((b) => b === 0xa5)).toBe(true);
        const twin = new Prng(seed);
        draws(twin, Math.ceil(length / 4));
        expect(prng.nextU32()).toBe(twin.nextU32());
      }),
      { numRuns: 100 },
    );
  });
});
