/**
 * Byte layout of the three handshake packets; docs/PROTOCOL.md §2 is the specification. Every
 * multi-byte integer is big-endian. Decoders return `null` for anything malformed: bad input from
 * the network is dropped and counted by the caller, never thrown.
 */

/** First byte of every datagram: which kind of packet it is. */
export const PacketType = {
  initiate: 0x01,
  response: 0x02,
  cookie: 0x03,
} as const;

/** Version of the handshake wire format, second byte of every handshake packet. */
export const WIRE_VERSION = 1;
/** type, version, two reserved bytes, a 32-bit channel id. */
export const HEADER_BYTES = 8;
/** Truncated MAC length (mac1, mac2, cookie). */
export const MAC_BYTES = 16;
/** Noise IK message 1 without payload: e (32) and the encrypted static key (32 + 16). */
const NOISE_MSG1_OVERHEAD = 32 + 48;
/** Noise IK message 2 without payload: e (32). */
const NOISE_MSG2_OVERHEAD = 32;
const AEAD_TAG = 16;
/** timestamp (8) and request length (2) inside message 1's payload. */
const INITIATE_PAYLOAD_FIXED = 10;
/** responder channel id (4), status (1), reason (1), response length (2). */
const RESPONSE_PAYLOAD_FIXED = 8;
export const COOKIE_NONCE_BYTES = 12;
/** A cookie reply: header, nonce, sealed cookie. */
export const COOKIE_PACKET_BYTES = HEADER_BYTES + COOKIE_NONCE_BYTES + MAC_BYTES + AEAD_TAG;
/** Smallest INITIATE: no request, no padding. */
export const MIN_INITIATE_BYTES =
  HEADER_BYTES + NOISE_MSG1_OVERHEAD + INITIATE_PAYLOAD_FIXED + AEAD_TAG + 2 * MAC_BYTES;
/** Smallest RESPONSE: no response data. */
export const MIN_RESPONSE_BYTES =
  HEADER_BYTES + NOISE_MSG2_OVERHEAD + RESPONSE_PAYLOAD_FIXED + AEAD_TAG;
/** Longest request or response the handshake carries. */
export const MAX_HANDSHAKE_DATA = 1024;

/** The clear header shared by the three packets. */
export interface HandshakeHeader {
  readonly type: number;
  /** INITIATE: the initiator's channel id; RESPONSE and COOKIE: the id they answer. */
  readonly channelId: number;
}

export function writeHeader(out: Uint8Array, type: number, channelId: number): void {
  out[0] = type;
  out[1] = WIRE_VERSION;
  out[2] = 0;
  out[3] = 0;
  view(out).setUint32(4, channelId);
}

/** The header of a handshake packet, or null when it is not one this version understands. */
export function readHeader(packet: Uint8Array): HandshakeHeader | null {
  if (packet.length < HEADER_BYTES) return null;
  const type = packet[0] as number;
  if (type < PacketType.initiate || type > PacketType.cookie) return null;
  if (packet[1] !== WIRE_VERSION || packet[2] !== 0 || packet[3] !== 0) return null;
  return { type, channelId: view(packet).getUint32(4) };
}

/** What the initiator says inside the encrypted payload of message 1. */
export interface InitiatePayload {
  /** Microseconds; strictly increasing per initiator identity (replay protection). */
  readonly timestamp: bigint;
  /** Opaque connect request for the responder's accept policy. */
  readonly request: Uint8Array;
}

/** Encodes message 1's payload, zero-padded to `paddedLength` bytes (at least the content). */
export function encodeInitiatePayload(payload: InitiatePayload, paddedLength: number): Uint8Array {
  const length = Math.max(paddedLength, INITIATE_PAYLOAD_FIXED + payload.request.length);
  const out = new Uint8Array(length);
  const v = view(out);
  v.setBigUint64(0, payload.timestamp);
  v.setUint16(8, payload.request.length);
  out.set(payload.request, INITIATE_PAYLOAD_FIXED);
  return out;
}

export function decodeInitiatePayload(bytes: Uint8Array): InitiatePayload | null {
  if (bytes.length < INITIATE_PAYLOAD_FIXED) return null;
  const v = view(bytes);
  const requestLength = v.getUint16(8);
  if (requestLength > MAX_HANDSHAKE_DATA) return null;
  if (INITIATE_PAYLOAD_FIXED + requestLength > bytes.length) return null;
  // Padding must be zeros, so that the padding cannot become a covert or ambiguous field.
  for (let i = INITIATE_PAYLOAD_FIXED + requestLength; i < bytes.length; i++) {
    if (bytes[i] !== 0) return null;
  }
  return {
    timestamp: v.getBigUint64(0),
    request: bytes.slice(INITIATE_PAYLOAD_FIXED, INITIATE_PAYLOAD_FIXED + requestLength),
  };
}

/** The responder's answer inside the encrypted payload of message 2. */
export interface ResponsePayload {
  /** The responder's channel id: the id the initiator puts on its transport packets. */
  readonly channelId: number;
  /** 0 accepted, otherwise a {@link RejectReason} code. */
  readonly status: number;
  readonly response: Uint8Array;
}

export function encodeResponsePayload(payload: ResponsePayload): Uint8Array {
  const out = new Uint8Array(RESPONSE_PAYLOAD_FIXED + payload.response.length);
  const v = view(out);
  v.setUint32(0, payload.channelId);
  out[4] = payload.status;
  out[5] = 0;
  v.setUint16(6, payload.response.length);
  out.set(payload.response, RESPONSE_PAYLOAD_FIXED);
  return out;
}

export function decodeResponsePayload(bytes: Uint8Array): ResponsePayload | null {
  if (bytes.length < RESPONSE_PAYLOAD_FIXED) return null;
  const v = view(bytes);
  const length = v.getUint16(6);
  if (bytes[5] !== 0 || RESPONSE_PAYLOAD_FIXED + length !== bytes.length) return null;
  return {
    channelId: v.getUint32(0),
    status: bytes[4] as number,
    response: bytes.slice(RESPONSE_PAYLOAD_FIXED),
  };
}

/** Size of the encrypted payload of message 1 for a request padded to fill `datagramBytes`. */
export function initiatePayloadLength(requestLength: number, datagramBytes: number): number {
  const fixed = HEADER_BYTES + NOISE_MSG1_OVERHEAD + AEAD_TAG + 2 * MAC_BYTES;
  return Math.max(INITIATE_PAYLOAD_FIXED + requestLength, datagramBytes - fixed);
}

/** Splits an INITIATE into its Noise message (between header and MACs). */
export function initiateNoiseMessage(packet: Uint8Array): Uint8Array {
  return packet.subarray(HEADER_BYTES, packet.length - 2 * MAC_BYTES);
}

/** Splits a RESPONSE into its Noise message (after the header). */
export function responseNoiseMessage(packet: Uint8Array): Uint8Array {
  return packet.subarray(HEADER_BYTES);
}

/** Assembles header ‖ body into one new packet. */
export function assemble(type: number, channelId: number, body: Uint8Array): Uint8Array {
  const packet = new Uint8Array(HEADER_BYTES + body.length);
  writeHeader(packet, type, channelId);
  packet.set(body, HEADER_BYTES);
  return packet;
}

/** The cookie reply's nonce and sealed cookie. */
export function cookieReplyParts(packet: Uint8Array): { nonce: Uint8Array; sealed: Uint8Array } {
  return {
    nonce: packet.subarray(HEADER_BYTES, HEADER_BYTES + COOKIE_NONCE_BYTES),
    sealed: packet.subarray(HEADER_BYTES + COOKIE_NONCE_BYTES),
  };
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
