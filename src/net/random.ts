import { Prng } from './prng.js';

/**
 * The randomness given to core code. Production uses {@link cryptoRandom}; the simulator gives a
 * seeded source so that key generation and nonces replay with the run.
 */
export interface RandomSource {
  /** Fills `out` with random bytes. */
  fillBytes(out: Uint8Array): void;
}

/** Web Crypto refuses more than 65,536 bytes per call. */
const MAX_GET_RANDOM = 65536;

/** Cryptographically secure randomness from the platform (`crypto.getRandomValues`). */
export const cryptoRandom: RandomSource = {
  fillBytes(out: Uint8Array): void {
    for (let offset = 0; offset < out.length; offset += MAX_GET_RANDOM) {
      globalThis.crypto.getRandomValues(out.subarray(offset, offset + MAX_GET_RANDOM));
    }
  },
};

/** A deterministic source for tests and simulation; never for keys that protect real traffic. */
export function seededRandom(seed: number): RandomSource {
  return new Prng(seed);
}
