/**
 * Specification of packet number truncation and reconstruction (RFC 9000 §17.1, Appendix A.2
 * and A.3).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../net/fixtures.js';
import {
  decodePacketNumber,
  MAX_PACKET_NUMBER,
  NO_PACKET,
  truncatedLength,
  truncatePacketNumber,
  type PnLength,
} from '../../src/channel/packet-number.js';

const pnLength = fc.constantFrom<PnLength>(1, 2, 3, 4);
/** Packet numbers small and large: most runs near zero, some near the 2^53 limit. */
const packetNumber = fc.oneof(fc.nat(100_000), fc.maxSafeNat(), fc.nat(2 ** 40));

describe('packet numbers', () => {
  it('truncates like the examples of RFC 9000 Appendix A.2', () => {
    expect(truncatedLength(0xac5c02, 0xabe8b3)).toBe(2);
    expect(truncatedLength(0xace8fe, 0xabe8b3)).toBe(3);
  });

  it('rebuilds the example of RFC 9000 Appendix A.3', () => {
    expect(decodePacketNumber(0xa82f30ea, 0x9b32, 2)).toBe(0xa82f9b32);
  });

  it('counts from packet 0 when nothing is acknowledged', () => {
    expect(truncatedLength(0, NO_PACKET)).toBe(1);
    expect(truncatedLength(127, NO_PACKET)).toBe(1);
    expect(truncatedLength(128, NO_PACKET)).toBe(2);
    expect(truncatedLength(2 ** 31 - 1, NO_PACKET)).toBe(4);
    expect(decodePacketNumber(NO_PACKET, 0, 1)).toBe(0);
    expect(decodePacketNumber(NO_PACKET, 5, 2)).toBe(5);
  });

  it('grows the truncation with the unacknowledged range: twice the range must fit', () => {
    expect(truncatedLength(1128, 1000)).toBe(1);
    expect(truncatedLength(1129, 1000)).toBe(2);
    expect(truncatedLength(1000 + 2 ** 15, 1000)).toBe(2);
    expect(truncatedLength(1001 + 2 ** 15, 1000)).toBe(3);
    expect(truncatedLength(1000 + 2 ** 31, 1000)).toBe(4);
  });

  it('property: the receiver rebuilds what the sender truncated, from any largest received in the window', () => {
    fc.assert(
      fc.property(
        packetNumber,
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (top, distance, where) => {
          const packet = Math.max(top, distance - 1);
          const largestAcked = packet - distance; // NO_PACKET when distance = packet + 1
          const length = truncatedLength(packet, largestAcked);
          const half = 2 ** (8 * length - 1);
          // The receiver has at least the acknowledged packet, and at most what the window allows.
          const low = largestAcked;
          const high = Math.min(packet + half - 2, MAX_PACKET_NUMBER - 1);
          const largestReceived = low + Math.floor(where * (high - low));
          const truncated = truncatePacketNumber(packet, length);
          expect(decodePacketNumber(largestReceived, truncated, length)).toBe(packet);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: any packet number within half a window of the next expected one is rebuilt', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constant(NO_PACKET), packetNumber),
        pnLength,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (largestReceived, length, where) => {
          const window = 2 ** (8 * length);
          const expected = largestReceived + 1;
          // The window of RFC 9000 Appendix A.3: (expected - half, expected + half].
          const low = Math.max(0, expected - window / 2 + 1);
          const high = Math.min(MAX_PACKET_NUMBER - window, expected + window / 2);
          fc.pre(low <= high);
          const actual = low + Math.floor(where * (high - low));
          expect(decodePacketNumber(largestReceived, actual % window, length)).toBe(actual);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: a rebuilt number keeps the truncated bits, or exceeds the limit; never negative', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constant(NO_PACKET),
          packetNumber,
          fc.integer({ min: MAX_PACKET_NUMBER - 2 ** 33, max: MAX_PACKET_NUMBER }),
        ),
        pnLength,
        fc.nat(),
        (lr, l, t) => {
          const window = 2 ** (8 * l);
          const truncated = t % window;
          const full = decodePacketNumber(lr, truncated, l);
          expect(full).toBeGreaterThanOrEqual(0);
          if (full <= MAX_PACKET_NUMBER) expect(full % window).toBe(truncated);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reports numbers past 2^53 - 1 as past the limit, never as a wrong smaller number', () => {
    expect(decodePacketNumber(MAX_PACKET_NUMBER, 0x00, 1)).toBeGreaterThan(MAX_PACKET_NUMBER);
    expect(decodePacketNumber(MAX_PACKET_NUMBER, 0x01, 1)).toBeGreaterThan(MAX_PACKET_NUMBER);
    expect(decodePacketNumber(MAX_PACKET_NUMBER, 0xff, 1)).toBe(MAX_PACKET_NUMBER);
    expect(decodePacketNumber(MAX_PACKET_NUMBER - 1, 0xff, 1)).toBe(MAX_PACKET_NUMBER);
  });

  it('throws InvalidParameterError when the sender misuses it', () => {
    expect(parameterOf(() => truncatedLength(5, 5))).toBe('packetNumber');
    expect(parameterOf(() => truncatedLength(4, 5))).toBe('packetNumber');
    expect(parameterOf(() => truncatedLength(-1, NO_PACKET))).toBe('packetNumber');
    expect(parameterOf(() => truncatedLength(1.5, NO_PACKET))).toBe('packetNumber');
    expect(parameterOf(() => truncatedLength(2 ** 53, NO_PACKET))).toBe('packetNumber');
    expect(parameterOf(() => truncatedLength(10, -2))).toBe('largestAcked');
    // 2^31 packets in flight: 4 bytes can no longer tell them apart.
    expect(parameterOf(() => truncatedLength(2 ** 31, NO_PACKET))).toBe('packetNumber');
  });
});
