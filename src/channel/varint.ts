/**
 * QUIC variable-length integers (RFC 9000 §16): the two high bits of the first byte give the
 * length (1, 2, 4 or 8 bytes), the remaining bits the value, big-endian.
 *
 * Values are JavaScript numbers, so this codec stops at 2^53 − 1 ({@link MAX_VARINT}) rather
 * than the format's 2^62 − 1. Nothing the channel counts (packet numbers, byte offsets, delays in
 * microseconds) gets near 2^53 in practice; a peer that sends more is treated as malformed.
 *
 * Writers throw on application misuse. Readers never throw: network input that is truncated or
 * out of range yields {@link VARINT_INVALID}.
 *
 * @module
 */
import { InvalidParameterError } from '../net/errors.js';

/** Largest value this codec encodes or accepts: `Number.MAX_SAFE_INTEGER`, 2^53 − 1. */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER;
/** What {@link readVarint} returns for truncated input or a value above {@link MAX_VARINT}. */
export const VARINT_INVALID = -1;

const MAX_1 = 0x3f;
const MAX_2 = 0x3fff;
const MAX_4 = 0x3fffffff;
const TWO_32 = 0x1_0000_0000;
/** The high 30 bits of an 8-byte varint: above this the value passes 2^53 − 1. */
const MAX_HIGH_WORD = 0x1f_ffff;

/**
 * A read position, advanced by the readers. One cursor serves a whole payload, so decoding
 * allocates nothing per field.
 */
export interface Cursor {
  offset: number;
}

/**
 * Bytes needed to encode `value` in the shortest form (1, 2, 4 or 8).
 * @throws InvalidParameterError unless `value` is an integer in 0 ..= {@link MAX_VARINT}.
 */
export function encodedLength(value: number): 1 | 2 | 4 | 8 {
  checkVarint('value', value);
  if (value <= MAX_1) return 1;
  if (value <= MAX_2) return 2;
  if (value <= MAX_4) return 4;
  return 8;
}

/**
 * Writes `value` in its shortest form into `out` at `offset`; returns the offset after it.
 * @throws InvalidParameterError when the value is out of range or does not fit in `out`.
 */
export function writeVarint(out: Uint8Array, offset: number, value: number): number {
  const length = encodedLength(value);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > out.length) {
    throw new InvalidParameterError(
      'out',
      `a ${length}-byte varint at offset ${offset} does not fit in ${out.length} bytes`,
    );
  }
  switch (length) {
    case 1:
      out[offset] = value;
      break;
    case 2:
      out[offset] = 0x40 | (value >>> 8);
      out[offset + 1] = value & 0xff;
      break;
    case 4:
      out[offset] = 0x80 | (value >>> 24);
      writeUint24(out, offset + 1, value);
      break;
    case 8:
      writeVarint8(out, offset, value);
      break;
  }
  return offset + length;
}

/**
 * Reads the varint at `cursor.offset` and advances the cursor past it. Returns
 * {@link VARINT_INVALID}, leaving the cursor where it was, when the input ends inside the
 * varint or its value exceeds {@link MAX_VARINT}. Non-minimal encodings are accepted, as
 * RFC 9000 §16 allows; callers that must reject them (frame types) compare lengths.
 */
export function readVarint(bytes: Uint8Array, cursor: Cursor): number {
  const offset = cursor.offset;
  const first = bytes[offset];
  if (first === undefined) return VARINT_INVALID;
  const length = 1 << (first >>> 6);
  if (offset + length > bytes.length) return VARINT_INVALID;
  const top = first & 0x3f;
  let value: number;
  switch (length) {
    case 1:
      value = top;
      break;
    case 2:
      value = (top << 8) | (bytes[offset + 1] as number);
      break;
    case 4:
      // `* 2^24` rather than `<< 24`: a shift would go negative for the top bits.
      value = top * 0x100_0000 + readUint24(bytes, offset + 1);
      break;
    default: {
      const high = top * 0x100_0000 + readUint24(bytes, offset + 1);
      if (high > MAX_HIGH_WORD) return VARINT_INVALID;
      value = high * TWO_32 + readUint32(bytes, offset + 4);
    }
  }
  cursor.offset = offset + length;
  return value;
}

/**
 * Checks that `value` is a varint this codec encodes, naming `parameter` in the error.
 * @throws InvalidParameterError unless `value` is an integer in 0 ..= {@link MAX_VARINT}.
 */
export function checkVarint(parameter: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidParameterError(
      parameter,
      `a varint must be an integer in 0 ..= 2^53 - 1 here, got ${value}`,
    );
  }
}

function writeVarint8(out: Uint8Array, offset: number, value: number): void {
  const high = Math.floor(value / TWO_32);
  out[offset] = 0xc0 | (high >>> 24);
  writeUint24(out, offset + 1, high);
  out[offset + 4] = value >>> 24;
  writeUint24(out, offset + 5, value);
}

/** The low 24 bits of `value`, big-endian; `>>>` takes the low 32 bits of any safe integer. */
function writeUint24(out: Uint8Array, offset: number, value: number): void {
  out[offset] = (value >>> 16) & 0xff;
  out[offset + 1] = (value >>> 8) & 0xff;
  out[offset + 2] = value & 0xff;
}

function readUint24(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset] as number) << 16) |
    ((bytes[offset + 1] as number) << 8) |
    (bytes[offset + 2] as number)
  );
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] as number) * 0x100_0000 + readUint24(bytes, offset + 1);
}
