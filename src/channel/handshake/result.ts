import type { Eid } from '../../crypto/eid.js';
import type { SocketAddress } from '../../net/datagram-socket.js';

/** The Noise protocol of every channel handshake (DESIGN.md, fixed decision 4). */
export const HANDSHAKE_PROTOCOL = 'Noise_IK_25519_ChaChaPoly_SHA256';

/**
 * What a completed handshake gives the channel: one key per direction, the ids each side puts on
 * the packets it receives, and who the peer is.
 */
export interface HandshakeResult {
  /** True on the side that sent the INITIATE. */
  readonly initiator: boolean;
  /** Key of the packets this side sends. */
  readonly sendKey: Uint8Array;
  /** Key of the packets this side receives. */
  readonly receiveKey: Uint8Array;
  /** The id the peer puts on packets to this side. */
  readonly localChannelId: number;
  /** The id this side puts on packets to the peer. */
  readonly remoteChannelId: number;
  /** Noise handshake hash: a unique, secret-derived name of the session (channel binding). */
  readonly handshakeHash: Uint8Array;
  /** The peer's static public key. */
  readonly peerPublicKey: Uint8Array;
  /** The peer's EID: who the channel is with, authenticated by the handshake. */
  readonly peerEid: Eid;
  /** Where the peer's handshake packet came from, or where ours went. */
  readonly peerAddress: SocketAddress;
  /** The initiator's connect request, as the responder's accept policy saw it. */
  readonly request: Uint8Array;
  /** The responder's answer to the request. */
  readonly response: Uint8Array;
}

/** Why a responder refused a connect request; carried authenticated in its RESPONSE. */
export type RejectReason = 'refused' | 'unknown-service' | 'busy';

const REJECT_CODES: Readonly<Record<RejectReason, number>> = {
  refused: 1,
  'unknown-service': 2,
  busy: 3,
};

export function rejectCode(reason: RejectReason): number {
  return REJECT_CODES[reason];
}

/** The reason of a status byte; an unknown non-zero code reads as `refused`. */
export function rejectReasonOf(code: number): RejectReason {
  for (const [reason, value] of Object.entries(REJECT_CODES)) {
    if (value === code) return reason as RejectReason;
  }
  return 'refused';
}
