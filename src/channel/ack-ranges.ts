import { InvalidParameterError } from '../net/errors.js';
import type { AckRange } from './frames.js';

const MAX_RANGES_LIMIT = 1 << 16;

/**
 * The receiver's record of the packet numbers it has received, as disjoint inclusive ranges, for
 * building ACK frames (RFC 9000 §13.2.3, §19.3). Ranges are kept ascending in two typed arrays
 * used as a window that slides up: packets mostly arrive in order or slightly reordered, so
 * nearly every change touches the newest range or one a few places below it, and the binary
 * search that finds it is O(log n).
 *
 * Memory is bounded whatever the peer sends. Past `maxRanges` ranges the oldest is dropped: by
 * then the sender has declared those packets lost or acknowledged them (RFC 9000 §13.2.4), and
 * the numbers below the new {@link AckRanges.floor} are forgotten for good: a late packet below
 * it is not recorded, so that it cannot grow the set again. Once the peer has acknowledged an
 * ACK frame, {@link AckRanges.forgetBelow} drops what that frame reported, but a packet that
 * arrives later below it is still recorded, and so reported once: it tells the sender that a
 * packet it may have declared lost was only late, which is how a needless congestion cut is
 * undone.
 */
export class AckRanges {
  readonly #maxRanges: number;
  // Ranges live at indices [#start, #end) of both arrays, ascending and never adjacent.
  readonly #low: Float64Array;
  readonly #high: Float64Array;
  #start = 0;
  #end = 0;
  #floor = 0;

  /** At most `maxRanges` ranges are kept; the oldest are dropped first. */
  constructor(maxRanges = 256) {
    if (!Number.isInteger(maxRanges) || maxRanges < 1 || maxRanges > MAX_RANGES_LIMIT) {
      throw new InvalidParameterError(
        'maxRanges',
        `must be an integer in [1, ${MAX_RANGES_LIMIT}]`,
      );
    }
    this.#maxRanges = maxRanges;
    // Twice the bound, so that compacting back to index 0 happens at most once every
    // `maxRanges` ranges added: amortised O(1).
    this.#low = new Float64Array(2 * maxRanges);
    this.#high = new Float64Array(2 * maxRanges);
  }

  /** How many disjoint ranges are held. */
  get count(): number {
    return this.#end - this.#start;
  }

  /** The largest packet number held, or -1 when none is. */
  get largest(): number {
    return this.count === 0 ? -1 : this.#highAt(this.#end - 1);
  }

  /**
   * Packet numbers below this were dropped past `maxRanges`: never held again, and ignored by
   * {@link AckRanges.add}.
   */
  get floor(): number {
    return this.#floor;
  }

  /** True when `pn` is held. */
  has(pn: number): boolean {
    if (this.count === 0 || pn < this.#floor) return false;
    const i = this.#indexAtOrBelow(pn);
    return i >= this.#start && pn <= this.#highAt(i);
  }

  /**
   * Records the received packet `pn`. Returns true when it was not held before and is now; false
   * for a duplicate, or for a number below the floor, which is not recorded.
   */
  add(pn: number): boolean {
    checkPacketNumber(pn, 'pn');
    if (pn < this.#floor) return false;
    const top = this.#end - 1;
    if (this.count === 0 || pn > this.#highAt(top) + 1) {
      this.#insertAt(this.#end, pn);
    } else if (pn === this.#highAt(top) + 1) {
      this.#high[top] = pn; // the common case: the next packet in order
    } else {
      const below = this.#indexAtOrBelow(pn);
      if (below >= this.#start && pn <= this.#highAt(below)) return false;
      this.#fillGap(below, pn);
    }
    // The new number may have made the one range too many and been dropped with it.
    this.#dropOldestBeyondBound();
    return pn >= this.#floor;
  }

  /**
   * The ranges held, newest first (descending, as the ACK frame lists them), at most `max` of
   * them. The array and its pairs are new: the caller may keep or change them.
   */
  ranges(max?: number): AckRange[] {
    if (max !== undefined && !(Number.isInteger(max) && max >= 0)) {
      throw new InvalidParameterError('max', 'must be a non-negative integer');
    }
    const n = max === undefined ? this.count : Math.min(max, this.count);
    const out: AckRange[] = [];
    for (let k = 1; k <= n; k++) {
      const i = this.#end - k;
      out.push([this.#lowAt(i), this.#highAt(i)]);
    }
    return out;
  }

  /**
   * Drops every range below `pn`. Call it with the Largest Acknowledged of an ACK frame plus one
   * once the packet carrying that frame is acknowledged (RFC 9000 §13.2.4): the peer knows about
   * those packets, so they need not be reported again. Unlike the floor, this does not refuse
   * numbers below `pn` that arrive later.
   */
  forgetBelow(pn: number): void {
    checkPacketNumber(pn, 'pn');
    if (this.count === 0 || pn <= this.#lowAt(this.#start)) return;
    const i = this.#indexAtOrBelow(pn);
    if (i >= this.#start && pn <= this.#highAt(i)) {
      this.#start = i;
      this.#low[i] = pn; // `pn` splits this range: keep the part at and above it
    } else {
      this.#start = i + 1;
    }
    if (this.count === 0) this.#start = this.#end = 0;
  }

  /** `pn` lies above range `below` (or below every range) and under the range after it. */
  #fillGap(below: number, pn: number): void {
    const above = below + 1;
    const joinsBelow = below >= this.#start && this.#highAt(below) + 1 === pn;
    const joinsAbove = this.#lowAt(above) - 1 === pn;
    if (joinsBelow && joinsAbove) {
      this.#high[below] = this.#highAt(above);
      this.#removeAt(above);
    } else if (joinsBelow) {
      this.#high[below] = pn;
    } else if (joinsAbove) {
      this.#low[above] = pn;
    } else {
      this.#insertAt(above, pn);
    }
  }

  /** Inserts the range [pn, pn] at array index `index`, moving the ranges from there up. */
  #insertAt(index: number, pn: number): void {
    if (index === this.#start && this.#start > 0) {
      index = --this.#start;
    } else {
      if (this.#end === this.#low.length) index -= this.#compact();
      this.#low.copyWithin(index + 1, index, this.#end);
      this.#high.copyWithin(index + 1, index, this.#end);
      this.#end++;
    }
    this.#low[index] = pn;
    this.#high[index] = pn;
  }

  #removeAt(index: number): void {
    this.#low.copyWithin(index, index + 1, this.#end);
    this.#high.copyWithin(index, index + 1, this.#end);
    this.#end--;
  }

  /** Moves the ranges down to index 0; returns how far they moved. */
  #compact(): number {
    const shift = this.#start;
    this.#low.copyWithin(0, shift, this.#end);
    this.#high.copyWithin(0, shift, this.#end);
    this.#start = 0;
    this.#end -= shift;
    return shift;
  }

  #dropOldestBeyondBound(): void {
    if (this.count <= this.#maxRanges) return;
    this.#start++;
    // Up to the bottom of what is still held, even across the gap below it: a late packet there
    // would only become the oldest range and be dropped again.
    this.#floor = this.#lowAt(this.#start);
  }

  /** Index of the last range whose low end is at most `pn`, or `#start - 1` if there is none. */
  #indexAtOrBelow(pn: number): number {
    let lo = this.#start;
    let hi = this.#end - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#lowAt(mid) <= pn) lo = mid + 1;
      else hi = mid - 1;
    }
    return lo - 1;
  }

  #lowAt(i: number): number {
    return this.#low[i] as number;
  }

  #highAt(i: number): number {
    return this.#high[i] as number;
  }
}

function checkPacketNumber(pn: number, name: string): void {
  if (!Number.isSafeInteger(pn) || pn < 0) {
    throw new InvalidParameterError(name, 'must be an integer in [0, 2^53)');
  }
}
