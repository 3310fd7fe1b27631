import { BehaviorSubject, type Observable, Subject } from 'rxjs';
import type { InspectionEvent, Observer } from 'xstate';
import type { Channel } from './channel/channel.js';
import type { LinkState } from './channel/channel-core.js';
import { ChannelHost, ConnectError, type HostChannelOptions } from './channel/channel-host.js';
import { ChannelErrorCode } from './channel/frames.js';
import { DIAL_ROUND_MS, type HeldChannel, isQuiet, keepNewChannel } from './channel-choice.js';
import { toHex } from './crypto/bytes.js';
import { Eid } from './crypto/eid.js';
import { Identity } from './crypto/identity.js';
import { createNativeSuite } from './crypto/native-suite.js';
import type { CryptoSuite } from './crypto/suite.js';
import { type Clock, RealClock, type TimerHandle } from './net/clock.js';
import type { DatagramSocket, SocketAddress } from './net/datagram-socket.js';
import { checkNonNegative, InvalidParameterError, SssError } from './net/errors.js';
import { UdpSocket } from './net/udp.js';
import {
  decodeServiceRequest,
  encodeServiceReply,
  encodeServiceRequest,
  ServiceStatus,
} from './streams/service.js';
import { Stream, type StreamContext } from './streams/stream.js';
import { StreamSession, type StreamToken } from './streams/stream-session.js';
import { StreamErrorCode, type StreamState } from './streams/stream-state.js';

export interface HostOptions {
  /** Who the host is (default: a fresh identity from the suite, for a host nobody needs to find again). */
  readonly identity?: Identity;
  /**
   * Sockets to use. Peers may handshake on any of them; a connect goes out on the first socket of
   * the peer address's family, else the first; so a host bound to an IPv4 and an IPv6 address
   * serves and reaches both families. Default: one UDP socket bound to each of `bind`. The host
   * closes sockets it bound, not those it was given.
   */
  readonly sockets?: readonly DatagramSocket[];
  /** `host:port` addresses to bind UDP sockets to when no sockets are given (default 127.0.0.1:0). */
  readonly bind?: readonly SocketAddress[];
  /**
   * Kernel buffer sizes requested for sockets the host binds, bytes (default 4 MiB each). After
   * path MTU discovery a loopback datagram is 64 KiB, and the default buffer of about 200 KB
   * holds only three of them.
   */
  readonly socketBufferBytes?: number;
  /** Streams each peer may have open at once (default 256). */
  readonly maxIncomingStreams?: number;
  /**
   * Bytes by which automatic tuning may grow the receive windows of the streams shared with
   * one peer, together (default 32 MiB). With the 64 KiB initial window of each stream the peer
   * may open, it bounds what a peer can make this host buffer should the application stop
   * reading everything at once; a window set with `setReceiveBuffer` is outside it.
   */
  readonly autoWindowBudget?: number;
  /**
   * How long streams to a peer wait for a new channel once the last one was lost, ms (default
   * 60 s). Until then the host dials the peer again, with backoff; after, the streams fail with
   * the last {@link ConnectError}.
   */
  readonly reconnectGiveUpMs?: number;
  readonly clock?: Clock;
  readonly suite?: CryptoSuite;
  /** Wall-clock milliseconds for handshake timestamps (default `Date.now`). */
  readonly wallClockMs?: () => number;
  readonly channel?: HostChannelOptions;
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** Default of {@link HostOptions.reconnectGiveUpMs}. */
export const DEFAULT_RECONNECT_GIVE_UP_MS = 60_000;
/**
 * Pauses between dials of a lost peer, ms: the first dial goes at once, then the pause doubles
 * from the first value to the longest. A channel that lived less than a dial round (the peer
 * refused it, or it failed at once) does not reset the pause, so two hosts cannot dial each
 * other in a tight loop.
 */
const REDIAL_FIRST_MS = 500;
const REDIAL_MAX_MS = 8_000;
/** Why a host closes a channel it no longer wants, for the peer's log. */
const REPLACED = 'replaced by a newer channel';
const HOST_CLOSED = 'host closed';

/** Socket buffers a host requests for the sockets it binds, bytes. */
export const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** A connect's options: where the peer may be reached. */
export interface HostConnectOptions {
  /** The peer's addresses; the first is tried, the others are failover endpoints. */
  readonly endpoints: readonly SocketAddress[];
}

/** The host is closed. */
export class HostClosedError extends SssError {
  constructor() {
    super('host-closed', 'the host is closed');
  }
}

interface Peer {
  readonly key: Uint8Array;
  readonly session: StreamSession;
  /** A flush is scheduled for the end of this turn. */
  flushScheduled: boolean;
  readonly linkState: BehaviorSubject<LinkState>;
  readonly attached: BehaviorSubject<boolean>;
  channel: Channel<StreamToken> | undefined;
  /** A handshake to the peer is under way. */
  dialing: boolean;
  dialStartedAt: number | undefined;
  /** A channel to the peer was attached once: a failed dial now means the peer was lost. */
  everAttached: boolean;
  /** When the streams last had a channel whose link was not down, while they have none. */
  lostSince: number | undefined;
  redialTimer: TimerHandle | undefined;
  redialDelayMs: number;
  /** Where the application said the peer is. */
  endpoints: readonly SocketAddress[];
  /** Where the last channel reached the peer: dialled when the application named no endpoint. */
  lastAddress: SocketAddress | undefined;
  readonly context: StreamContext;
}

/** A service listening on a host: the streams peers open to it. */
export class Server {
  readonly service: string;
  readonly protocols: ReadonlyMap<string, string>;
  readonly serviceDescription: string;
  readonly #queue: Stream[] = [];
  readonly #newConnection = new Subject<Stream>();
  #onClose: () => void;

  /** @internal */
  constructor(
    service: string,
    serviceDescription: string,
    protocols: ReadonlyMap<string, string>,
    onClose: () => void,
  ) {
    this.service = service;
    this.serviceDescription = serviceDescription;
    this.protocols = protocols;
    this.#onClose = onClose;
  }

  /** Each new connection; while nobody subscribes they queue for {@link Server.accept}. */
  get newConnection$(): Observable<Stream> {
    return this.#newConnection.asObservable();
  }

  /** The next queued connection, or undefined when none waits. */
  accept(): Stream | undefined {
    return this.#queue.shift();
  }

  /** Stops listening; streams already accepted go on. */
  close(): void {
    this.#onClose();
    this.#onClose = () => undefined;
    this.#newConnection.complete();
  }

  /** @internal */
  deliver(stream: Stream): void {
    if (this.#newConnection.observed) this.#newConnection.next(stream);
    else this.#queue.push(stream);
  }
}

/**
 * One identity on one or more sockets: the channels to its peers, the streams on them, and the
 * services it serves. Streams to a peer live as long as the application keeps them; channels
 * come and go underneath (PROTOCOL.md §4.7).
 */
export class Host {
  readonly #identity: Identity;
  readonly #channels: ChannelHost<StreamToken>;
  readonly #sockets: readonly DatagramSocket[];
  readonly #owned: readonly DatagramSocket[];
  readonly #clock: Clock;
  readonly #suite: CryptoSuite;
  readonly #inspect: HostOptions['inspect'];
  readonly #maxIncomingStreams: number | undefined;
  readonly #autoWindowBudget: number | undefined;
  readonly #reconnectGiveUpMs: number;
  readonly #held = new WeakMap<Channel<StreamToken>, HeldChannel>();
  readonly #peers = new Map<string, Peer>();
  /** Servers by service, then protocol. */
  readonly #servers = new Map<string, Map<string, Server>>();
  #closed = false;

  private constructor(
    options: HostOptions,
    sockets: readonly DatagramSocket[],
    owned: DatagramSocket[],
  ) {
    this.#suite = options.suite ?? createNativeSuite();
    this.#identity = options.identity ?? Identity.generate(this.#suite);
    this.#sockets = sockets;
    this.#owned = owned;
    this.#clock = options.clock ?? new RealClock();
    this.#inspect = options.inspect;
    this.#maxIncomingStreams = options.maxIncomingStreams;
    this.#autoWindowBudget = options.autoWindowBudget;
    this.#reconnectGiveUpMs = options.reconnectGiveUpMs ?? DEFAULT_RECONNECT_GIVE_UP_MS;
    this.#channels = new ChannelHost<StreamToken>({
      suite: this.#suite,
      clock: this.#clock,
      identity: this.#identity.keyPair(),
      socket: sockets[0] as DatagramSocket,
      extraSockets: sockets.slice(1),
      wallClockMs: options.wallClockMs ?? Date.now,
      channel: options.channel,
      inspect: options.inspect,
      source: (handshake) => this.#peer(handshake.peerEid.publicKey).session,
      onChannel: (channel) => this.#attach(channel, false),
    });
  }

  /** A host on the given sockets, or on UDP sockets bound to `bind` (default 127.0.0.1:0). */
  static async create(options: HostOptions): Promise<Host> {
    if (options.autoWindowBudget !== undefined) {
      checkNonNegative('autoWindowBudget', options.autoWindowBudget);
    }
    if (options.sockets !== undefined) {
      if (options.sockets.length === 0) {
        throw new InvalidParameterError('sockets', 'at least one socket is needed');
      }
      return new Host(options, options.sockets, []);
    }
    const addresses = options.bind ?? [{ host: '127.0.0.1', port: 0 }];
    const bound: DatagramSocket[] = [];
    try {
      const buffer = options.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES;
      for (const address of addresses) {
        bound.push(
          await UdpSocket.bind({ ...address, recvBufferSize: buffer, sendBufferSize: buffer }),
        );
      }
    } catch (error) {
      await Promise.all(bound.map((socket) => socket.close()));
      throw error;
    }
    return new Host(options, bound, bound);
  }

  /** This host's EID: its public key. */
  get eid(): Eid {
    return this.#identity.eid;
  }

  /**
   * @internal The stream session shared with the host `eid`, if any: for tests and diagnostics
   * (its `streams` map is empty once every stream with that peer is collected).
   */
  streamSession(eid: Eid): StreamSession | undefined {
    return this.#peers.get(toHex(eid.publicKey))?.session;
  }

  /** @internal The channel carrying the streams shared with the host `eid`, if any: for tests. */
  channelTo(eid: Eid): Channel<StreamToken> | undefined {
    return this.#peers.get(toHex(eid.publicKey))?.channel;
  }

  /** The addresses the host's sockets are bound to. */
  get addresses(): SocketAddress[] {
    return this.#sockets.map((socket) => socket.localAddress);
  }

  /**
   * Opens a top-level stream to `(service, protocol)` at the host `eid`. The stream is returned
   * at once; what is written queues until the channel is up. It ends with
   * {@link ServiceNotFoundError} on `error$` if nobody there serves the pair.
   */
  connect(eid: Eid, service: string, protocol: string, options: HostConnectOptions): Stream {
    this.#checkOpen();
    if (options.endpoints.length === 0) {
      throw new InvalidParameterError('endpoints', 'at least one address of the peer is needed');
    }
    const request = encodeServiceRequest(service, protocol);
    const peer = this.#peer(eid.publicKey);
    peer.endpoints = options.endpoints;
    const state = peer.session.open(undefined);
    const stream = new Stream(state, peer.context, { service, protocol });
    stream.writeRecord(request);
    // Substreams wait until the service has the request (see StreamState.serviceRequestEnd).
    state.serviceRequestEnd = state.send.writeOffset;
    this.#ensureChannel(peer);
    return stream;
  }

  /**
   * Serves `service` under `protocol`. One service may be served under several protocols, by
   * calling again with another protocol. @throws InvalidParameterError if the pair is served.
   */
  listen(
    service: string,
    serviceDescription: string,
    protocol: string,
    protocolDescription: string,
  ): Server {
    this.#checkOpen();
    encodeServiceRequest(service, protocol);
    const byProtocol = this.#servers.get(service) ?? new Map<string, Server>();
    if (byProtocol.has(protocol)) {
      throw new InvalidParameterError('protocol', `${service} is already served over ${protocol}`);
    }
    const server = new Server(
      service,
      serviceDescription,
      new Map([[protocol, protocolDescription]]),
      () => byProtocol.delete(protocol),
    );
    byProtocol.set(protocol, server);
    this.#servers.set(service, byProtocol);
    return server;
  }

  /** Closes every channel and socket the host made; streams end. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const peer of this.#peers.values()) {
      if (peer.redialTimer !== undefined) this.#clock.clearTimer(peer.redialTimer);
      // What this turn wrote (a last record, a FIN) goes before the CLOSE, as far as the
      // congestion window lets it; the peer's streams report what did not arrive.
      peer.channel?.flush();
      peer.channel?.close(ChannelErrorCode.noError, HOST_CLOSED);
      peer.linkState.complete();
      peer.attached.complete();
    }
    this.#channels.endpoint.close();
    for (const byProtocol of this.#servers.values()) {
      for (const server of byProtocol.values()) server.close();
    }
    await Promise.all(this.#owned.map((socket) => socket.close()));
  }

  #checkOpen(): void {
    if (this.#closed) throw new HostClosedError();
  }

  #peer(key: Uint8Array): Peer {
    const name = toHex(key);
    const known = this.#peers.get(name);
    if (known !== undefined) return known;
    const linkState = new BehaviorSubject<LinkState>('down');
    const attached = new BehaviorSubject(false);
    const peer: Peer = {
      key,
      linkState,
      attached,
      channel: undefined,
      dialing: false,
      dialStartedAt: undefined,
      everAttached: false,
      lostSince: undefined,
      redialTimer: undefined,
      redialDelayMs: 0,
      endpoints: [],
      lastAddress: undefined,
      flushScheduled: false,
      session: new StreamSession({
        maxIncomingStreams: this.#maxIncomingStreams,
        autoWindowBudget: this.#autoWindowBudget,
        localKey: this.#identity.publicKey,
        peerKey: key,
        randomBytes: (length) => this.#suite.randomBytes(length),
        now: () => this.#clock.now(),
        onIncoming: (state) => this.#onIncoming(peer, state),
      }),
      context: {
        get session() {
          return peer.session;
        },
        peerEid: Eid.fromPublicKey(key),
        linkState$: linkState.asObservable(),
        attached$: attached.asObservable(),
        inspect: this.#inspect,
        flush: () => this.#flush(peer),
        wrap: (state) => new Stream(state, peer.context),
      },
    };
    this.#peers.set(name, peer);
    return peer;
  }

  /**
   * Sends what the peer's streams have ready, at the end of this turn. Writes to many streams in
   * one turn then share packets (64 small request streams took 5 packets each, now 0.12), and
   * application code run from inside the channel's work (a stream event raised while a packet
   * is decoded) can never make the channel re-enter itself: its buffers are shared, and a flush
   * there once overwrote the rest of the packet being decoded.
   */
  #flush(peer: Peer): void {
    if (peer.flushScheduled) return;
    peer.flushScheduled = true;
    this.#clock.setTimer(0, () => {
      peer.flushScheduled = false;
      peer.channel?.flush();
    });
  }

  /** Dials the peer unless a channel is up or a dial is under way. */
  #ensureChannel(peer: Peer): void {
    const live = peer.channel !== undefined && peer.linkState.value !== 'down';
    if (live || peer.dialing || this.#closed) return;
    const known = peer.lastAddress === undefined ? [] : [peer.lastAddress];
    const [first, ...rest] = peer.endpoints.length > 0 ? peer.endpoints : known;
    if (first === undefined) return;
    peer.dialing = true;
    peer.dialStartedAt = this.#clock.now();
    // The streams have had no channel since now at the latest: the give-up clock runs.
    peer.lostSince ??= peer.dialStartedAt;
    this.#channels.open(peer.key, first, { peerEndpoints: rest }, (outcome) => {
      peer.dialing = false;
      if (outcome instanceof ConnectError) return this.#dialFailed(peer, outcome);
      if (this.#closed) return outcome.close(ChannelErrorCode.noError, HOST_CLOSED);
      this.#attach(outcome, true);
    });
  }

  /**
   * A dial failed. A first connect fails its streams at once; a peer that was reached before is
   * dialled again, with backoff, until it has been lost for `reconnectGiveUpMs`.
   */
  #dialFailed(peer: Peer, error: ConnectError): void {
    if (peer.channel !== undefined && peer.linkState.value !== 'down') return;
    const lostFor = this.#clock.now() - (peer.lostSince ?? this.#clock.now());
    if (!peer.everAttached || lostFor >= this.#reconnectGiveUpMs || this.#closed) {
      peer.lostSince = undefined;
      return this.#failStreams(peer, error);
    }
    this.#redialLater(peer);
  }

  #redialLater(peer: Peer): void {
    if (peer.redialTimer !== undefined) return;
    const delay = peer.redialDelayMs;
    peer.redialDelayMs = Math.min(Math.max(delay * 2, REDIAL_FIRST_MS), REDIAL_MAX_MS);
    peer.redialTimer = this.#clock.setTimer(delay, () => {
      peer.redialTimer = undefined;
      if (peer.session.streams.size > 0) this.#ensureChannel(peer);
    });
  }

  /**
   * The streams to a peer have no usable channel: `channel` closed, or its link is down. If any
   * stream is still open they need one, and the host dials the endpoints the application gave,
   * or else the address `channel` last reached the peer at; at once if `channel` served a while.
   */
  #lost(peer: Peer, channel: Channel<StreamToken>): void {
    const now = this.#clock.now();
    peer.lostSince ??= now;
    peer.lastAddress = channel.path.address;
    const held = this.#held.get(channel);
    if (held !== undefined && now - held.attachedAt >= DIAL_ROUND_MS) peer.redialDelayMs = 0;
    if (peer.session.streams.size > 0) this.#redialLater(peer);
  }

  /** A channel to a peer is up: it carries the peer's streams from now on, unless it lost. */
  #attach(channel: Channel<StreamToken>, ours: boolean): void {
    const peer = this.#peer(channel.peerEid.publicKey);
    const previous = peer.channel;
    const now = this.#clock.now();
    const keep = keepNewChannel({
      held: previous === undefined ? undefined : this.#held.get(previous),
      ours,
      lowerKey: peer.session.lowerKey,
      dialStartedAt: peer.dialStartedAt,
      now,
      heldQuiet:
        previous !== undefined &&
        isQuiet(now - previous.core.lastHeardAt, previous.core.recovery.rtt.pto(0)),
    });
    if (!keep) return channel.close(ChannelErrorCode.application, REPLACED);
    this.#held.set(channel, { ours, attachedAt: now });
    peer.channel = channel;
    peer.everAttached = true;
    peer.lostSince = undefined;
    peer.attached.next(true);
    if (previous !== undefined && previous !== channel) {
      peer.session.detach();
      previous.close(ChannelErrorCode.application, REPLACED);
    }
    channel.linkState$.subscribe({
      next: (state) => {
        if (peer.channel !== channel) return;
        peer.linkState.next(state);
        if (state === 'down') this.#lost(peer, channel);
        else peer.lostSince = undefined;
      },
      complete: () => this.#detach(peer, channel),
    });
    for (const stream of peer.session.streams.values()) peer.session.wake(stream);
    channel.flush();
  }

  /**
   * A channel closed. If it carried the peer's streams they wait for the next one, which keeps
   * their data: what was in flight is sent again, and the peer drops what it already had. An
   * orderly close by the peer means its host closed: the streams end.
   */
  #detach(peer: Peer, channel: Channel<StreamToken>): void {
    if (peer.channel !== channel) return;
    peer.channel = undefined;
    peer.session.detach();
    peer.linkState.next('down');
    peer.attached.next(false);
    const reason = channel.closeReason;
    if (reason?.by === 'peer' && reason.errorCode === ChannelErrorCode.noError) {
      peer.session.peerGone(StreamErrorCode.peerClosed);
      return;
    }
    if (!this.#closed) this.#lost(peer, channel);
  }

  /** A top-level stream the peer opened: its first record says what it wants. */
  #onIncoming(peer: Peer, state: StreamState): void {
    const stream = new Stream(state, peer.context);
    const subscription = stream.readyReadRecord$.subscribe(() => {
      const record = stream.readRecord();
      if (record === undefined) return;
      subscription.unsubscribe();
      const request = decodeServiceRequest(record);
      const server =
        request === undefined
          ? undefined
          : this.#servers.get(request.service)?.get(request.protocol);
      if (server === undefined) {
        stream.reset(StreamErrorCode.serviceNotFound);
        return;
      }
      // The peer may have given up on the stream before its request was read. Reset by it,
      // the stream is dead: nobody is told. Closed by it for reading (STOP), our sending
      // direction is reset and no reply can be written (writing threw, out of the packet being
      // decoded), but what the peer wrote is still delivered.
      if (state.peerResetCode !== undefined) return;
      if (state.resetCode === undefined) stream.writeRecord(encodeServiceReply(ServiceStatus.ok));
      server.deliver(stream);
    });
  }

  /** No channel could be made: every stream waiting for one fails with why. */
  #failStreams(peer: Peer, error: ConnectError): void {
    for (const state of [...peer.session.streams.values()]) state.events.failed(error);
  }
}
