import { InvalidParameterError, checkPositive } from '../net/errors.js';

const DEFAULT_WINDOW = 256 * 1024;
// Storage grows to about twice the window; this keeps it well inside a typed array's limit.
const MAX_WINDOW = 2 ** 30;
const DEFAULT_MAX_OUT_OF_ORDER_RANGES = 1024;
const BITS_PER_WORD = 32;
// Zero-length typed arrays live outside V8's heap and cost as much to make as a large one: every
// buffer's storage is one of these, shared, until its first byte (none can be written to them).
const NO_BYTES = new Uint8Array(0);
const NO_WORDS = new Uint32Array(0);

/**
 * What {@link ReceiveBuffer.receive} did with a segment.
 *
 * - `ok`: the segment brought something new (bytes, a record end or the FIN) and was kept.
 * - `duplicate`: everything in it was known already, or already consumed; nothing changed.
 * - `flow-control`: the peer broke flow control: the segment ends beyond
 *   {@link ReceiveBuffer.maxOffset}, or it would make one out-of-order range more than the bound
 *   allows. Nothing changed.
 * - `final-size`: the segment contradicts the stream's final size: a FIN at another offset than a
 *   FIN before it, a FIN below bytes already received, or data beyond the final size. Nothing
 *   changed.
 *
 * The last two are the peer's protocol errors: the stream layer resets the stream.
 */
export type ReceiveOutcome = 'ok' | 'duplicate' | 'flow-control' | 'final-size';

/** Options of a {@link ReceiveBuffer}. */
export interface ReceiveBufferOptions {
  /**
   * The receive window, bytes: how far beyond the bytes the application has consumed the peer may
   * send. A positive integer up to 2^30; default 256 KiB.
   */
  window?: number;
  /**
   * The most out-of-order ranges held at once: runs of received bytes cut off from the readable
   * ones by a gap. A segment that would make one more is refused as `flow-control`, so that a peer
   * cutting its data into tiny scattered segments cannot make the buffer track unboundedly many
   * pieces. Adjacent segments merge into one range, so a well-behaved peer needs one range per
   * loss in flight. A positive integer; default 1024.
   */
  maxOutOfOrderRanges?: number;
}

/**
 * The receiving half of one reliable stream, sans-IO: segments arrive by byte offset in any
 * order, duplicated, overlapping and cut differently on retransmission; the application reads the
 * bytes in order, by {@link ReceiveBuffer.readData} or whole records by
 * {@link ReceiveBuffer.readRecord} (see `reference/sst-protocol.md` §3.4–3.5). The buffer
 * enforces flow control: the peer may send only below {@link ReceiveBuffer.maxOffset}, the bytes
 * consumed plus the window.
 *
 * **Storage.** Received bytes are copied into one array indexed by stream offset, from a base at
 * or just below the first unread byte; which offsets hold bytes is a sorted list of disjoint,
 * non-adjacent ranges, so overlaps are trimmed and neighbours merge on insert, and a receive costs
 * a binary search plus the ranges it touches plus its bytes. The array grows on demand to twice
 * the span it must address and slides down when the reader has freed half of it: memory follows
 * the data actually held (an idle stream holds little), stays below about twice the window,
 * and does not depend on how the peer cuts its segments. Each byte is copied once in and once out.
 *
 * **Records.** A record end is a bit on the record's last byte, in a bitmap beside the bytes, so
 * it is kept when it arrives before those bytes, costs O(1) to add, and at most one exists per
 * byte. Records are the spans between record ends: a record end repeated at the same offset, by a
 * retransmission or by a zero-length segment, is the same record end. The FIN ends the last record
 * too, as SST's close flag does, so a stream that finishes without a final record end still
 * delivers its tail to {@link ReceiveBuffer.readRecord}.
 *
 * **Empty records.** Without a record number on the wire, a second record end at the same offset
 * cannot be told from a retransmitted one, so an empty record can only be represented at offset
 * 0: a zero-length segment with `recordEnd` at offset 0 makes the first record empty. It must
 * arrive before the reader consumes any byte (the sender sends it first), and with or before a
 * FIN at offset 0; one arriving later is ignored, so that nothing appears after the end.
 *
 * **Mixing reads.** `readData` and `readRecord` can be mixed, record by record: `readData` never
 * returns bytes past a record end, a record whose last byte it returns is consumed, and
 * `readRecord` after a partial `readData` returns the rest of the current record.
 */
export class ReceiveBuffer {
  readonly #maxOutOfOrderRanges: number;
  #window: number;
  // Stream offset `o` is stored at index `o - #base` of #bytes, and its record-end bit at bit
  // `o - #base` of #recordEnds. #base is a multiple of 32 so that bitmap words move whole.
  #bytes = NO_BYTES;
  #recordEnds = NO_WORDS;
  #base = 0;
  // Received, unconsumed bytes: ranges [#starts[k], #ends[k]), ascending, disjoint and never
  // adjacent. The first starts at #consumed when bytes are readable.
  #starts: number[] = [];
  #ends: number[] = [];
  #consumed = 0;
  #buffered = 0;
  // Record-end bits on readable bytes, [#consumed, readable end): the complete records, kept up
  // to date as bytes become readable and records are consumed, so that pendingRecords is O(1).
  #completeRecords = 0;
  // Record-end bits at or beyond the readable end: a stream of bytes without records has none,
  // and its reads and receives then skip the bitmap.
  #recordEndsAhead = 0;
  // The bytes `[#consumed, #consumed + length)`, the one range held, when they are kept as they
  // arrived (see `owned` in receive) rather than in #bytes.
  #direct: Uint8Array | undefined;
  #emptyFirstRecord: 'absent' | 'pending' | 'read' = 'absent';
  #finalSize: number | undefined;
  // The highest end of a segment with bytes or a record end: a FIN below it is a contradiction.
  #highest = 0;
  #maxOffset: number;
  #advertisedOffset: number;

  constructor(options: ReceiveBufferOptions = {}) {
    this.#window = checkWindow('window', options.window ?? DEFAULT_WINDOW);
    const maxRanges = options.maxOutOfOrderRanges ?? DEFAULT_MAX_OUT_OF_ORDER_RANGES;
    if (!Number.isSafeInteger(maxRanges) || maxRanges < 1) {
      throw new InvalidParameterError(
        'maxOutOfOrderRanges',
        `must be a positive integer, got ${maxRanges}`,
      );
    }
    this.#maxOutOfOrderRanges = maxRanges;
    this.#maxOffset = this.#window;
    // The peer knows the initial window without being told, as if it had been advertised.
    this.#advertisedOffset = this.#maxOffset;
  }

  /**
   * Takes in one segment: `data` at stream offset `offset`; `recordEnd` when a record ends at
   * `offset + data.length`; `fin` when the stream's final size is `offset + data.length`. The
   * bytes kept are copied, so `data` may be a view into a packet buffer that is reused at once;
   * unless `owned`, which promises that nobody changes `data` afterwards: then the bytes of a
   * segment that arrives in order into an empty buffer (the usual case of a reader that keeps up)
   * are kept as they are, and a read hands out a view of them, with no copy in and none out.
   *
   * Checks come before any change, so a segment refused as `flow-control` or `final-size` changes
   * nothing; flow control is checked first.
   *
   * @throws {InvalidParameterError} when `offset` is not a non-negative integer: a decoder's
   *   bug, since a varint cannot be anything else.
   */
  receive(
    offset: number,
    data: Uint8Array,
    recordEnd: boolean,
    fin: boolean,
    owned = false,
  ): ReceiveOutcome {
    if (!Number.isInteger(offset) || offset < 0) {
      throw new InvalidParameterError('offset', `must be a non-negative integer, got ${offset}`);
    }
    const end = offset + data.length;
    if (end > this.#maxOffset) return 'flow-control';
    const finalSize = this.#finalSize;
    if (
      finalSize !== undefined
        ? end > finalSize || (fin && end !== finalSize)
        : fin && end < this.#highest
    ) {
      return 'final-size';
    }
    if (this.#direct !== undefined) this.#copyDirect();
    if (owned && this.#takesDirect(offset, data, recordEnd || fin)) return 'ok';
    const from = Math.max(offset, this.#consumed);
    let changed = false;
    if (from < end) {
      const first = this.#firstRangeEndingAtOrAfter(from);
      const after = this.#firstRangeStartingAfter(end);
      // Touching no range and not readable: the segment would be a new out-of-order range.
      if (
        first === after &&
        from > this.#consumed &&
        this.#outOfOrderRanges >= this.#maxOutOfOrderRanges
      ) {
        return 'flow-control';
      }
      changed = this.#store(offset, data, from, end, first, after);
    }
    if (recordEnd) changed = this.#markRecordEnd(end) || changed;
    if (fin && finalSize === undefined) {
      this.#finalSize = end;
      // The FIN ends the last record; at offset 0 there is no record to end.
      if (end > 0) this.#markRecordEnd(end);
      changed = true;
    }
    if (data.length > 0 || recordEnd) this.#highest = Math.max(this.#highest, end);
    return changed ? 'ok' : 'duplicate';
  }

  /** Bytes readable now: the contiguous bytes from the read position, across record ends. */
  get available(): number {
    return this.#readableEnd - this.#consumed;
  }

  /** Bytes held: readable and out-of-order ones. Never more than `maxOffset - consumed`. */
  get buffered(): number {
    return this.#buffered;
  }

  /**
   * Reads up to `max` readable bytes (default: all), never past a record end: SST never merges
   * data across a record boundary. A record whose last byte this returns is consumed, so a
   * following {@link ReceiveBuffer.readRecord} starts at the next record. An empty record at the
   * read position holds no bytes and is passed over, so that a reader of bytes only still
   * reaches {@link ReceiveBuffer.atEnd}. Returns an empty array when no byte is readable. The
   * bytes may be a view of a larger buffer: of a segment that was kept as it came (see `owned`).
   *
   * @throws {InvalidParameterError} when `max` is not a non-negative integer.
   */
  readData(max?: number): Uint8Array {
    const limit = checkMax(max);
    if (this.#emptyFirstRecord === 'pending') this.#emptyFirstRecord = 'read';
    const readable = Math.min(limit, this.available);
    if (readable === 0) return new Uint8Array(0);
    const last = this.#completeRecords === 0 ? -1 : this.#firstRecordEnd(this.#consumed + readable);
    const size = last === -1 ? readable : last + 1 - this.#consumed;
    return this.#take(size, size);
  }

  /**
   * Reads one whole record once it has fully arrived: its record end (or the FIN) and every byte
   * before it. Returns at most `max` bytes (default: all); the rest of the record is discarded, as
   * the record is consumed whole. After a partial {@link ReceiveBuffer.readData} it returns the
   * rest of the current record. Returns undefined when no record is complete, and an empty array
   * for an empty record.
   *
   * A reader of whole records needs records of at most half the window. A record larger than the
   * window never completes; one larger than half of it may wait for ever, since the window update
   * that lets the peer send its rest is due only after half a window has been consumed. Read such
   * streams with `readData`.
   *
   * @throws {InvalidParameterError} when `max` is not a non-negative integer.
   */
  readRecord(max?: number): Uint8Array | undefined {
    const limit = checkMax(max);
    if (this.#emptyFirstRecord === 'pending') {
      this.#emptyFirstRecord = 'read';
      return new Uint8Array(0);
    }
    if (this.#completeRecords === 0) return undefined;
    const last = this.#firstRecordEnd(this.#readableEnd);
    const size = last + 1 - this.#consumed;
    return this.#take(size, Math.min(size, limit));
  }

  /** Complete records waiting to be read: their end and every byte before it have arrived. */
  get pendingRecords(): number {
    return this.#completeRecords + (this.#emptyFirstRecord === 'pending' ? 1 : 0);
  }

  /**
   * The size of the next complete record, or -1 if none is complete. After a partial
   * {@link ReceiveBuffer.readData}, the size of what is left of the current record.
   */
  get pendingRecordSize(): number {
    if (this.#emptyFirstRecord === 'pending') return 0;
    if (this.#completeRecords === 0) return -1;
    return this.#firstRecordEnd(this.#readableEnd) + 1 - this.#consumed;
  }

  /** True once the FIN has arrived and everything before it has been consumed. */
  get atEnd(): boolean {
    return this.#finalSize === this.#consumed && this.#emptyFirstRecord !== 'pending';
  }

  /**
   * The peer may send bytes below this offset: the bytes consumed plus the window. It never goes
   * down, not even when the window shrinks: the peer may already be sending up to it.
   */
  get maxOffset(): number {
    return this.#maxOffset;
  }

  /** The receive window, bytes. */
  get window(): number {
    return this.#window;
  }

  /**
   * Sets the receive window. Growing it raises {@link ReceiveBuffer.maxOffset} at once.
   * Shrinking it never lowers `maxOffset`, which was perhaps advertised already: the smaller window
   * applies as the reader consumes past it.
   *
   * @throws {InvalidParameterError} when `bytes` is not a positive integer up to 2^30.
   */
  setWindow(bytes: number): void {
    this.#window = checkWindow('bytes', bytes);
    this.#raiseMaxOffset();
  }

  /**
   * True when the buffered bytes fill the window: the peer cannot send more until the
   * application reads.
   */
  get blocked(): boolean {
    return this.#buffered >= this.#window;
  }

  /**
   * Whether a window update should be sent: {@link ReceiveBuffer.maxOffset} has grown by at least
   * half a window since the last advertised value, and the FIN has not arrived (the peer needs no
   * room beyond the final size). Call {@link ReceiveBuffer.advertised} after sending one.
   */
  get windowUpdateDue(): boolean {
    return (
      this.#finalSize === undefined && this.#maxOffset - this.#advertisedOffset >= this.#window / 2
    );
  }

  /**
   * Returns the {@link ReceiveBuffer.maxOffset} to advertise and records it as advertised. The
   * values returned never go down.
   */
  advertised(): number {
    this.#advertisedOffset = this.#maxOffset;
    return this.#advertisedOffset;
  }

  /** One past the last readable byte: the end of the first range if it starts at the read position. */
  get #readableEnd(): number {
    return this.#starts[0] === this.#consumed ? (this.#ends[0] as number) : this.#consumed;
  }

  get #outOfOrderRanges(): number {
    return this.#starts.length - (this.#starts[0] === this.#consumed ? 1 : 0);
  }

  /**
   * Copies the bytes of `[from, end)` that no range holds yet, merges the ranges it touches
   * (indices `[first, after)`) with it, and counts the record ends that became readable. Returns
   * whether any byte was new.
   */
  #store(
    offset: number,
    data: Uint8Array,
    from: number,
    end: number,
    first: number,
    after: number,
  ): boolean {
    this.#reserve(end);
    const readableBefore = this.#readableEnd;
    let added = 0;
    let at = from;
    for (let k = first; k < after && at < end; k++) {
      const gapEnd = Math.min(this.#starts[k] as number, end);
      if (gapEnd > at) {
        // The first copy wins: a peer resending different bytes cannot change what is held.
        this.#bytes.set(data.subarray(at - offset, gapEnd - offset), at - this.#base);
        added += gapEnd - at;
      }
      at = Math.max(at, this.#ends[k] as number);
    }
    if (at < end) {
      const whole = at === offset && end === offset + data.length;
      this.#bytes.set(whole ? data : data.subarray(at - offset, end - offset), at - this.#base);
      added += end - at;
    }
    if (added === 0) return false;
    const start = first < after ? Math.min(from, this.#starts[first] as number) : from;
    const stop = first < after ? Math.max(end, this.#ends[after - 1] as number) : end;
    // The usual cases, a segment extending one range or starting the last: no splice, which
    // would allocate.
    if (after - first === 1) {
      this.#starts[first] = start;
      this.#ends[first] = stop;
    } else if (after === first && first === this.#starts.length) {
      this.#starts.push(start);
      this.#ends.push(stop);
    } else {
      this.#starts.splice(first, after - first, start);
      this.#ends.splice(first, after - first, stop);
    }
    this.#buffered += added;
    const readableAfter = this.#readableEnd;
    if (readableAfter > readableBefore && this.#recordEndsAhead > 0) {
      const ended = countBits(
        this.#recordEnds,
        readableBefore - this.#base,
        readableAfter - this.#base,
      );
      this.#completeRecords += ended;
      this.#recordEndsAhead -= ended;
    }
    return true;
  }

  /**
   * Keeps `data` itself when it is the next byte on and nothing else is held: no byte, no record
   * end ahead; with a record end or the FIN of its own it goes the usual way.
   */
  #takesDirect(offset: number, data: Uint8Array, marks: boolean): boolean {
    if (marks || data.length === 0 || offset !== this.#consumed) return false;
    if (this.#starts.length > 0 || this.#recordEndsAhead > 0) return false;
    const end = offset + data.length;
    this.#direct = data;
    this.#starts.push(offset);
    this.#ends.push(end);
    this.#buffered += data.length;
    this.#highest = Math.max(this.#highest, end);
    return true;
  }

  /** Moves the bytes held as they came into storage, before anything else is done to it. */
  #copyDirect(): void {
    const direct = this.#direct as Uint8Array;
    this.#direct = undefined;
    this.#reserve(this.#consumed + direct.length);
    this.#bytes.set(direct, this.#consumed - this.#base);
  }

  /** Records that a record ends at `end`; returns whether that was new. */
  #markRecordEnd(end: number): boolean {
    if (end === 0) {
      const late = this.#consumed > 0 || this.#finalSize === 0;
      if (late || this.#emptyFirstRecord !== 'absent') return false;
      this.#emptyFirstRecord = 'pending';
      return true;
    }
    const last = end - 1;
    // Its last byte is consumed: so is the record, by readData. Nothing is left to mark.
    if (last < this.#consumed) return false;
    this.#reserve(end);
    const index = last - this.#base;
    if (hasBit(this.#recordEnds, index)) return false;
    setBit(this.#recordEnds, index);
    if (last < this.#readableEnd) this.#completeRecords++;
    else this.#recordEndsAhead++;
    return true;
  }

  /** Offset of the first byte in `[consumed, to)` that ends a record, or -1. */
  #firstRecordEnd(to: number): number {
    const index = firstBit(this.#recordEnds, this.#consumed - this.#base, to - this.#base);
    return index === -1 ? -1 : this.#base + index;
  }

  /** Consumes `size` readable bytes, none but the last ending a record; returns the first `keep`. */
  #take(size: number, keep: number): Uint8Array {
    const direct = this.#direct;
    let out: Uint8Array;
    if (direct === undefined) {
      const index = this.#consumed - this.#base;
      out = this.#bytes.slice(index, index + keep);
    } else {
      out = keep === direct.length ? direct : direct.subarray(0, keep);
      this.#direct = size === direct.length ? undefined : direct.subarray(size);
    }
    this.#consumed += size;
    this.#buffered -= size;
    if (this.#consumed === this.#ends[0]) {
      this.#starts.shift();
      this.#ends.shift();
    } else {
      this.#starts[0] = this.#consumed;
    }
    // The bit stays: bits below the read position are never read again.
    if (hasBit(this.#recordEnds, this.#consumed - 1 - this.#base)) this.#completeRecords--;
    this.#raiseMaxOffset();
    return out;
  }

  #raiseMaxOffset(): void {
    this.#maxOffset = Math.max(this.#maxOffset, this.#consumed + this.#window);
  }

  /** Makes stream offsets `[consumed, limit)` addressable in storage. */
  #reserve(limit: number): void {
    if (limit - this.#base <= this.#bytes.length) return;
    const start = this.#consumed - (this.#consumed % BITS_PER_WORD);
    const span = limit - start;
    const shift = start - this.#base;
    const dataEnd = (this.#ends[this.#ends.length - 1] ?? start) - this.#base;
    if (2 * span <= this.#bytes.length) {
      // Sliding down only when half the storage is free keeps the copying amortised O(1) a byte.
      this.#bytes.copyWithin(0, shift, dataEnd);
      this.#recordEnds.copyWithin(0, shift / BITS_PER_WORD);
      this.#recordEnds.fill(0, this.#recordEnds.length - shift / BITS_PER_WORD);
    } else {
      const size = Math.ceil((2 * span) / BITS_PER_WORD) * BITS_PER_WORD;
      const bytes = new Uint8Array(size);
      const recordEnds = new Uint32Array(size / BITS_PER_WORD);
      // A stream's first storage has nothing to carry over, and views of nothing cost as much.
      if (this.#bytes.length > 0) {
        bytes.set(this.#bytes.subarray(shift, dataEnd));
        recordEnds.set(this.#recordEnds.subarray(shift / BITS_PER_WORD));
      }
      this.#bytes = bytes;
      this.#recordEnds = recordEnds;
    }
    this.#base = start;
  }

  /** Index of the first range with end >= x (touching or holding x), or the number of ranges. */
  #firstRangeEndingAtOrAfter(x: number): number {
    let lo = 0;
    let hi = this.#ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#ends[mid] as number) >= x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Index of the first range with start > x, or the number of ranges. */
  #firstRangeStartingAfter(x: number): number {
    let lo = 0;
    let hi = this.#starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#starts[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

function checkWindow(parameter: string, bytes: number): number {
  checkPositive(parameter, bytes);
  if (!Number.isInteger(bytes) || bytes > MAX_WINDOW) {
    throw new InvalidParameterError(
      parameter,
      `must be an integer up to ${MAX_WINDOW}, got ${bytes}`,
    );
  }
  return bytes;
}

function checkMax(max: number | undefined): number {
  if (max === undefined) return Infinity;
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new InvalidParameterError('max', `must be a non-negative integer, got ${max}`);
  }
  return max;
}

// Bitmaps: bit i is bit (i % 32) of word (i / 32). Bits beyond the array read as clear.

function hasBit(words: Uint32Array, i: number): boolean {
  if (i < 0 || i >= words.length * BITS_PER_WORD) return false;
  return ((words[i >>> 5] as number) & (1 << (i & 31))) !== 0;
}

function setBit(words: Uint32Array, i: number): void {
  words[i >>> 5] = (words[i >>> 5] as number) | (1 << (i & 31));
}

/** Index of the first set bit in `[from, to)`, or -1. Costs one step per word scanned. */
function firstBit(words: Uint32Array, from: number, to: number): number {
  const stop = Math.min(to, words.length * BITS_PER_WORD);
  for (let i = from; i < stop;) {
    const w = i >>> 5;
    const word = (words[w] as number) >>> (i & 31);
    if (word !== 0) {
      const found = i + 31 - Math.clz32(word & -word);
      return found < stop ? found : -1;
    }
    i = (w + 1) * BITS_PER_WORD;
  }
  return -1;
}

/** Number of set bits in `[from, to)`. */
function countBits(words: Uint32Array, from: number, to: number): number {
  const stop = Math.min(to, words.length * BITS_PER_WORD);
  let count = 0;
  for (let i = from; i < stop;) {
    const w = i >>> 5;
    const next = (w + 1) * BITS_PER_WORD;
    const n = Math.min(next, stop) - i;
    let word = (words[w] as number) >>> (i & 31);
    if (n < 32) word &= (1 << n) - 1;
    count += popcount(word);
    i = next;
  }
  return count;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}
