import { InvalidParameterError } from '../net/errors.js';

const BITS_PER_WORD = 32;
const MAX_WINDOW_SIZE = 1 << 20;

/**
 * The receiver's anti-replay window over 64-bit-range packet numbers (kept below 2^53 so that they
 * are exact JavaScript numbers), after RFC 6479: a ring of 32-bit words where bit `pn % 32` of word
 * `pn / 32` records that `pn` was received. Advancing the window clears whole words instead of
 * shifting the bitmap, so the cost per packet does not depend on the window size, and memory is
 * fixed at construction whatever the peer sends.
 *
 * Use it in two steps, as SST does (see `reference/sst-protocol.md` §2.3): {@link ReplayWindow.check}
 * before decrypting, to drop old and duplicate packets cheaply, then {@link ReplayWindow.accept}
 * only after the AEAD tag verified, so that a forged packet can neither move the window nor mark a
 * number as seen.
 */
export class ReplayWindow {
  readonly #size: number;
  readonly #words: Uint32Array;
  readonly #mask: number;
  #highest = -1;

  /** `size` packet numbers below and including the highest accepted one are tracked. */
  constructor(size = 2048) {
    if (!Number.isInteger(size) || size < 1 || size > MAX_WINDOW_SIZE) {
      throw new InvalidParameterError('size', `must be an integer in [1, ${MAX_WINDOW_SIZE}]`);
    }
    this.#size = size;
    // The window can straddle ceil(size / 32) + 1 words: one more than it fills, as in RFC 6479,
    // so the word being cleared on advance is never one still in use. A power of two lets the
    // ring index be a mask.
    const words = nextPowerOfTwo(Math.ceil(size / BITS_PER_WORD) + 1);
    this.#words = new Uint32Array(words);
    this.#mask = words - 1;
  }

  /** How many packet numbers the window spans. */
  get size(): number {
    return this.#size;
  }

  /** The highest accepted packet number, or -1 before the first one. */
  get highest(): number {
    return this.#highest;
  }

  /**
   * True when `pn` may be a new packet: above the window's bottom and not yet accepted. Call it
   * before decryption. Numbers that are not packet numbers (negative, fractional, 2^53 or more)
   * give false: they can only come from the network, where bad input is dropped, not thrown.
   */
  check(pn: number): boolean {
    if (!isPacketNumber(pn)) return false;
    if (pn > this.#highest) return true;
    if (pn <= this.#highest - this.#size) return false;
    return (this.#wordOf(pn) & bitOf(pn)) === 0;
  }

  /**
   * Records `pn` as received; call it only once the packet authenticated. Returns false, and
   * records nothing, when `pn` is a duplicate or has fallen below the window since
   * {@link ReplayWindow.check}: with decryption in flight, two copies can both pass the check,
   * and the caller must then drop the second one.
   */
  accept(pn: number): boolean {
    if (!isPacketNumber(pn)) {
      throw new InvalidParameterError('pn', 'must be an integer in [0, 2^53)');
    }
    if (pn > this.#highest) {
      this.#advanceTo(pn);
    } else if (pn <= this.#highest - this.#size || (this.#wordOf(pn) & bitOf(pn)) !== 0) {
      return false;
    }
    const index = wordIndex(pn) & this.#mask;
    this.#words[index] = (this.#words[index] as number) | bitOf(pn);
    return true;
  }

  #wordOf(pn: number): number {
    return this.#words[wordIndex(pn) & this.#mask] as number;
  }

  /** Moves the top of the window to `pn`, clearing the words that wrap round the ring. */
  #advanceTo(pn: number): void {
    const from = wordIndex(this.#highest);
    const steps = wordIndex(pn) - from;
    if (steps >= this.#words.length) {
      this.#words.fill(0);
    } else {
      for (let i = 1; i <= steps; i++) this.#words[(from + i) & this.#mask] = 0;
    }
    this.#highest = pn;
  }
}

function isPacketNumber(pn: number): boolean {
  return Number.isSafeInteger(pn) && pn >= 0;
}

// Packet numbers go past 2^32, so the word index uses division; `& 31` and `& mask` stay exact
// because ToInt32 keeps the low 32 bits of any integer below 2^53.
function wordIndex(pn: number): number {
  return Math.floor(pn / BITS_PER_WORD);
}

function bitOf(pn: number): number {
  return 1 << (pn & (BITS_PER_WORD - 1));
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
