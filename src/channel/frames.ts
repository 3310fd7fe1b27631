/**
 * Frames: the contents of a transport packet's decrypted payload, one after another
 * (docs/PROTOCOL.md §4). Every frame starts with its type as a varint (RFC 9000 §12.4).
 *
 * Writers put one frame into a caller's buffer at an offset and return the offset after it, or
 * {@link NO_ROOM} when the frame does not fit (nothing is written then); they throw only on
 * application misuse. {@link decodeFrames} walks a payload and hands each frame to a
 * {@link FrameVisitor}; malformed input is reported in its result, never thrown.
 *
 * Frame types 0x08–0x1f are reserved for the stream frames of the streams milestone. The decoder
 * gives them to {@link FrameVisitor.onExtension}, so that layer adds its frames without touching
 * this file; without a handler they are unknown frames, a protocol error.
 *
 * @module
 */
import { InvalidParameterError } from '../net/errors.js';
import {
  checkVarint,
  encodedLength,
  readVarint,
  VARINT_INVALID,
  writeVarint,
  type Cursor,
} from './varint.js';

/** Frame types of the channel layer. */
export const FrameType = {
  padding: 0x00,
  ping: 0x01,
  ack: 0x02,
  close: 0x03,
  pathChallenge: 0x04,
  pathResponse: 0x05,
} as const;

/** First frame type reserved for stream frames (streams milestone). */
export const STREAM_FRAME_TYPE_FIRST = 0x08;
/** Last frame type reserved for stream frames (streams milestone). */
export const STREAM_FRAME_TYPE_LAST = 0x1f;

/**
 * Error codes carried by CLOSE frames. The channel closes with one of these when the peer breaks
 * the protocol; codes from the peer outside this table are passed on as numbers.
 */
export const ChannelErrorCode = {
  /** Orderly close, no error. */
  noError: 0,
  /** The peer broke a rule that no more specific code covers, or sent a packet with no frames. */
  protocolViolation: 1,
  /** A frame did not decode, or its type is unknown (as in RFC 9000 §12.4). */
  frameEncoding: 2,
  /** This implementation failed; not the peer's fault. */
  internal: 3,
  /** The application closed the channel; the reason says why. */
  application: 4,
} as const;
export type ChannelErrorCode = (typeof ChannelErrorCode)[keyof typeof ChannelErrorCode];

/** What writers return when the frame does not fit in the buffer. */
export const NO_ROOM = -1;
/** Length of the data of PATH_CHALLENGE and PATH_RESPONSE. */
export const PATH_DATA_BYTES = 8;
/** Longest CLOSE reason, in bytes of UTF-8. */
export const MAX_CLOSE_REASON_BYTES = 1024;
/**
 * Most ranges in one ACK frame. Older ranges beyond it are left out on encoding (RFC 9000
 * §13.2.4 lets a receiver bound them) and a frame with more is malformed, so that one hostile
 * packet cannot make the decoder hold thousands of ranges.
 */
export const MAX_ACK_RANGES = 256;

/** An inclusive range of packet numbers, `[low, high]` with `low <= high`. */
export type AckRange = readonly [low: number, high: number];

/** A decoded ACK frame. */
export interface AckFrame {
  /** Microseconds the receiver held the acknowledgement of the largest packet before sending. */
  readonly ackDelay: number;
  /**
   * Acknowledged packet numbers, highest range first, at least one range; `ranges[0][1]` is the
   * largest acknowledged. Ranges are disjoint and never adjacent.
   */
  readonly ranges: readonly AckRange[];
}

/** How an extension handler's frame turned out. */
export type ExtensionOutcome = 'decoded' | 'malformed' | 'unknown';

/**
 * Receives the frames of one payload, in order. The channel implements it once; decoding then
 * allocates nothing per PING or ACK frame. Arguments are views into the decoder's state or the
 * payload, valid only during the call: copy what you keep.
 */
export interface FrameVisitor {
  onPing(): void;
  /** The frame object and its ranges are reused by the next ACK decoded. */
  onAck(frame: AckFrame): void;
  /** `reason` is UTF-8 as sent (see {@link decodeCloseReason}). */
  onClose(errorCode: number, reason: Uint8Array): void;
  onPathChallenge(data: Uint8Array): void;
  onPathResponse(data: Uint8Array): void;
  /**
   * A frame of a reserved type (0x08–0x1f). `cursor.offset` is just past the frame type; the
   * handler reads the frame's fields (with {@link readVarint}), leaves the cursor at the end of
   * the frame and returns `decoded`. It returns `malformed` when the frame does not decode and
   * `unknown` for a type it does not handle. Absent: every reserved type is unknown.
   */
  onExtension?(frameType: number, payload: Uint8Array, cursor: Cursor): ExtensionOutcome;
}

/** Why a payload was rejected. */
export type FrameDecodeFailure = 'empty' | 'malformed' | 'unknown';

/** The outcome of {@link decodeFrames}. */
export type FrameDecodeResult =
  | {
      readonly ok: true;
      /** Whether any frame asks for an acknowledgement (RFC 9002 §2). */
      readonly ackEliciting: boolean;
    }
  | {
      readonly ok: false;
      readonly failure: FrameDecodeFailure;
      /** The {@link ChannelErrorCode} to close the channel with. */
      readonly errorCode: ChannelErrorCode;
      /** Type of the offending frame; -1 when there is none or it did not decode. */
      readonly frameType: number;
      /** Offset of the offending frame in the payload. */
      readonly offset: number;
    };

/**
 * Whether a frame of this type asks the receiver for an acknowledgement: every type but
 * PADDING, ACK and CLOSE (RFC 9002 §2), so reserved stream types are ack-eliciting.
 */
export function isAckEliciting(frameType: number): boolean {
  return (
    frameType !== FrameType.padding && frameType !== FrameType.ack && frameType !== FrameType.close
  );
}

// --- Writers -------------------------------------------------------------------------------

/** Writes `count` PADDING frames (zero bytes). */
export function writePadding(out: Uint8Array, offset: number, count: number): number {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new InvalidParameterError('count', `must be a non-negative integer, got ${count}`);
  }
  if (!fits(out, offset, count)) return NO_ROOM;
  out.fill(0, offset, offset + count);
  return offset + count;
}

/** Writes a PING frame: one byte, ack-eliciting, no content. */
export function writePingFrame(out: Uint8Array, offset: number): number {
  if (!fits(out, offset, 1)) return NO_ROOM;
  out[offset] = FrameType.ping;
  return offset + 1;
}

/**
 * Length of the ACK frame {@link writeAckFrame} writes for these arguments.
 * @throws InvalidParameterError as {@link writeAckFrame} does.
 */
export function ackFrameLength(
  ranges: readonly AckRange[],
  ackDelay: number,
  maxRanges = MAX_ACK_RANGES,
): number {
  const count = rangesToEncode(ranges, maxRanges);
  checkVarint('ackDelay', ackDelay);
  const first = ranges[0] as AckRange;
  let length =
    1 +
    encodedLength(first[1]) +
    encodedLength(ackDelay) +
    encodedLength(count - 1) +
    encodedLength(first[1] - first[0]);
  for (let i = 1; i < count; i++) {
    const previous = ranges[i - 1] as AckRange;
    const range = ranges[i] as AckRange;
    length += encodedLength(previous[0] - range[1] - 2) + encodedLength(range[1] - range[0]);
  }
  return length;
}

/**
 * Writes an ACK frame (RFC 9000 §19.3): largest acknowledged, ack delay, range count, first range
 * length, then a (gap, length) pair per further range. Only the first `maxRanges` ranges (at most
 * {@link MAX_ACK_RANGES}) are written: the newest, which matter most to the sender's recovery.
 *
 * @param ranges inclusive `[low, high]` ranges, highest first, disjoint and not adjacent.
 * @param ackDelay microseconds since the largest acknowledged packet arrived.
 * @throws InvalidParameterError when the ranges are empty, out of order, touching or overlapping,
 * or a number is out of range.
 */
export function writeAckFrame(
  out: Uint8Array,
  offset: number,
  ranges: readonly AckRange[],
  ackDelay: number,
  maxRanges = MAX_ACK_RANGES,
): number {
  const length = ackFrameLength(ranges, ackDelay, maxRanges);
  if (!fits(out, offset, length)) return NO_ROOM;
  const count = Math.min(ranges.length, maxRanges, MAX_ACK_RANGES);
  const first = ranges[0] as AckRange;
  let at = writeVarint(out, offset, FrameType.ack);
  at = writeVarint(out, at, first[1]);
  at = writeVarint(out, at, ackDelay);
  at = writeVarint(out, at, count - 1);
  at = writeVarint(out, at, first[1] - first[0]);
  for (let i = 1; i < count; i++) {
    const previous = ranges[i - 1] as AckRange;
    const range = ranges[i] as AckRange;
    // RFC 9000 §19.3.1: the gap counts the unacknowledged packets between the ranges, minus one.
    at = writeVarint(out, at, previous[0] - range[1] - 2);
    at = writeVarint(out, at, range[1] - range[0]);
  }
  return at;
}

/**
 * Writes a CLOSE frame: error code, reason length, reason.
 * @param reason UTF-8 bytes, at most {@link MAX_CLOSE_REASON_BYTES} (see {@link encodeCloseReason}).
 * @throws InvalidParameterError for a negative or non-integer code or a reason too long.
 */
export function writeCloseFrame(
  out: Uint8Array,
  offset: number,
  errorCode: number,
  reason: Uint8Array,
): number {
  if (reason.length > MAX_CLOSE_REASON_BYTES) {
    throw new InvalidParameterError(
      'reason',
      `at most ${MAX_CLOSE_REASON_BYTES} bytes, got ${reason.length}`,
    );
  }
  checkVarint('errorCode', errorCode);
  const length = 1 + encodedLength(errorCode) + encodedLength(reason.length) + reason.length;
  if (!fits(out, offset, length)) return NO_ROOM;
  let at = writeVarint(out, offset, FrameType.close);
  at = writeVarint(out, at, errorCode);
  at = writeVarint(out, at, reason.length);
  out.set(reason, at);
  return at + reason.length;
}

/** Writes a PATH_CHALLENGE frame carrying 8 unpredictable bytes. */
export function writePathChallengeFrame(out: Uint8Array, offset: number, data: Uint8Array): number {
  return writePathFrame(out, offset, FrameType.pathChallenge, data);
}

/** Writes a PATH_RESPONSE frame echoing a challenge's 8 bytes. */
export function writePathResponseFrame(out: Uint8Array, offset: number, data: Uint8Array): number {
  return writePathFrame(out, offset, FrameType.pathResponse, data);
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** `text` as UTF-8, cut at a character boundary to at most {@link MAX_CLOSE_REASON_BYTES}. */
export function encodeCloseReason(text: string): Uint8Array {
  const bytes = textEncoder.encode(text);
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return bytes;
  let end = MAX_CLOSE_REASON_BYTES;
  // Back off over continuation bytes (0b10xx_xxxx) so no character is split.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.slice(0, end);
}

/** A CLOSE reason as text; invalid UTF-8 from the peer becomes U+FFFD, never an error. */
export function decodeCloseReason(reason: Uint8Array): string {
  return textDecoder.decode(reason);
}

function writePathFrame(out: Uint8Array, offset: number, type: number, data: Uint8Array): number {
  if (data.length !== PATH_DATA_BYTES) {
    throw new InvalidParameterError('data', `must be ${PATH_DATA_BYTES} bytes, got ${data.length}`);
  }
  if (!fits(out, offset, 1 + PATH_DATA_BYTES)) return NO_ROOM;
  out[offset] = type;
  out.set(data, offset + 1);
  return offset + 1 + PATH_DATA_BYTES;
}

/** Whether `length` bytes fit at `offset`; a bad offset is misuse, not "no room". */
function fits(out: Uint8Array, offset: number, length: number): boolean {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > out.length) {
    throw new InvalidParameterError(
      'offset',
      `must be an integer in 0 ..= ${out.length}, got ${offset}`,
    );
  }
  return offset + length <= out.length;
}

/** Checks the ranges an ACK frame will carry; returns how many it carries. */
function rangesToEncode(ranges: readonly AckRange[], maxRanges: number): number {
  if (!Number.isSafeInteger(maxRanges) || maxRanges < 1) {
    throw new InvalidParameterError('maxRanges', `must be a positive integer, got ${maxRanges}`);
  }
  if (ranges.length === 0) throw new InvalidParameterError('ranges', 'must not be empty');
  const count = Math.min(ranges.length, maxRanges, MAX_ACK_RANGES);
  let floor = Infinity;
  for (let i = 0; i < count; i++) {
    const [low, high] = ranges[i] as AckRange;
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || low < 0 || low > high) {
      throw new InvalidParameterError(`ranges[${i}]`, `not a range [low, high]: [${low}, ${high}]`);
    }
    // A gap of at least one unacknowledged packet: touching ranges would have gap -1.
    if (high > floor - 2) {
      throw new InvalidParameterError(
        `ranges[${i}]`,
        'ranges must be descending, disjoint and separated by at least one packet',
      );
    }
    floor = low;
  }
  return count;
}

// --- Decoder -------------------------------------------------------------------------------

const OK_ELICITING: FrameDecodeResult = { ok: true, ackEliciting: true };
const OK_NOT_ELICITING: FrameDecodeResult = { ok: true, ackEliciting: false };

/**
 * Decodes every frame of a decrypted payload in order, calling `visitor` for each. Stops at the
 * first frame that is malformed or unknown; the frames before it have been delivered, and the
 * channel closes with the result's `errorCode`. A payload with no frame at all is a protocol
 * violation (RFC 9000 §12.4). Never throws on any input.
 *
 * Not re-entrant from {@link FrameVisitor.onAck}: the ACK frame object is shared.
 */
export function decodeFrames(payload: Uint8Array, visitor: FrameVisitor): FrameDecodeResult {
  if (payload.length === 0) return failed('empty', ChannelErrorCode.protocolViolation, -1, 0);
  const cursor: Cursor = { offset: 0 };
  let ackEliciting = false;
  while (cursor.offset < payload.length) {
    const start = cursor.offset;
    if (payload[start] === FrameType.padding) {
      cursor.offset = skipPadding(payload, start);
      continue;
    }
    const type = readVarint(payload, cursor);
    // RFC 9000 §12.4: a frame type must use its shortest encoding.
    if (type === VARINT_INVALID || cursor.offset - start !== encodedLength(type)) {
      return failed('malformed', ChannelErrorCode.frameEncoding, -1, start);
    }
    const outcome = decodeFrame(type, payload, cursor, visitor);
    if (outcome !== 'decoded') {
      return failed(outcome, ChannelErrorCode.frameEncoding, type, start);
    }
    if (isAckEliciting(type)) ackEliciting = true;
  }
  return ackEliciting ? OK_ELICITING : OK_NOT_ELICITING;
}

function failed(
  failure: FrameDecodeFailure,
  errorCode: ChannelErrorCode,
  frameType: number,
  offset: number,
): FrameDecodeResult {
  return { ok: false, failure, errorCode, frameType, offset };
}

function skipPadding(payload: Uint8Array, offset: number): number {
  let at = offset;
  while (at < payload.length && payload[at] === 0) at++;
  return at;
}

/** One frame after its type; the cursor ends past the frame when it decoded. */
function decodeFrame(
  type: number,
  payload: Uint8Array,
  cursor: Cursor,
  visitor: FrameVisitor,
): ExtensionOutcome {
  switch (type) {
    case FrameType.ping:
      visitor.onPing();
      return 'decoded';
    case FrameType.ack:
      return decodeAck(payload, cursor, visitor);
    case FrameType.close:
      return decodeClose(payload, cursor, visitor);
    case FrameType.pathChallenge:
    case FrameType.pathResponse:
      return decodePath(type, payload, cursor, visitor);
    default:
      if (type < STREAM_FRAME_TYPE_FIRST || type > STREAM_FRAME_TYPE_LAST) return 'unknown';
      return decodeExtension(type, payload, cursor, visitor);
  }
}

/**
 * The ACK frame handed to visitors. Its ranges point into a pool of pairs that grows to the
 * largest ACK seen (at most {@link MAX_ACK_RANGES}), so steady-state decoding allocates nothing.
 */
const ackRanges: [number, number][] = [];
const ackPairPool: [number, number][] = [];
const ackFrame: { ackDelay: number; ranges: readonly AckRange[] } = {
  ackDelay: 0,
  ranges: ackRanges,
};

function decodeAck(payload: Uint8Array, cursor: Cursor, visitor: FrameVisitor): ExtensionOutcome {
  const largest = readVarint(payload, cursor);
  const ackDelay = readVarint(payload, cursor);
  const extraRanges = readVarint(payload, cursor);
  const firstLength = readVarint(payload, cursor);
  // VARINT_INVALID is negative, so one comparison catches truncation in any of the four.
  if (Math.min(largest, ackDelay, extraRanges, firstLength) < 0) return 'malformed';
  if (extraRanges >= MAX_ACK_RANGES || firstLength > largest) return 'malformed';
  ackRanges.length = 0;
  let low = largest - firstLength;
  pushRange(low, largest);
  for (let i = 0; i < extraRanges; i++) {
    const gap = readVarint(payload, cursor);
    const length = readVarint(payload, cursor);
    if (gap < 0 || length < 0) return 'malformed';
    // RFC 9000 §19.3.1: the next range ends gap + 2 below the previous range's smallest.
    const high = low - gap - 2;
    low = high - length;
    if (low < 0) return 'malformed';
    pushRange(low, high);
  }
  ackFrame.ackDelay = ackDelay;
  visitor.onAck(ackFrame);
  return 'decoded';
}

function pushRange(low: number, high: number): void {
  const index = ackRanges.length;
  let pair = ackPairPool[index];
  if (pair === undefined) {
    pair = [0, 0];
    ackPairPool.push(pair);
  }
  pair[0] = low;
  pair[1] = high;
  ackRanges.push(pair);
}

function decodeClose(payload: Uint8Array, cursor: Cursor, visitor: FrameVisitor): ExtensionOutcome {
  const errorCode = readVarint(payload, cursor);
  const length = readVarint(payload, cursor);
  if (errorCode < 0 || length < 0 || length > MAX_CLOSE_REASON_BYTES) return 'malformed';
  const start = cursor.offset;
  if (start + length > payload.length) return 'malformed';
  cursor.offset = start + length;
  visitor.onClose(errorCode, payload.subarray(start, start + length));
  return 'decoded';
}

function decodePath(
  type: number,
  payload: Uint8Array,
  cursor: Cursor,
  visitor: FrameVisitor,
): ExtensionOutcome {
  const start = cursor.offset;
  if (start + PATH_DATA_BYTES > payload.length) return 'malformed';
  cursor.offset = start + PATH_DATA_BYTES;
  const data = payload.subarray(start, start + PATH_DATA_BYTES);
  if (type === FrameType.pathChallenge) visitor.onPathChallenge(data);
  else visitor.onPathResponse(data);
  return 'decoded';
}

function decodeExtension(
  type: number,
  payload: Uint8Array,
  cursor: Cursor,
  visitor: FrameVisitor,
): ExtensionOutcome {
  if (visitor.onExtension === undefined) return 'unknown';
  const start = cursor.offset;
  const outcome = visitor.onExtension(type, payload, cursor);
  // A handler that moves the cursor backwards or past the end is a bug in our own code.
  if (
    outcome === 'decoded' &&
    (!Number.isSafeInteger(cursor.offset) ||
      cursor.offset < start ||
      cursor.offset > payload.length)
  ) {
    throw new InvalidParameterError(
      'onExtension',
      `left the cursor at ${cursor.offset}, outside ${start} ..= ${payload.length}`,
    );
  }
  return outcome;
}
