import { InvalidParameterError, checkPositive } from '../net/errors.js';
import { StreamClosedError } from './errors.js';

const DEFAULT_HIGH_WATER_MARK = 1 << 20;
// Four 64 KiB datagrams' worth: a segment of a bulk stream spans two chunks, and is copied, once
// in four rather than nearly always.
const DEFAULT_CHUNK_SIZE = 256 * 1024;
// Later chunks are at least this large, so that a chatty stream does not hold many tiny ones;
// V8 keeps typed arrays up to 64 bytes in its heap, where they cost a tenth of one outside it.
const MIN_CHUNK_SIZE = 64;
const NO_DATA = new Uint8Array(0);

/**
 * One piece of a stream to put in a packet: bytes at a stream offset, and the markers (a record
 * end, the FIN) that lie at its end.
 *
 * Record ends and the FIN are numbered together as *markers*, in stream order: record `r` ends at
 * marker `r`, and the FIN, if any, is the marker after the last record end. A segment carries at
 * most one record end, plus the FIN when it lies at the same offset, so each empty record (a record
 * end at the same offset as the one before) travels in a zero-length segment of its own. The
 * `record` number is what lets the receiver tell a new empty record from a retransmitted record
 * end, and data of a later record from data of an earlier one.
 */
export interface Segment {
  /** Stream offset of the first byte of `data` (for a zero-length segment, of its markers). */
  readonly offset: number;
  /**
   * The bytes, a view of the buffer's storage, or of a copy when they span two pieces of it: do
   * not modify it. Copy what you keep before the next {@link SendBuffer.nextSegment}: the copy is
   * reused then, and the storage once the bytes are acknowledged.
   */
  readonly data: Uint8Array;
  /**
   * The number of the record the data belongs to, counted from 0; for a zero-length segment, of the
   * record whose end it carries. With `recordEnd` false and `fin` true it is the number of records.
   */
  readonly record: number;
  /** Record `record` ends at `offset + data.length`, the end of this segment. */
  readonly recordEnd: boolean;
  /**
   * The stream ends at `offset + data.length` after `record + (recordEnd ? 1 : 0)` records: the
   * final offset and the number of records are both known.
   */
  readonly fin: boolean;
}

/** Options of a {@link SendBuffer}. */
export interface SendBufferOptions {
  /** Bytes held above which {@link SendBuffer.writable} is false. Default 1 MiB. */
  highWaterMark?: number;
  /**
   * Largest piece of storage, in bytes: memory is allocated and released in pieces of at most this
   * size. Default 256 KiB; tests use small values to exercise the seams.
   */
  chunkSize?: number;
}

/**
 * Sorted, disjoint, non-adjacent half-open integer ranges `[lo, hi)` in one flat array
 * `[lo0, hi0, lo1, hi1, ...]`. The sets here hold few ranges (one per gap in the acknowledgements or
 * per lost burst), so a binary search and a splice beat a tree.
 */
class RangeSet {
  #bounds: number[] = [];

  get isEmpty(): boolean {
    return this.#bounds.length === 0;
  }

  /** The lowest number held, or Infinity. */
  get low(): number {
    return this.#bounds[0] ?? Infinity;
  }

  /** The end of the range holding {@link RangeSet.low}, or Infinity. */
  get lowEnd(): number {
    return this.#bounds[1] ?? Infinity;
  }

  /** Every number below this is held: the end of a range starting at 0, else 0. */
  get prefix(): number {
    return this.#bounds[0] === 0 ? (this.#bounds[1] as number) : 0;
  }

  has(x: number): boolean {
    const i = this.#firstEndingAfter(x);
    return i < this.#bounds.length && (this.#bounds[i] as number) <= x;
  }

  /** Adds `[lo, hi)`; returns how many of its numbers were not held before. */
  add(lo: number, hi: number): number {
    if (lo >= hi) return 0;
    const b = this.#bounds;
    // From lo - 1, so that a range ending exactly at lo merges.
    const i = this.#firstEndingAfter(lo - 1);
    let j = i;
    let held = 0;
    let low = lo;
    let high = hi;
    for (; j < b.length && (b[j] as number) <= hi; j += 2) {
      const rangeLo = b[j] as number;
      const rangeHi = b[j + 1] as number;
      held += Math.max(0, Math.min(hi, rangeHi) - Math.max(lo, rangeLo));
      low = Math.min(low, rangeLo);
      high = Math.max(high, rangeHi);
    }
    // Growing one range, or adding one at the end, is the usual case (an acknowledgement
    // extends the prefix): no splice, which would allocate.
    if (j - i === 2) {
      b[i] = low;
      b[i + 1] = high;
    } else if (j === i && i === b.length) {
      b.push(low, high);
    } else {
      b.splice(i, j - i, low, high);
    }
    return hi - lo - held;
  }

  /** Removes `[lo, hi)`. */
  remove(lo: number, hi: number): void {
    if (lo >= hi) return;
    const b = this.#bounds;
    const i = this.#firstEndingAfter(lo);
    let j = i;
    while (j < b.length && (b[j] as number) < hi) j += 2;
    if (j === i) return;
    const keepLow = Math.min(b[i] as number, lo);
    const keepHigh = Math.max(b[j - 1] as number, hi);
    if (keepLow < lo && hi < keepHigh) b.splice(i, j - i, keepLow, lo, hi, keepHigh);
    else if (keepLow < lo) b.splice(i, j - i, keepLow, lo);
    else if (hi < keepHigh) b.splice(i, j - i, hi, keepHigh);
    else b.splice(i, j - i);
  }

  /** Adds the numbers of `[lo, hi)` that `except` does not hold. */
  addExcept(lo: number, hi: number, except: RangeSet): void {
    const e = except.#bounds;
    let from = lo;
    for (let i = except.#firstEndingAfter(lo); i < e.length && from < hi; i += 2) {
      this.add(from, Math.min(hi, e[i] as number));
      from = Math.max(from, e[i + 1] as number);
    }
    this.add(from, hi);
  }

  /** Index in the flat array of the first range with hi > x, or the array's length. */
  #firstEndingAfter(x: number): number {
    let lo = 0;
    let hi = this.#bounds.length >> 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#bounds[2 * mid + 1] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return 2 * lo;
  }
}

/**
 * A queue whose front is dropped in amortised O(1): the dead prefix is cut off only once it is half
 * the array, so a long stream keeps neither its history nor a growing array.
 */
class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  at(i: number): T {
    return this.#items[this.#head + i] as T;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): void {
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 32 && 2 * this.#head >= this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** The number of items from the front for which `before` holds; it must hold for a prefix. */
  countWhile(before: (item: T) => boolean): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(this.at(mid))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Storage for the bytes from `base`; every chunk but the last is full. */
interface Chunk {
  readonly base: number;
  readonly bytes: Uint8Array;
}

/**
 * The sender half of one reliable stream, sans-IO: the application writes bytes, record ends and
 * the FIN; the stream layer asks for segments to send and reports which were acknowledged or lost.
 *
 * Everything is tracked by stream offset, never by segment, because a retransmission may be cut
 * differently from the original (the path MTU changes, a lost range joins its neighbours). Data
 * lives in chunks that are dropped whole once the acknowledged prefix passes them. Acknowledged
 * ranges above that prefix and lost ranges waiting to be resent are small sorted range sets, so
 * each call costs in proportion to the ranges it touches, not to the length of the stream.
 *
 * Record ends and the FIN are *markers* (see {@link Segment}), tracked by number like bytes are by
 * offset: unsent, in flight, lost, or acknowledged.
 */
export class SendBuffer {
  readonly #highWaterMark: number;
  readonly #chunkSize: number;
  readonly #chunks = new Fifo<Chunk>();
  /**
   * A full-size chunk the acknowledged prefix passed, kept for the next one while data is held:
   * a bulk stream then recycles its storage instead of allocating (and collecting) it chunk by
   * chunk. An idle stream, everything acknowledged, keeps none.
   */
  #spare: Uint8Array | undefined;
  /** Where bytes spanning two chunks are copied, reused from segment to segment. */
  #spanCopy: Uint8Array | undefined;
  // Offsets of the markers not yet forgotten; the first is marker number #marksForgotten.
  readonly #marks = new Fifo<number>();
  #marksForgotten = 0;
  #finMark = -1;
  #writeOffset = 0;
  // Bytes below #sent have been sent at least once; so have markers below #nextMark.
  #sent = 0;
  #nextMark = 0;
  readonly #ackedBytes = new RangeSet();
  readonly #lostBytes = new RangeSet();
  readonly #ackedMarks = new RangeSet();
  readonly #lostMarks = new RangeSet();
  #ackedTotal = 0;

  constructor(options: SendBufferOptions = {}) {
    this.#highWaterMark = checkPositive(
      'highWaterMark',
      options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
    );
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
      throw new InvalidParameterError('chunkSize', `must be a positive integer, got ${chunkSize}`);
    }
    this.#chunkSize = chunkSize;
  }

  /** Offset of the next byte the application writes: the number of bytes written. */
  get writeOffset(): number {
    return this.#writeOffset;
  }

  /** True once {@link SendBuffer.finish} was called. */
  get finished(): boolean {
    return this.#finMark >= 0;
  }

  /**
   * Bytes held in memory: written, and not yet below the acknowledged prefix. Bytes acknowledged
   * above a gap count too, because they cannot be freed until the gap is filled.
   */
  get buffered(): number {
    return this.#writeOffset - this.#ackedBytes.prefix;
  }

  /** True while {@link SendBuffer.buffered} is below the high-water mark: the application may write. */
  get writable(): boolean {
    return this.buffered < this.#highWaterMark;
  }

  /** Bytes written and never acknowledged: what a reset leaves undelivered. */
  get unacknowledged(): number {
    return this.#writeOffset - this.#ackedTotal;
  }

  /** One past the highest byte offset ever sent; flow control reports "blocked" at this offset. */
  get sentOffset(): number {
    return this.#sent;
  }

  /**
   * Bytes written and never sent, when they are all that waits: nothing lost waits to be resent
   * and no record end or FIN waits to be sent; -1 otherwise. A sender may hold such a tail back
   * to fill a packet with it later, where a marker or a loss must go at once.
   */
  get unsentTail(): number {
    if (!this.#lostBytes.isEmpty || !this.#lostMarks.isEmpty) return -1;
    if (this.#nextMark < this.#markCount) return -1;
    return this.#writeOffset - this.#sent;
  }

  /** True when the stream is finished and every byte, record end and the FIN is acknowledged. */
  get allAcked(): boolean {
    return (
      this.finished &&
      this.#ackedBytes.prefix === this.#writeOffset &&
      this.#ackedMarks.prefix === this.#markCount
    );
  }

  /** Pieces of storage held; for tests and diagnostics of memory release. */
  get chunkCount(): number {
    return this.#chunks.length;
  }

  /**
   * Appends `bytes` to the stream. They are copied, so the application may reuse its buffer.
   * @throws {StreamClosedError} after {@link SendBuffer.finish}.
   */
  write(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) {
      throw new InvalidParameterError('bytes', 'must be a Uint8Array');
    }
    this.#checkOpen();
    let from = 0;
    while (from < bytes.length) {
      let tail = this.#chunks.length > 0 ? this.#chunks.at(this.#chunks.length - 1) : undefined;
      let room = tail === undefined ? 0 : tail.base + tail.bytes.length - this.#writeOffset;
      if (tail === undefined || room === 0) {
        tail = this.#newChunk(bytes.length - from);
        room = tail.bytes.length;
      }
      const n = Math.min(room, bytes.length - from);
      tail.bytes.set(bytes.subarray(from, from + n), this.#writeOffset - tail.base);
      from += n;
      this.#writeOffset += n;
    }
  }

  /**
   * Ends a record at the current write offset. Calling it again at the same offset makes an empty
   * record, which is sent as a zero-length segment.
   * @throws {StreamClosedError} after {@link SendBuffer.finish}.
   */
  endRecord(): void {
    this.#checkOpen();
    this.#marks.push(this.#writeOffset);
  }

  /** Ends the stream at the current write offset. Calling it again does nothing. */
  finish(): void {
    if (this.finished) return;
    this.#finMark = this.#markCount;
    this.#marks.push(this.#writeOffset);
  }

  /**
   * True when {@link SendBuffer.nextSegment} would return a segment with this flow limit: there is
   * something lost to resend, new data below `flowLimit`, or a record end or FIN to send.
   */
  hasPending(flowLimit: number): boolean {
    checkFlowLimit(flowLimit);
    return (
      !this.#lostBytes.isEmpty ||
      !this.#lostMarks.isEmpty ||
      this.#newMarkReady() ||
      this.#sent < Math.min(this.#writeOffset, flowLimit)
    );
  }

  /**
   * The next segment to send, marked as in flight; undefined when there is none.
   *
   * Lost bytes and markers come first, lowest offset first, and are resent whatever `flowLimit` is:
   * the peer allowed them when they were first sent. Then new data, never at or beyond `flowLimit`.
   * A segment holds at most `maxBytes` bytes and never crosses a record end; it may end at one.
   *
   * @param maxBytes the most data bytes that fit in the packet; a positive integer.
   * @param flowLimit the peer's flow-control limit: new data stays below this offset.
   */
  nextSegment(maxBytes: number, flowLimit: number): Segment | undefined {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new InvalidParameterError('maxBytes', `must be a positive integer, got ${maxBytes}`);
    }
    checkFlowLimit(flowLimit);
    const lostByte = this.#lostBytes.low;
    const lostMark = this.#lostMarks.low;
    // On a tie the marker goes first: it ends records before the byte at the same offset.
    if (lostMark !== Infinity && this.#markOffset(lostMark) <= lostByte) {
      return this.#markerSegment(lostMark);
    }
    if (lostByte !== Infinity) {
      const end = Math.min(this.#lostBytes.lowEnd, lostByte + maxBytes);
      const segment = this.#dataSegment(lostByte, end);
      this.#lostBytes.remove(segment.offset, segment.offset + segment.data.length);
      return segment;
    }
    if (this.#newMarkReady()) return this.#markerSegment(this.#nextMark);
    const end = Math.min(this.#writeOffset, flowLimit, this.#sent + maxBytes);
    if (this.#sent >= end) return undefined;
    const segment = this.#dataSegment(this.#sent, end);
    this.#sent = segment.offset + segment.data.length;
    return segment;
  }

  /**
   * Records that a segment was acknowledged, by its original packet or by any retransmission.
   * Repeats and bytes already acknowledged are ignored.
   *
   * @param endedRecord the segment's `record` if its `recordEnd` was true; omit it otherwise.
   * @returns the number of bytes acknowledged for the first time.
   */
  onAcked(offset: number, length: number, fin: boolean, endedRecord?: number): number {
    this.#checkSent(offset, length, fin, endedRecord);
    const fresh = this.#ackedBytes.add(offset, offset + length);
    if (fresh > 0) {
      this.#ackedTotal += fresh;
      this.#lostBytes.remove(offset, offset + length);
    }
    if (endedRecord !== undefined) this.#ackMark(endedRecord);
    if (fin) this.#ackMark(this.#finMark);
    this.#release();
    return fresh;
  }

  /**
   * Records that a segment was lost: its bytes and markers not yet acknowledged are sent again.
   *
   * @param endedRecord the segment's `record` if its `recordEnd` was true; omit it otherwise.
   */
  onLost(offset: number, length: number, fin: boolean, endedRecord?: number): void {
    this.#checkSent(offset, length, fin, endedRecord);
    this.#lostBytes.addExcept(offset, offset + length, this.#ackedBytes);
    if (endedRecord !== undefined) this.#loseMark(endedRecord);
    if (fin) this.#loseMark(this.#finMark);
  }

  get #markCount(): number {
    return this.#marksForgotten + this.#marks.length;
  }

  #markOffset(mark: number): number {
    return this.#marks.at(mark - this.#marksForgotten);
  }

  /** The next unsent marker can go out on its own: every byte before it has been sent. */
  #newMarkReady(): boolean {
    return this.#nextMark < this.#markCount && this.#markOffset(this.#nextMark) === this.#sent;
  }

  /** The data `[offset, end)`, cut at the first record end or FIN inside it. */
  #dataSegment(offset: number, end: number): Segment {
    // Markers at `offset` end records before its byte: the data belongs to the record after them.
    const record = this.#marksForgotten + this.#marks.countWhile((at) => at <= offset);
    const markAt = record < this.#markCount ? this.#markOffset(record) : Infinity;
    end = Math.min(end, markAt);
    const data = this.#view(offset, end);
    return markAt === end
      ? this.#carrying(offset, data, record)
      : { offset, data, record, recordEnd: false, fin: false };
  }

  #markerSegment(mark: number): Segment {
    return this.#carrying(this.#markOffset(mark), NO_DATA, mark);
  }

  /** A segment ending with marker `mark`, and with the FIN too when it follows at the same offset. */
  #carrying(offset: number, data: Uint8Array, mark: number): Segment {
    this.#markSent(mark);
    if (mark === this.#finMark) return { offset, data, record: mark, recordEnd: false, fin: true };
    const fin = mark + 1 === this.#finMark && this.#markOffset(mark + 1) === offset + data.length;
    if (fin) this.#markSent(mark + 1);
    return { offset, data, record: mark, recordEnd: true, fin };
  }

  #markSent(mark: number): void {
    // Only the next unsent marker can be reached: data never passes an unsent marker.
    if (mark >= this.#nextMark) this.#nextMark = mark + 1;
    else this.#lostMarks.remove(mark, mark + 1);
  }

  #ackMark(mark: number): void {
    if (this.#ackedMarks.add(mark, mark + 1) > 0) this.#lostMarks.remove(mark, mark + 1);
  }

  #loseMark(mark: number): void {
    if (!this.#ackedMarks.has(mark)) this.#lostMarks.add(mark, mark + 1);
  }

  /** The bytes `[from, to)`: a view of one chunk, or of a copy when they span two or more. */
  #view(from: number, to: number): Uint8Array {
    let i = this.#chunks.length === 1 ? 0 : this.#chunks.countWhile((c) => c.base <= from) - 1;
    let chunk = this.#chunks.at(i);
    if (to <= chunk.base + chunk.bytes.length) {
      // The whole chunk as it is: a view of an array kept in V8's heap would first move it out.
      if (from === chunk.base && to === chunk.base + chunk.bytes.length) return chunk.bytes;
      return chunk.bytes.subarray(from - chunk.base, to - chunk.base);
    }
    if (this.#spanCopy === undefined || this.#spanCopy.length < to - from) {
      this.#spanCopy = new Uint8Array(to - from);
    }
    const copy = this.#spanCopy.subarray(0, to - from);
    for (let at = from; at < to; chunk = this.#chunks.at(++i)) {
      const piece = chunk.bytes.subarray(
        at - chunk.base,
        Math.min(to, chunk.base + chunk.bytes.length) - chunk.base,
      );
      copy.set(piece, at - from);
      at += piece.length;
    }
    return copy;
  }

  #newChunk(wanted: number): Chunk {
    // Sized by what is already held: a bulk stream gets few large chunks, a chatty one small ones.
    // A short message alone gets a chunk of its size: an idle stream holding it costs little, and
    // its segment is the whole chunk, not a view (which would move an array out of V8's heap).
    const size = Math.min(
      this.#chunkSize,
      this.#chunks.length === 0 ? wanted : Math.max(MIN_CHUNK_SIZE, wanted, this.buffered),
    );
    const spare = this.#spare;
    this.#spare = undefined;
    // Every byte of a chunk is written before it is read, so old contents never show.
    const bytes = spare !== undefined && size === spare.length ? spare : new Uint8Array(size);
    const chunk = { base: this.#writeOffset, bytes };
    this.#chunks.push(chunk);
    return chunk;
  }

  /** Drops the chunks and markers the acknowledged prefix has passed. */
  #release(): void {
    const acked = this.#ackedBytes.prefix;
    while (this.#chunks.length > 0) {
      const chunk = this.#chunks.at(0);
      if (Math.min(chunk.base + chunk.bytes.length, this.#writeOffset) > acked) break;
      this.#chunks.shift();
      if (chunk.bytes.length === this.#chunkSize) this.#spare = chunk.bytes;
    }
    if (this.buffered === 0) {
      this.#spare = undefined;
      this.#spanCopy = undefined;
    }
    const ackedMarks = this.#ackedMarks.prefix;
    while (
      this.#marks.length > 0 &&
      this.#marksForgotten < ackedMarks &&
      this.#marks.at(0) <= acked
    ) {
      this.#marks.shift();
      this.#marksForgotten++;
    }
  }

  #checkOpen(): void {
    if (this.finished) throw new StreamClosedError('write');
  }

  /** A report of acknowledgement or loss must describe a segment this buffer handed out. */
  #checkSent(offset: number, length: number, fin: boolean, endedRecord: number | undefined): void {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new InvalidParameterError('offset', `must be a non-negative integer, got ${offset}`);
    }
    if (!Number.isSafeInteger(length) || length < 0 || offset + length > this.#sent) {
      throw new InvalidParameterError(
        'length',
        `must be a non-negative integer ending at or below the sent offset ${this.#sent}, got ${length}`,
      );
    }
    if (
      endedRecord !== undefined &&
      !(
        Number.isSafeInteger(endedRecord) &&
        endedRecord >= 0 &&
        endedRecord < this.#nextMark &&
        endedRecord !== this.#finMark
      )
    ) {
      throw new InvalidParameterError(
        'endedRecord',
        `must be the number of a record end already sent, got ${endedRecord}`,
      );
    }
    if (fin && !(this.finished && this.#finMark < this.#nextMark)) {
      throw new InvalidParameterError('fin', 'the FIN has not been sent');
    }
  }
}

function checkFlowLimit(flowLimit: number): void {
  if (!(flowLimit >= 0) || !(Number.isSafeInteger(flowLimit) || flowLimit === Infinity)) {
    throw new InvalidParameterError(
      'flowLimit',
      `must be a non-negative integer or Infinity, got ${flowLimit}`,
    );
  }
}
