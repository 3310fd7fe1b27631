/**
 * The two MACs on an INITIATE, after WireGuard's design (Donenfeld, NDSS 2017, §5.3 and §5.4).
 * mac1 is keyed by the responder's public key: it proves the sender knows whom it is talking to,
 * so the responder can drop junk before any Diffie-Hellman work. mac2 is keyed by a cookie that
 * only a sender that receives at its address can hold, so the responder can insist on it when
 * under load.
 */
import type { CryptoSuite } from '../../crypto/suite.js';
import { equalBytes } from '../../crypto/bytes.js';
import { MAC_BYTES } from './wire.js';

const encoder = new TextEncoder();
const MAC1_LABEL = encoder.encode('sss-mac1-v1');
const COOKIE_LABEL = encoder.encode('sss-cookie-v1');

/** The key of mac1 for INITIATEs to the holder of `responderPublicKey`. */
export function mac1Key(suite: CryptoSuite, responderPublicKey: Uint8Array): Uint8Array {
  return suite.hash('SHA256', MAC1_LABEL, responderPublicKey);
}

/** The key that seals cookie replies from the holder of `responderPublicKey`. */
export function cookieSealKey(suite: CryptoSuite, responderPublicKey: Uint8Array): Uint8Array {
  return suite.hash('SHA256', COOKIE_LABEL, responderPublicKey);
}

/** HMAC-SHA256 truncated to 16 bytes. */
export function mac(suite: CryptoSuite, key: Uint8Array, data: Uint8Array): Uint8Array {
  return suite.hmac('SHA256', key, data).subarray(0, MAC_BYTES);
}

/** Writes mac1 over everything before the two MAC fields of `packet`. */
export function writeMac1(suite: CryptoSuite, key: Uint8Array, packet: Uint8Array): void {
  const end = packet.length - 2 * MAC_BYTES;
  packet.set(mac(suite, key, packet.subarray(0, end)), end);
}

/** Writes mac2 over everything before it, or zeros when there is no cookie. */
export function writeMac2(suite: CryptoSuite, cookie: Uint8Array | null, packet: Uint8Array): void {
  const end = packet.length - MAC_BYTES;
  if (cookie === null) packet.fill(0, end);
  else packet.set(mac(suite, cookie, packet.subarray(0, end)), end);
}

export function mac1Of(packet: Uint8Array): Uint8Array {
  return packet.subarray(packet.length - 2 * MAC_BYTES, packet.length - MAC_BYTES);
}

export function mac2Of(packet: Uint8Array): Uint8Array {
  return packet.subarray(packet.length - MAC_BYTES);
}

export function verifyMac1(suite: CryptoSuite, key: Uint8Array, packet: Uint8Array): boolean {
  const end = packet.length - 2 * MAC_BYTES;
  return equalBytes(mac(suite, key, packet.subarray(0, end)), mac1Of(packet));
}

export function verifyMac2(suite: CryptoSuite, cookie: Uint8Array, packet: Uint8Array): boolean {
  const end = packet.length - MAC_BYTES;
  return equalBytes(mac(suite, cookie, packet.subarray(0, end)), mac2Of(packet));
}
