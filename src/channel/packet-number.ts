/**
 * Packet number truncation: a transport packet carries only the low 1 to 4 bytes of its packet
 * number, and the receiver rebuilds the full number from the largest one it has received
 * (RFC 9000 §17.1, Appendix A.2 and A.3).
 *
 * Packet numbers are numbers in 0 ..= {@link MAX_PACKET_NUMBER} (2^53 − 1). The nonce has room
 * for 64 bits, but a channel updates its keys long before 2^53 packets.
 *
 * @module
 */
import { InvalidParameterError } from '../net/errors.js';

/** Largest packet number a channel may use. */
export const MAX_PACKET_NUMBER = Number.MAX_SAFE_INTEGER;
/** `largestAcked` / `largestReceived` when there is none yet. */
export const NO_PACKET = -1;
/** Longest truncated packet number, in bytes. */
export const MAX_PN_LENGTH = 4;

/** Length in bytes of a truncated packet number. */
export type PnLength = 1 | 2 | 3 | 4;

/**
 * The shortest truncation of `packetNumber` the receiver can rebuild: enough bytes to represent
 * more than twice the distance from the largest acknowledged packet (RFC 9000 §17.1), so that the
 * receiver's window (centred on its largest received packet, which is at least `largestAcked`)
 * still contains `packetNumber`.
 *
 * @param largestAcked the largest packet number the peer has acknowledged, or {@link NO_PACKET}.
 * @throws InvalidParameterError when the numbers are out of range, `packetNumber` is not above
 * `largestAcked`, or more than 2^31 − 1 packets are in flight (no 4-byte truncation is safe).
 */
export function truncatedLength(packetNumber: number, largestAcked: number): PnLength {
  checkPacketNumber('packetNumber', packetNumber);
  if (largestAcked !== NO_PACKET) checkPacketNumber('largestAcked', largestAcked);
  if (packetNumber <= largestAcked) {
    throw new InvalidParameterError(
      'packetNumber',
      `must exceed the largest acknowledged ${largestAcked}, got ${packetNumber}`,
    );
  }
  // RFC 9000 Appendix A.2: with none acknowledged, the range starts at packet 0.
  const unacked = packetNumber - largestAcked;
  // 2^(8·length) ≥ 2·unacked, i.e. the window's half covers the unacknowledged range.
  const doubled = 2 * unacked;
  if (doubled <= 0x100) return 1;
  if (doubled <= 0x1_0000) return 2;
  if (doubled <= 0x100_0000) return 3;
  if (doubled <= 0x1_0000_0000) return 4;
  throw new InvalidParameterError(
    'packetNumber',
    `${unacked} packets unacknowledged: more than a 4-byte packet number can span`,
  );
}

/** The low `length` bytes of `packetNumber`, as carried on the wire. */
export function truncatePacketNumber(packetNumber: number, length: PnLength): number {
  return packetNumber % windowOf(length);
}

/**
 * The full packet number closest to the next expected one (`largestReceived + 1`) whose low
 * `length` bytes are `truncated` (RFC 9000 Appendix A.3). Never throws. Near the 2^53 limit the
 * result may exceed {@link MAX_PACKET_NUMBER} (then it may also be inexact); callers reject it.
 *
 * @param largestReceived the largest packet number authenticated so far, or {@link NO_PACKET}.
 */
export function decodePacketNumber(
  largestReceived: number,
  truncated: number,
  length: PnLength,
): number {
  const expected = largestReceived + 1;
  const window = windowOf(length);
  const half = window / 2;
  // Work with the distance from `expected`: it stays small and exact where the candidate itself
  // would pass 2^53 and round. (`%` rather than bit masks, which would cut to 32 bits.)
  let delta = truncated - (expected % window);
  if (delta <= -half && expected + delta + window <= MAX_PACKET_NUMBER) delta += window;
  else if (delta > half && expected + delta >= window) delta -= window;
  return expected + delta;
}

/** 2^(8·length): how many packet numbers a truncation of `length` bytes tells apart. */
function windowOf(length: PnLength): number {
  return 2 ** (8 * length);
}

function checkPacketNumber(parameter: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidParameterError(
      parameter,
      `must be an integer in 0 ..= 2^53 - 1, got ${value}`,
    );
  }
}
