import { type Actor, createActor, type InspectionEvent, type Observer } from 'xstate';
import { type Clock, toXStateClock } from '../../net/clock.js';
import type { SocketAddress } from '../../net/datagram-socket.js';
import { checkPositive, InvalidParameterError } from '../../net/errors.js';
import { equalBytes, isAllZero, toHex } from '../../crypto/bytes.js';
import { Eid } from '../../crypto/eid.js';
import { HandshakeState } from '../../crypto/noise/handshake-state.js';
import type { StaticDhCache } from '../../crypto/noise/static-dh-cache.js';
import type { CryptoSuite, KeyPair } from '../../crypto/suite.js';
import { responderMachine } from '../../machines/handshake.machine.js';
import { CookieJar } from './cookie-jar.js';
import { LoadMeter } from './load-meter.js';
import { mac1Key, mac2Of, verifyMac1 } from './macs.js';
import { handshakePrologue } from './prologue.js';
import {
  HANDSHAKE_PROTOCOL,
  type HandshakeResult,
  type RejectReason,
  rejectCode,
} from './result.js';
import { TimestampTable } from './timestamp-table.js';
import {
  assemble,
  decodeInitiatePayload,
  encodeResponsePayload,
  initiateNoiseMessage,
  MAX_HANDSHAKE_DATA,
  MIN_INITIATE_BYTES,
  MIN_RESPONSE_BYTES,
  PacketType,
  readHeader,
} from './wire.js';

/** What the responder's accept policy sees of a connect request, after authentication. */
export interface ConnectRequest {
  /** The initiator's static public key: its EID. */
  readonly peerPublicKey: Uint8Array;
  readonly from: SocketAddress;
  readonly request: Uint8Array;
}

/** An accept policy's answer. */
export type AcceptDecision =
  | { readonly accept: true; readonly response?: Uint8Array }
  | { readonly accept: false; readonly reason: RejectReason };

export interface ResponderOptions {
  readonly suite: CryptoSuite;
  readonly clock: Clock;
  /** This host's static key pair; initiators address it by its public key. */
  readonly identity: KeyPair;
  /** Sends one datagram. */
  readonly send: (packet: Uint8Array, to: SocketAddress) => void;
  /** Allocates the id initiators put on packets to this host; the host keeps them unique. */
  readonly allocateChannelId: () => number;
  /** Called with each new session, half-open, its keys ready. */
  readonly onSession: (session: ResponderSession) => void;
  /** Decides on each authenticated request; accepts all by default. */
  readonly accept?: (request: ConnectRequest) => AcceptDecision;
  /**
   * Handshakes a second the responder answers with Diffie-Hellman work before it demands cookies
   * (default 1000); a burst of as many is allowed.
   */
  readonly cookieThresholdPerSecond?: number;
  /** Most half-open sessions at once (default 10,000); beyond it INITIATEs are dropped. */
  readonly maxHalfOpen?: number;
  /** How long a session waits for the initiator's proof of keys (default 15 s). */
  readonly halfOpenTimeoutMs?: number;
  /** Initiator identities whose last timestamp is remembered (default 100,000). */
  readonly timestampCapacity?: number;
  /** Remembered static-static DH results of this identity (see {@link StaticDhCache}). */
  readonly staticDhCache?: StaticDhCache;
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** Counters of a responder: every INITIATE ends in exactly one of them but `received`. */
export interface ResponderStats {
  received: number;
  /** Too short, wrong version, bad header or bad payload encoding. */
  malformed: number;
  /** mac1 wrong: not addressed to this identity, or garbled. */
  badMac1: number;
  /** Answered with a cookie reply because the responder was under load. */
  cookiesSent: number;
  /** Noise message 1 failed to authenticate. */
  authFailed: number;
  /** An old INITIATE: its timestamp is not newer than one already accepted. */
  replayed: number;
  /** The same INITIATE again while its session is half-open: the cached reply went out again. */
  retransmissions: number;
  /** Dropped because the half-open limit was reached. */
  overloaded: number;
  /**
   * Accepted by policy but unanswered: the RESPONSE would have been larger than the INITIATE,
   * and an unvalidated address never gets more bytes than it sent (anti-amplification).
   */
  tooLarge: number;
  rejected: number;
  accepted: number;
}

/** One session the responder answered; the channel confirms it or lets it expire. */
export interface ResponderSession {
  readonly result: HandshakeResult;
  readonly actor: Actor<typeof responderMachine>;
  /** The channel authenticated a packet under the session keys: the initiator holds them. */
  confirm(): void;
  /** Drops the session (its half-open state, its cached reply). */
  close(): void;
}

interface HalfOpen {
  readonly initiate: Uint8Array;
  readonly reply: Uint8Array;
  readonly session: ResponderSession;
}

/**
 * The responder side of the handshake for one identity on one socket, sans IO. It keeps no state
 * for an INITIATE until Noise has authenticated it: the checks run cheapest first (header, mac1,
 * cookie when under load), Diffie-Hellman only after them, and a replayed INITIATE is refused by
 * its timestamp.
 */
export class HandshakeResponder {
  readonly stats: ResponderStats = {
    received: 0,
    malformed: 0,
    badMac1: 0,
    cookiesSent: 0,
    authFailed: 0,
    replayed: 0,
    retransmissions: 0,
    overloaded: 0,
    tooLarge: 0,
    rejected: 0,
    accepted: 0,
  };
  readonly #options: ResponderOptions;
  readonly #mac1Key: Uint8Array;
  readonly #cookies: CookieJar;
  readonly #load: LoadMeter;
  readonly #timestamps: TimestampTable;
  readonly #maxHalfOpen: number;
  readonly #halfOpenTimeoutMs: number;
  /** Half-open sessions by the INITIATE's ephemeral key, which names its Noise message. */
  readonly #halfOpen = new Map<string, HalfOpen>();

  constructor(options: ResponderOptions) {
    this.#options = options;
    const rate = checkPositive(
      'cookieThresholdPerSecond',
      options.cookieThresholdPerSecond ?? 1000,
    );
    this.#maxHalfOpen = checkPositive('maxHalfOpen', options.maxHalfOpen ?? 10_000);
    this.#halfOpenTimeoutMs = checkPositive(
      'halfOpenTimeoutMs',
      options.halfOpenTimeoutMs ?? 15_000,
    );
    const capacity = checkPositive('timestampCapacity', options.timestampCapacity ?? 100_000);
    this.#mac1Key = mac1Key(options.suite, options.identity.publicKey);
    this.#cookies = new CookieJar(options.suite, options.clock, options.identity.publicKey);
    this.#load = new LoadMeter(options.clock, rate, rate);
    this.#timestamps = new TimestampTable(capacity);
  }

  /** Sessions waiting for confirmation. */
  get halfOpenCount(): number {
    return this.#halfOpen.size;
  }

  /** Takes one INITIATE from the network; anything wrong is dropped and counted. */
  handle(packet: Uint8Array, from: SocketAddress): void {
    this.stats.received++;
    const header = readHeader(packet);
    if (header === null || header.type !== PacketType.initiate) return this.#count('malformed');
    if (packet.length < MIN_INITIATE_BYTES) return this.#count('malformed');
    if (!verifyMac1(this.#options.suite, this.#mac1Key, packet)) return this.#count('badMac1');
    const noiseMessage = initiateNoiseMessage(packet);
    const pending = this.#halfOpen.get(ephemeralKeyOf(noiseMessage));
    if (pending !== undefined && equalBytes(initiateNoiseMessage(pending.initiate), noiseMessage)) {
      this.stats.retransmissions++;
      pending.session.actor.send({ type: 'INITIATE_AGAIN' });
      return;
    }
    // Under load a valid mac2 is required. A non-zero mac2 is checked at any time: it is either a
    // stale cookie (the reply brings a fresh one) or a damaged packet.
    const wantsCookie = this.#load.underLoad || !isAllZero(mac2Of(packet));
    if (wantsCookie && !this.#cookies.verify(packet, from)) {
      this.stats.cookiesSent++;
      this.#options.send(this.#cookies.reply(packet, from, header.channelId), from);
      return;
    }
    if (this.#halfOpen.size >= this.#maxHalfOpen) return this.#count('overloaded');
    this.#load.take();
    this.#answer(packet, noiseMessage, header.channelId, from);
  }

  #answer(packet: Uint8Array, message: Uint8Array, peerChannelId: number, from: SocketAddress) {
    const { suite, identity } = this.#options;
    const noise = new HandshakeState(suite, {
      protocolName: HANDSHAKE_PROTOCOL,
      initiator: false,
      prologue: handshakePrologue(peerChannelId),
      s: identity,
      staticDhCache: this.#options.staticDhCache,
    });
    let plaintext: Uint8Array;
    try {
      plaintext = noise.readMessage(message);
    } catch {
      return this.#count('authFailed');
    }
    const payload = decodeInitiatePayload(plaintext);
    const peerPublicKey = noise.remoteStaticKey;
    if (payload === null || peerPublicKey === undefined) return this.#count('malformed');
    const peer = toHex(peerPublicKey);
    if (!this.#timestamps.isFresh(peer, payload.timestamp)) return this.#count('replayed');
    const decision = this.#decide({ peerPublicKey, from, request: payload.request });
    if (!decision.accept) {
      // Authenticated refusal; no state kept, so a retransmitted INITIATE is simply refused again.
      this.stats.rejected++;
      const body = noise.writeMessage(
        encodeResponsePayload({
          channelId: 0,
          status: rejectCode(decision.reason),
          response: new Uint8Array(0),
        }),
      );
      // A refusal carries no data: always smaller than the INITIATE (MIN_RESPONSE_BYTES).
      this.#options.send(assemble(PacketType.response, peerChannelId, body), from);
      return;
    }
    const response = decision.response ?? new Uint8Array(0);
    if (MIN_RESPONSE_BYTES + response.length > packet.length) return this.#count('tooLarge');
    const localChannelId = this.#options.allocateChannelId();
    const body = noise.writeMessage(
      encodeResponsePayload({ channelId: localChannelId, status: 0, response }),
    );
    const reply = assemble(PacketType.response, peerChannelId, body);
    this.#timestamps.accept(peer, payload.timestamp);
    const keys = noise.split();
    const result: HandshakeResult = {
      initiator: false,
      sendKey: keys.sendKey,
      receiveKey: keys.receiveKey,
      localChannelId,
      remoteChannelId: peerChannelId,
      handshakeHash: keys.handshakeHash,
      peerPublicKey,
      peerEid: Eid.fromPublicKey(peerPublicKey),
      peerAddress: from,
      request: payload.request,
      response,
    };
    this.stats.accepted++;
    // The reply goes first: whatever the new channel sends at once must not reach the initiator
    // before the keys to read it (it would be dropped there, and counted here as a loss).
    this.#options.send(reply, from);
    this.#open(ephemeralKeyOf(message), packet, reply, result);
  }

  /** Ends every half-open session, so that no reply is resent once the socket is gone. */
  closeAll(): void {
    for (const { session } of [...this.#halfOpen.values()]) session.close();
  }

  #decide(request: ConnectRequest): AcceptDecision {
    const decision = this.#options.accept?.(request) ?? { accept: true };
    if (decision.accept && (decision.response?.length ?? 0) > MAX_HANDSHAKE_DATA) {
      throw new InvalidParameterError('response', `at most ${MAX_HANDSHAKE_DATA} bytes`);
    }
    return decision;
  }

  #open(key: string, initiate: Uint8Array, reply: Uint8Array, result: HandshakeResult): void {
    const actor = createActor(responderMachine, {
      input: {
        halfOpenTimeoutMs: this.#halfOpenTimeoutMs,
        resendReply: () => this.#options.send(reply, result.peerAddress),
      },
      clock: toXStateClock(this.#options.clock),
      inspect: this.#options.inspect,
    });
    const session: ResponderSession = {
      result,
      actor,
      confirm: () => actor.send({ type: 'CONFIRMED' }),
      close: () => actor.send({ type: 'CLOSE' }),
    };
    actor.subscribe((snapshot) => {
      if (snapshot.status === 'done') this.#halfOpen.delete(key);
    });
    // The INITIATE is copied: the socket owns its receive buffer.
    this.#halfOpen.set(key, { initiate: initiate.slice(), reply, session });
    actor.start();
    this.#options.onSession(session);
  }

  #count(counter: Exclude<keyof ResponderStats, 'received'>): void {
    this.stats[counter]++;
  }
}

function ephemeralKeyOf(noiseMessage: Uint8Array): string {
  return toHex(noiseMessage.subarray(0, 32));
}
