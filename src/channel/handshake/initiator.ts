import { type Actor, createActor, type InspectionEvent, type Observer } from 'xstate';
import { type Clock, toXStateClock } from '../../net/clock.js';
import type { SocketAddress } from '../../net/datagram-socket.js';
import { InvalidParameterError } from '../../net/errors.js';
import { Eid } from '../../crypto/eid.js';
import { HandshakeState } from '../../crypto/noise/handshake-state.js';
import type { StaticDhCache } from '../../crypto/noise/static-dh-cache.js';
import type { CryptoSuite, KeyPair } from '../../crypto/suite.js';
import {
  type InitiatorFailure,
  type InitiatorTiming,
  initiatorMachine,
} from '../../machines/handshake.machine.js';
import { openCookieReply } from './cookie-jar.js';
import { mac1Key, writeMac1, writeMac2 } from './macs.js';
import { handshakePrologue } from './prologue.js';
import { HANDSHAKE_PROTOCOL, type HandshakeResult, rejectReasonOf } from './result.js';
import type { RejectReason } from './result.js';
import {
  decodeResponsePayload,
  encodeInitiatePayload,
  HEADER_BYTES,
  initiatePayloadLength,
  MAC_BYTES,
  MAX_HANDSHAKE_DATA,
  PacketType,
  readHeader,
  responseNoiseMessage,
  writeHeader,
} from './wire.js';

/** How an initiator reaches its peer and what it asks for. */
export interface InitiatorOptions extends Partial<InitiatorTiming> {
  /**
   * Called with the outcome the moment the handshake ends, before {@link HandshakeInitiator.outcome}
   * resolves: a caller on a simulated clock can act at the very virtual instant.
   */
  readonly onOutcome?: (outcome: InitiatorOutcome) => void;
  readonly suite: CryptoSuite;
  readonly clock: Clock;
  /** This host's static key pair. */
  readonly identity: KeyPair;
  /** The responder's static public key: its EID. */
  readonly responderPublicKey: Uint8Array;
  /** Where to send the INITIATE. */
  readonly address: SocketAddress;
  /** The id the responder will put on packets to us; the host keeps them unique. */
  readonly channelId: number;
  /** Strictly increasing microsecond timestamps of this identity; see {@link timestampSource}. */
  readonly timestamp: () => bigint;
  /** Sends one datagram. */
  readonly send: (packet: Uint8Array, to: SocketAddress) => void;
  /** Opaque connect request for the responder's accept policy, at most 1024 bytes. */
  readonly request?: Uint8Array;
  /**
   * Pad the INITIATE to this many bytes (default 1200): a path that cannot carry 1200-byte
   * datagrams fails here rather than after the channel starts, and the responder may answer with
   * as many bytes as it received without amplifying.
   */
  readonly padTo?: number;
  /** Remembered static-static DH results of this identity (see {@link StaticDhCache}). */
  readonly staticDhCache?: StaticDhCache;
  /** Observer of the machine's inspection events (the host's inspector). */
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** The outcome of an initiator: its result, or the failure state and why. */
export type InitiatorOutcome =
  | { readonly state: 'established'; readonly result: HandshakeResult }
  | { readonly state: 'rejected'; readonly reason: RejectReason }
  | { readonly state: Exclude<InitiatorFailure, 'rejected'> };

/** Counters of one initiator. */
export interface InitiatorStats {
  initiatesSent: number;
  /** Packets addressed to this handshake that were malformed, forged or stale. */
  dropped: number;
  cookiesReceived: number;
}

const DEFAULT_TIMING: InitiatorTiming = {
  initialRetransmitMs: 250,
  maxRetransmitMs: 2000,
  timeoutMs: 10_000,
};

/**
 * Microsecond timestamps for {@link InitiatorOptions.timestamp}: wall-clock time, but never equal
 * to or below the previous one, so that two handshakes within a clock tick stay ordered. One
 * source per identity per process; across restarts the wall clock carries the order, as in
 * WireGuard.
 */
export function timestampSource(wallClockMs: () => number): () => bigint {
  let last = 0n;
  return () => {
    const now = BigInt(Math.floor(wallClockMs() * 1000));
    last = now > last ? now : last + 1n;
    return last;
  };
}

/**
 * One INITIATE and the Noise state that sent it. An attempt's bytes are resent unchanged but for
 * mac2, so that a responder recognises a retransmission and answers it from its cache.
 */
interface Attempt {
  readonly noise: HandshakeState;
  /** Replaced, never mutated, when a cookie changes mac2: the socket may still hold it. */
  packet: Uint8Array;
  readonly builtAt: number;
}

/**
 * How long one INITIATE is resent before the initiator makes a fresh one (new ephemeral key, new
 * timestamp). It must stay well below a responder's half-open timeout (15 s by default): once a
 * responder forgets the session of an INITIATE, that INITIATE's timestamp is stale and it would
 * never be answered again.
 */
export const INITIATE_LIFETIME_MS = 5000;

/**
 * The initiator's side of one handshake, sans IO: it builds INITIATEs, hands them to `send` on
 * the machine's schedule, and takes the packets the host routes to its channel id through
 * {@link HandshakeInitiator.handle}. A RESPONSE to the current or the previous INITIATE completes
 * it, so a fresh INITIATE never strands an answer already on its way.
 */
export class HandshakeInitiator {
  readonly stats: InitiatorStats = { initiatesSent: 0, dropped: 0, cookiesReceived: 0 };
  /** Resolves once the handshake ends, either way; never rejects. */
  readonly outcome: Promise<InitiatorOutcome>;
  readonly actor: Actor<typeof initiatorMachine>;
  readonly #options: InitiatorOptions;
  readonly #request: Uint8Array;
  readonly #padTo: number;
  readonly #mac1Key: Uint8Array;
  #current: Attempt;
  #previous: Attempt | null = null;
  #cookie: Uint8Array | null = null;
  #settle!: (outcome: InitiatorOutcome) => void;
  #rejectReason: RejectReason = 'refused';
  #result: HandshakeResult | undefined;

  constructor(options: InitiatorOptions) {
    this.#options = options;
    this.#request = options.request ?? new Uint8Array(0);
    if (this.#request.length > MAX_HANDSHAKE_DATA) {
      throw new InvalidParameterError('request', `at most ${MAX_HANDSHAKE_DATA} bytes`);
    }
    this.#padTo = options.padTo ?? 1200;
    this.#mac1Key = mac1Key(options.suite, options.responderPublicKey);
    this.#current = this.#attempt();
    this.outcome = new Promise((resolve) => {
      this.#settle = resolve;
    });
    const input = { ...DEFAULT_TIMING, ...pickTiming(options), sendInitiate: () => this.#send() };
    this.actor = createActor(initiatorMachine, {
      input,
      clock: toXStateClock(options.clock),
      inspect: options.inspect,
    });
    this.actor.subscribe((snapshot) => {
      if (snapshot.status === 'done') this.#finish(snapshot.value as string);
    });
    this.actor.start();
  }

  /** The channel id the responder will use towards us. */
  get channelId(): number {
    return this.#options.channelId;
  }

  /** Takes a RESPONSE or cookie reply addressed to {@link HandshakeInitiator.channelId}. */
  handle(packet: Uint8Array, from: SocketAddress): void {
    if (this.actor.getSnapshot().status !== 'active') return;
    const header = readHeader(packet);
    if (header === null || header.channelId !== this.#options.channelId) return this.#drop();
    if (header.type === PacketType.cookie) return this.#handleCookie(packet);
    if (header.type === PacketType.response) return this.#handleResponse(packet, from);
    this.#drop();
  }

  /** Gives up; the outcome becomes `cancelled`. Does nothing once the handshake has ended. */
  cancel(): void {
    if (this.actor.getSnapshot().status !== 'active') return;
    this.actor.send({ type: 'CANCEL' });
  }

  #attempt(): Attempt {
    const { suite, identity, responderPublicKey, channelId } = this.#options;
    const noise = new HandshakeState(suite, {
      protocolName: HANDSHAKE_PROTOCOL,
      initiator: true,
      prologue: handshakePrologue(channelId),
      s: identity,
      rs: responderPublicKey,
      staticDhCache: this.#options.staticDhCache,
    });
    const payload = encodeInitiatePayload(
      { timestamp: this.#options.timestamp(), request: this.#request },
      initiatePayloadLength(this.#request.length, this.#padTo),
    );
    const message = noise.writeMessage(payload);
    const packet = new Uint8Array(HEADER_BYTES + message.length + 2 * MAC_BYTES);
    writeHeader(packet, PacketType.initiate, channelId);
    packet.set(message, HEADER_BYTES);
    writeMac1(suite, this.#mac1Key, packet);
    writeMac2(suite, this.#cookie, packet);
    return { noise, packet, builtAt: this.#options.clock.now() };
  }

  #send(): void {
    if (this.#options.clock.now() - this.#current.builtAt >= INITIATE_LIFETIME_MS) {
      this.#previous = this.#current;
      this.#current = this.#attempt();
    }
    this.stats.initiatesSent++;
    this.#options.send(this.#current.packet, this.#options.address);
  }

  #handleCookie(reply: Uint8Array): void {
    const { suite, responderPublicKey } = this.#options;
    const cookie = openCookieReply(suite, responderPublicKey, this.#current.packet, reply);
    if (cookie === null) return this.#drop();
    this.stats.cookiesReceived++;
    this.#cookie = cookie;
    const packet = this.#current.packet.slice();
    writeMac2(suite, cookie, packet);
    this.#current.packet = packet;
    this.actor.send({ type: 'COOKIE' });
  }

  #handleResponse(packet: Uint8Array, from: SocketAddress): void {
    const message = responseNoiseMessage(packet);
    const answered = this.#read(message);
    if (answered === null) {
      // Forged, garbled or answering an INITIATE two generations old. Noise state is left as it
      // was, so a genuine RESPONSE can still complete the handshake.
      this.#drop();
      this.actor.send({ type: 'AUTH_FAILURE' });
      return;
    }
    const { attempt, plaintext } = answered;
    const payload = decodeResponsePayload(plaintext);
    if (payload === null) return this.#drop();
    if (payload.status !== 0) {
      this.#rejectReason = rejectReasonOf(payload.status);
      this.actor.send({ type: 'REJECTED' });
      return;
    }
    const keys = attempt.noise.split();
    this.#result = {
      initiator: true,
      sendKey: keys.sendKey,
      receiveKey: keys.receiveKey,
      localChannelId: this.#options.channelId,
      remoteChannelId: payload.channelId,
      handshakeHash: keys.handshakeHash,
      peerPublicKey: this.#options.responderPublicKey,
      peerEid: Eid.fromPublicKey(this.#options.responderPublicKey),
      peerAddress: from,
      request: this.#request,
      response: payload.response,
    };
    this.actor.send({ type: 'ACCEPTED' });
  }

  /** Reads a RESPONSE as the answer to the current INITIATE, else to the previous one. */
  #read(message: Uint8Array): { attempt: Attempt; plaintext: Uint8Array } | null {
    for (const attempt of [this.#current, this.#previous]) {
      if (attempt === null) continue;
      try {
        return { attempt, plaintext: attempt.noise.readMessage(message) };
      } catch {
        // Not an answer to this attempt; readMessage left its state untouched.
      }
    }
    return null;
  }

  #drop(): void {
    this.stats.dropped++;
  }

  #finish(state: string): void {
    let outcome: InitiatorOutcome;
    if (state === 'established' && this.#result !== undefined) {
      outcome = { state: 'established', result: this.#result };
    } else if (state === 'rejected') {
      outcome = { state: 'rejected', reason: this.#rejectReason };
    } else {
      outcome = { state: state as Exclude<InitiatorFailure, 'rejected'> };
    }
    this.#options.onOutcome?.(outcome);
    this.#settle(outcome);
  }
}

function pickTiming(options: Partial<InitiatorTiming>): Partial<InitiatorTiming> {
  const timing: { -readonly [K in keyof InitiatorTiming]?: number } = {};
  for (const key of ['initialRetransmitMs', 'maxRetransmitMs', 'timeoutMs'] as const) {
    const value = options[key];
    if (value === undefined) continue;
    if (!(value > 0) || !Number.isFinite(value)) {
      throw new InvalidParameterError(key, `must be a positive number of milliseconds`);
    }
    timing[key] = value;
  }
  return timing;
}
