import { formatAddress, type SocketAddress } from '../../net/datagram-socket.js';
import type { Clock } from '../../net/clock.js';
import type { CryptoSuite } from '../../crypto/suite.js';
import { cookieSealKey, mac, mac1Of, verifyMac2 } from './macs.js';
import {
  COOKIE_NONCE_BYTES,
  cookieReplyParts,
  HEADER_BYTES,
  PacketType,
  writeHeader,
} from './wire.js';
import { COOKIE_PACKET_BYTES } from './wire.js';

/** How long a cookie secret lives; a cookie stays valid for one more lifetime after that. */
export const COOKIE_SECRET_LIFETIME_MS = 120_000;

const encoder = new TextEncoder();

/**
 * The responder's side of cookies: a cookie is a MAC of the sender's address under a secret that
 * rotates every two minutes, so the responder stores nothing per sender and a cookie only helps
 * someone who receives at that address.
 */
export class CookieJar {
  readonly #suite: CryptoSuite;
  readonly #clock: Clock;
  readonly #sealKey: Uint8Array;
  #current: Uint8Array;
  #previous: Uint8Array | null = null;
  #bornAt: number;

  constructor(suite: CryptoSuite, clock: Clock, responderPublicKey: Uint8Array) {
    this.#suite = suite;
    this.#clock = clock;
    this.#sealKey = cookieSealKey(suite, responderPublicKey);
    this.#current = suite.randomBytes(32);
    this.#bornAt = clock.now();
  }

  /** True when `initiate` carries a valid mac2 for a cookie of `from`. */
  verify(initiate: Uint8Array, from: SocketAddress): boolean {
    this.#rotate();
    const address = encoder.encode(formatAddress(from));
    if (verifyMac2(this.#suite, mac(this.#suite, this.#current, address), initiate)) return true;
    const previous = this.#previous;
    return (
      previous !== null && verifyMac2(this.#suite, mac(this.#suite, previous, address), initiate)
    );
  }

  /**
   * A cookie reply to `initiate` from `from`: the cookie sealed under a key derived from the
   * responder's public key, with the INITIATE's mac1 as associated data, so that only the
   * initiator that sent that very packet can open it (WireGuard, NDSS 2017, §5.4.7).
   */
  reply(initiate: Uint8Array, from: SocketAddress, initiatorChannelId: number): Uint8Array {
    this.#rotate();
    const cookie = mac(this.#suite, this.#current, encoder.encode(formatAddress(from)));
    const packet = new Uint8Array(COOKIE_PACKET_BYTES);
    writeHeader(packet, PacketType.cookie, initiatorChannelId);
    const nonce = this.#suite.randomBytes(COOKIE_NONCE_BYTES);
    packet.set(nonce, HEADER_BYTES);
    this.#suite.sealInto(
      this.#sealKey,
      nonce,
      mac1Of(initiate),
      cookie,
      packet,
      HEADER_BYTES + COOKIE_NONCE_BYTES,
    );
    return packet;
  }

  #rotate(): void {
    const age = this.#clock.now() - this.#bornAt;
    if (age < COOKIE_SECRET_LIFETIME_MS) return;
    this.#previous = age < 2 * COOKIE_SECRET_LIFETIME_MS ? this.#current : null;
    this.#current = this.#suite.randomBytes(32);
    this.#bornAt = this.#clock.now();
  }
}

/**
 * The initiator's side: opens a cookie reply to the INITIATE it sent. Returns the cookie, or null
 * when the reply is forged, garbled or answers another packet.
 */
export function openCookieReply(
  suite: CryptoSuite,
  responderPublicKey: Uint8Array,
  initiate: Uint8Array,
  reply: Uint8Array,
): Uint8Array | null {
  if (reply.length !== COOKIE_PACKET_BYTES) return null;
  const { nonce, sealed } = cookieReplyParts(reply);
  return suite.open(cookieSealKey(suite, responderPublicKey), nonce, mac1Of(initiate), sealed);
}
