/**
 * Transport packets (docs/PROTOCOL.md §3): a clear header naming the receiver's channel and the
 * truncated packet number, then the frames sealed with ChaCha20-Poly1305. The nonce is the full
 * packet number, so each key seals each packet number at most once; the associated data is the
 * clear header, so none of it can be changed in flight.
 *
 * Sealing and opening reuse module-level nonce and header buffers: a packet costs the suite's own
 * work and a view of the ciphertext, nothing more. Everything here is synchronous, so the
 * sharing is safe.
 *
 * @module
 */
import { AEAD_NONCE_BYTES, AEAD_TAG_BYTES, type CryptoSuite } from '../crypto/suite.js';
import { MAX_UDP_PAYLOAD_IPV6 } from '../net/datagram-socket.js';
import { InvalidParameterError } from '../net/errors.js';
import {
  decodePacketNumber,
  MAX_PACKET_NUMBER,
  MAX_PN_LENGTH,
  truncatedLength,
  truncatePacketNumber,
  type PnLength,
} from './packet-number.js';

/** First byte of a transport packet without its key phase and length bits: `0b0001_0KLL`. */
export const TRANSPORT_PACKET_BASE = 0x10;
/** Bits of the first byte that must equal {@link TRANSPORT_PACKET_BASE}. */
const TYPE_MASK = 0xf8;
const KEY_PHASE_BIT = 0x04;
const PN_LENGTH_BITS = 0x03;
/** The receiver's channel id follows the first byte. */
const CHANNEL_ID_OFFSET = 1;
const PN_OFFSET = 5;

/** Header with a 1-byte packet number: first byte, channel id, packet number. */
export const MIN_HEADER_BYTES = PN_OFFSET + 1;
/** Header with a 4-byte packet number. */
export const MAX_HEADER_BYTES = PN_OFFSET + MAX_PN_LENGTH;
/** Most bytes a packet adds to its frames: the longest header and the AEAD tag. */
export const MAX_PACKET_OVERHEAD = MAX_HEADER_BYTES + AEAD_TAG_BYTES;
/** Smallest transport packet: shortest header, one frame byte, tag. */
export const MIN_PACKET_BYTES = MIN_HEADER_BYTES + 1 + AEAD_TAG_BYTES;
/** Largest transport packet: the largest UDP payload over any address family. */
export const MAX_PACKET_BYTES = MAX_UDP_PAYLOAD_IPV6;

/** Which of the two current keys sealed a packet; flips at each key update. */
export type KeyPhase = 0 | 1;

/** What {@link sealPacket} needs besides the frames. */
export interface PacketSealParams {
  /** The receiver's channel id (non-zero 32-bit). */
  readonly channelId: number;
  /** The full packet number, also the nonce; never reused under one key. */
  readonly packetNumber: number;
  /** Largest packet number the peer acknowledged, or -1 (`NO_PACKET`): sets the truncation. */
  readonly largestAcked: number;
  readonly keyPhase: KeyPhase;
}

/** The clear header of a transport packet, read without any cryptography. */
export interface TransportHeader {
  keyPhase: KeyPhase;
  /** The receiver's channel id: the host finds the channel (and its keys) by it. */
  channelId: number;
  pnLength: PnLength;
  /** The low `pnLength` bytes of the packet number. */
  truncatedPn: number;
  /** Bytes before the ciphertext: 5 + `pnLength`. */
  headerLength: number;
}

/** An authenticated packet: its full number and the length of its frames in `out`. */
export interface OpenedPacket {
  readonly packetNumber: number;
  readonly length: number;
}

const nonce = new Uint8Array(AEAD_NONCE_BYTES);
/** One associated-data buffer per header length, indexed by `pnLength - 1`. */
const headerScratch = [6, 7, 8, 9].map((length) => new Uint8Array(length));

/** Whether a datagram's first byte is a transport packet's (`0x10`–`0x17`). */
export function isTransportPacketType(firstByte: number): boolean {
  return (firstByte & TYPE_MASK) === TRANSPORT_PACKET_BASE;
}

/** Header plus tag for a packet number of `pnLength` bytes. */
export function packetOverhead(pnLength: PnLength): number {
  return PN_OFFSET + pnLength + AEAD_TAG_BYTES;
}

/**
 * Seals `plaintext` (encoded frames) into a transport packet written to `out` at `offset`;
 * returns the packet's length. `out` must not overlap `plaintext`.
 *
 * @throws InvalidParameterError for a bad channel id, key phase or packet number, an empty or
 * oversized plaintext, or an `out` too small for the packet.
 */
export function sealPacket(
  suite: CryptoSuite,
  key: Uint8Array,
  params: PacketSealParams,
  plaintext: Uint8Array,
  out: Uint8Array,
  offset: number,
): number {
  checkSealParams(params);
  const pnLength = truncatedLength(params.packetNumber, params.largestAcked);
  const headerLength = PN_OFFSET + pnLength;
  const total = headerLength + plaintext.length + AEAD_TAG_BYTES;
  checkSize(plaintext.length, total);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + total > out.length) {
    throw new InvalidParameterError(
      'out',
      `a ${total}-byte packet at offset ${offset} does not fit in ${out.length} bytes`,
    );
  }
  writeHeader(out, offset, params, pnLength);
  const ad = associatedData(out, offset, pnLength);
  setNonce(params.packetNumber);
  suite.sealInto(key, nonce, ad, plaintext, out, offset + headerLength);
  return total;
}

/**
 * The clear header of a datagram, or null when it is not a well-formed transport packet (wrong
 * type, channel id 0, too short or too long). Cheap: the host demultiplexes by channel id before
 * any decryption. Pass `into` to reuse one header object for every datagram.
 */
/** A header object for {@link readHeader} to fill again and again on the per-packet path. */
export function emptyTransportHeader(): TransportHeader {
  return { keyPhase: 0, channelId: 0, pnLength: 1, truncatedPn: 0, headerLength: 0 };
}

export function readHeader(datagram: Uint8Array, into?: TransportHeader): TransportHeader | null {
  if (datagram.length < MIN_PACKET_BYTES || datagram.length > MAX_PACKET_BYTES) return null;
  const first = datagram[0] as number;
  if (!isTransportPacketType(first)) return null;
  const pnLength = ((first & PN_LENGTH_BITS) + 1) as PnLength;
  const headerLength = PN_OFFSET + pnLength;
  if (datagram.length < headerLength + 1 + AEAD_TAG_BYTES) return null;
  const channelId = readUint(datagram, CHANNEL_ID_OFFSET, 4);
  if (channelId === 0) return null;
  const keyPhase: KeyPhase = (first & KEY_PHASE_BIT) === 0 ? 0 : 1;
  const truncatedPn = readUint(datagram, PN_OFFSET, pnLength);
  if (into === undefined) return { keyPhase, channelId, pnLength, truncatedPn, headerLength };
  into.keyPhase = keyPhase;
  into.channelId = channelId;
  into.pnLength = pnLength;
  into.truncatedPn = truncatedPn;
  into.headerLength = headerLength;
  return into;
}

/**
 * Rebuilds the packet number from `largestReceived` (RFC 9000 Appendix A.3), then authenticates
 * and decrypts the frames into `out` at `offset`. Null when authentication fails (wrong key,
 * any byte changed), the packet number is out of range, or the frames would not fit in `out`.
 * `out` must not overlap `datagram`. The caller checks the packet number against its replay
 * window: this function does not know which numbers were seen.
 *
 * @param header {@link readHeader}'s result for this very datagram.
 * @param largestReceived the largest packet number authenticated on this channel, or -1.
 */
export function openPacket(
  suite: CryptoSuite,
  key: Uint8Array,
  header: TransportHeader,
  datagram: Uint8Array,
  largestReceived: number,
  out: Uint8Array,
  offset = 0,
): OpenedPacket | null {
  const packetNumber = decodePacketNumber(largestReceived, header.truncatedPn, header.pnLength);
  if (packetNumber > MAX_PACKET_NUMBER) return null;
  const length = datagram.length - header.headerLength - AEAD_TAG_BYTES;
  if (length < 1 || offset + length > out.length) return null;
  const ad = associatedData(datagram, 0, header.pnLength);
  setNonce(packetNumber);
  const ciphertext = datagram.subarray(header.headerLength);
  const opened = suite.openInto(key, nonce, ad, ciphertext, out, offset);
  return opened < 0 ? null : { packetNumber, length: opened };
}

/**
 * As {@link openPacket} for a caller that has rebuilt the full packet number itself (to check it
 * against its replay window first) and owns `datagram`: the frames, of their exact length, or
 * null when authentication fails or the packet number is out of range. With a suite that
 * {@link CryptoSuite.opensInPlace}, the frames are opened where they lie, and the datagram's
 * ciphertext is gone (plaintext, or zeros after a failure); otherwise they come in the buffer the
 * suite returns. Either way the frames are a buffer nobody else writes to, with no copy.
 */
export function openFrames(
  suite: CryptoSuite,
  key: Uint8Array,
  header: TransportHeader,
  datagram: Uint8Array,
  packetNumber: number,
): Uint8Array | null {
  if (packetNumber > MAX_PACKET_NUMBER) return null;
  const start = header.headerLength;
  if (datagram.length - start - AEAD_TAG_BYTES < 1) return null;
  const ad = associatedData(datagram, 0, header.pnLength);
  setNonce(packetNumber);
  const ciphertext = datagram.subarray(start);
  if (!suite.opensInPlace) return suite.open(key, nonce, ad, ciphertext);
  const length = suite.openInto(key, nonce, ad, ciphertext, datagram, start);
  return length < 0 ? null : datagram.subarray(start, start + length);
}

/** The length of the packet {@link sealPacket} makes of `plaintextLength` bytes of frames. */
export function sealedLength(params: PacketSealParams, plaintextLength: number): number {
  return (
    PN_OFFSET +
    truncatedLength(params.packetNumber, params.largestAcked) +
    plaintextLength +
    AEAD_TAG_BYTES
  );
}

function checkSealParams(params: PacketSealParams): void {
  const { channelId, keyPhase } = params;
  if (!Number.isInteger(channelId) || channelId < 1 || channelId > 0xffff_ffff) {
    throw new InvalidParameterError(
      'channelId',
      `must be a non-zero 32-bit integer, got ${channelId}`,
    );
  }
  if (keyPhase !== 0 && keyPhase !== 1) {
    throw new InvalidParameterError('keyPhase', `must be 0 or 1, got ${String(keyPhase)}`);
  }
}

function checkSize(plaintextLength: number, total: number): void {
  if (plaintextLength === 0) {
    throw new InvalidParameterError('plaintext', 'a packet carries at least one frame byte');
  }
  if (total > MAX_PACKET_BYTES) {
    throw new InvalidParameterError(
      'plaintext',
      `a ${total}-byte packet exceeds the ${MAX_PACKET_BYTES}-byte maximum`,
    );
  }
}

function writeHeader(
  out: Uint8Array,
  offset: number,
  params: PacketSealParams,
  pnLength: PnLength,
): void {
  out[offset] = TRANSPORT_PACKET_BASE | (params.keyPhase << 2) | (pnLength - 1);
  writeUint(out, offset + CHANNEL_ID_OFFSET, params.channelId, 4);
  writeUint(out, offset + PN_OFFSET, truncatePacketNumber(params.packetNumber, pnLength), pnLength);
}

/** The clear header at `offset`, copied into a reused buffer of its exact length. */
function associatedData(bytes: Uint8Array, offset: number, pnLength: PnLength): Uint8Array {
  const ad = headerScratch[pnLength - 1] as Uint8Array;
  for (let i = 0; i < ad.length; i++) ad[i] = bytes[offset + i] as number;
  return ad;
}

/** Nonce = 4 zero bytes ‖ the 64-bit packet number, big-endian (PROTOCOL.md §3.2). */
function setNonce(packetNumber: number): void {
  nonce[0] = nonce[1] = nonce[2] = nonce[3] = 0;
  writeUint(nonce, 4, Math.floor(packetNumber / 0x1_0000_0000), 4);
  writeUint(nonce, 8, packetNumber % 0x1_0000_0000, 4);
}

/** Writes the `length` low bytes of `value` (below 2^32) big-endian. */
function writeUint(out: Uint8Array, offset: number, value: number, length: number): void {
  let rest = value;
  for (let i = offset + length - 1; i >= offset; i--) {
    out[i] = rest & 0xff;
    rest = Math.floor(rest / 256);
  }
}

function readUint(bytes: Uint8Array, offset: number, length: number): number {
  let value = 0;
  for (let i = offset; i < offset + length; i++) value = value * 256 + (bytes[i] as number);
  return value;
}
