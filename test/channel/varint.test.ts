/**
 * Specification of QUIC variable-length integers (RFC 9000 §16) as this codebase limits them:
 * values up to 2^53 − 1, writers that throw on misuse, readers that never throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../net/fixtures.js';
import {
  encodedLength,
  MAX_VARINT,
  readVarint,
  VARINT_INVALID,
  writeVarint,
  type Cursor,
} from '../../src/channel/varint.js';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function encode(value: number): Uint8Array {
  const out = new Uint8Array(encodedLength(value));
  writeVarint(out, 0, value);
  return out;
}

describe('varint', () => {
  it('decodes the examples of RFC 9000 Appendix A.1 that fit in 2^53', () => {
    const cases: [string, number][] = [
      ['9d7f3e7d', 494_878_333],
      ['7bbd', 15_293],
      ['25', 37],
      ['4025', 37],
    ];
    for (const [bytes, value] of cases) {
      const cursor: Cursor = { offset: 0 };
      expect(readVarint(hex(bytes), cursor)).toBe(value);
      expect(cursor.offset).toBe(bytes.length / 2);
    }
  });

  it('rejects the 8-byte example of RFC 9000 Appendix A.1: it exceeds 2^53 - 1', () => {
    const cursor: Cursor = { offset: 0 };
    expect(readVarint(hex('c2197c5eff14e88c'), cursor)).toBe(VARINT_INVALID);
    expect(cursor.offset).toBe(0);
  });

  it('encodes each value in the shortest of 1, 2, 4 or 8 bytes', () => {
    const boundaries: [number, number][] = [
      [0, 1],
      [63, 1],
      [64, 2],
      [16_383, 2],
      [16_384, 4],
      [2 ** 30 - 1, 4],
      [2 ** 30, 8],
      [MAX_VARINT, 8],
    ];
    for (const [value, length] of boundaries) {
      expect(encodedLength(value)).toBe(length);
      expect(encode(value)).toHaveLength(length);
    }
    expect(toHex(encode(15_293))).toBe('7bbd');
    expect(toHex(encode(494_878_333))).toBe('9d7f3e7d');
    expect(toHex(encode(MAX_VARINT))).toBe('c01fffffffffffff');
  });

  it('property: any value up to 2^53 - 1 round-trips at any offset, touching only its bytes', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.nat(16), fc.nat(8), (value, offset, slack) => {
        const length = encodedLength(value);
        const out = new Uint8Array(offset + length + slack).fill(0xaa);
        expect(writeVarint(out, offset, value)).toBe(offset + length);
        expect(out.subarray(0, offset).every((b) => b === 0xaa)).toBe(true);
        expect(out.subarray(offset + length).every((b) => b === 0xaa)).toBe(true);
        const cursor: Cursor = { offset };
        expect(readVarint(out, cursor)).toBe(value);
        expect(cursor.offset).toBe(offset + length);
      }),
      { numRuns: 500 },
    );
  });

  it('property: every proper prefix of an encoding is invalid and leaves the cursor alone', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.nat(7), (value, cut) => {
        const bytes = encode(value);
        const prefix = bytes.subarray(0, cut % bytes.length);
        const cursor: Cursor = { offset: 0 };
        expect(readVarint(prefix, cursor)).toBe(VARINT_INVALID);
        expect(cursor.offset).toBe(0);
      }),
    );
  });

  it('accepts non-minimal encodings, which RFC 9000 §16 allows', () => {
    expect(readVarint(hex('c000000000000025'), { offset: 0 })).toBe(37);
    expect(readVarint(hex('80000025'), { offset: 0 })).toBe(37);
  });

  it('property: reading random bytes never throws and stays inside the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.nat(12), (bytes, offset) => {
        const cursor: Cursor = { offset };
        const value = readVarint(bytes, cursor);
        if (value === VARINT_INVALID) {
          expect(cursor.offset).toBe(offset);
        } else {
          expect(Number.isSafeInteger(value) && value >= 0).toBe(true);
          expect(cursor.offset).toBeLessThanOrEqual(bytes.length);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('throws InvalidParameterError for values it cannot encode and buffers too small', () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53, 2 ** 62]) {
      expect(parameterOf(() => encodedLength(bad))).toBe('value');
      expect(parameterOf(() => writeVarint(new Uint8Array(8), 0, bad))).toBe('value');
    }
    expect(parameterOf(() => writeVarint(new Uint8Array(1), 0, 64))).toBe('out');
    expect(parameterOf(() => writeVarint(new Uint8Array(8), 7, 64))).toBe('out');
    expect(parameterOf(() => writeVarint(new Uint8Array(8), -1, 1))).toBe('out');
  });
});
