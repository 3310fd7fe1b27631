import { InvalidParameterError } from './errors.js';

/** The whole state of a {@link Prng}: four unsigned 32-bit words, JSON-serialisable. */
export type PrngState = readonly [number, number, number, number];

const TWO_POW_32 = 4294967296;

/**
 * splitmix32 step: spreads a seed over the state so that nearby seeds (1, 2, 3, ...) give
 * unrelated streams (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", 2014).
 */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/**
 * A fast seeded PRNG: xoshiro128** (Blackman and Vigna, 2018). Not cryptographic; it drives the
 * simulator and tests, where a run must be replayable from its seed. Its state can be saved,
 * restored and forked, so that independent parts of a simulation draw from independent streams
 * and adding draws to one part does not shift the others.
 */
export class Prng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** @param seed any safe integer; both 32-bit halves take part. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new InvalidParameterError('seed', `must be a safe integer, got ${seed}`);
    }
    const low = seed >>> 0;
    const high = Math.floor(seed / TWO_POW_32) >>> 0;
    this.s0 = splitmix32(low);
    this.s1 = splitmix32(this.s0 ^ high);
    this.s2 = splitmix32(this.s1 + 1);
    this.s3 = splitmix32(this.s2 ^ 0x5bd1e995);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s3 = 1;
  }

  /** Rebuilds a generator that continues exactly where the saved one was. */
  static restore(state: PrngState): Prng {
    const prng = new Prng(0);
    [prng.s0, prng.s1, prng.s2, prng.s3] = state.map((word) => word >>> 0) as [
      number,
      number,
      number,
      number,
    ];
    if ((prng.s0 | prng.s1 | prng.s2 | prng.s3) === 0) {
      throw new InvalidParameterError('state', 'an all-zero xoshiro state never leaves zero');
    }
    return prng;
  }

  /** A snapshot of the state; {@link Prng.restore} continues from it. */
  save(): PrngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** A new, independent generator seeded from this one's next outputs. */
  fork(): Prng {
    const child = new Prng(0);
    child.s0 = splitmix32(this.nextU32());
    child.s1 = splitmix32(this.nextU32());
    child.s2 = splitmix32(this.nextU32());
    child.s3 = splitmix32(this.nextU32()) | 1;
    return child;
  }

  /** Next unsigned 32-bit integer. */
  nextU32(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 = s1 ^ this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution, enough for probabilities and jitter. */
  nextFloat(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** Uniform integer in [0, bound), for bound <= 2^32; bias is below 2^-32 * bound. */
  nextInt(bound: number): number {
    return Math.floor(this.nextFloat() * bound);
  }

  /** Fills `out` with pseudorandom bytes. */
  fillBytes(out: Uint8Array): void {
    let i = 0;
    for (; i + 4 <= out.length; i += 4) {
      const word = this.nextU32();
      out[i] = word & 0xff;
      out[i + 1] = (word >>> 8) & 0xff;
      out[i + 2] = (word >>> 16) & 0xff;
      out[i + 3] = word >>> 24;
    }
    if (i < out.length) {
      let word = this.nextU32();
      for (; i < out.length; i++) {
        out[i] = word & 0xff;
        word >>>= 8;
      }
    }
  }
}
