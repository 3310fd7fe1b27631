import type { InspectionEvent, Observer } from 'xstate';
import type { Clock } from '../net/clock.js';
import type { DatagramSocket, SocketAddress } from '../net/datagram-socket.js';
import type { CryptoSuite, KeyPair } from '../crypto/suite.js';
import { Channel, type ChannelOptions } from './channel.js';
import type { FrameSource } from './channel-core.js';
import {
  type ConnectOptions,
  type EndpointStats,
  HandshakeEndpoint,
  type HandshakeEndpointOptions,
} from './handshake/endpoint.js';
import type { HandshakeResult } from './handshake/result.js';
import { SssError } from '../net/errors.js';
import { emptyTransportHeader, readHeader, type TransportHeader } from './packet-codec.js';

/** Channel settings a host applies to every channel it makes. */
export type HostChannelOptions = Omit<
  ChannelOptions<never>,
  'suite' | 'clock' | 'socket' | 'handshake' | 'source' | 'inspect' | 'peerEndpoints'
>;

export interface ChannelHostOptions<T> extends Pick<
  HandshakeEndpointOptions,
  'accept' | 'cookieThresholdPerSecond' | 'maxHalfOpen' | 'halfOpenTimeoutMs' | 'timestampCapacity'
> {
  readonly suite: CryptoSuite;
  readonly clock: Clock;
  readonly identity: KeyPair;
  /** Handshakes and channels. */
  readonly socket: DatagramSocket;
  /**
   * Sockets on the host's other addresses. Peers may handshake with the host on any of them,
   * fail over or migrate to them; a connect goes out on the first socket of the peer address's
   * family (so a host with an IPv4 and an IPv6 socket reaches peers of both).
   */
  readonly extraSockets?: readonly DatagramSocket[];
  /** Wall-clock milliseconds for handshake timestamps (`Date.now` in production). */
  readonly wallClockMs: () => number;
  /** The frame source of each new channel (the stream layer), given its handshake. */
  readonly source?: (handshake: HandshakeResult) => FrameSource<T>;
  /** Called with each channel a peer opened to us. */
  readonly onChannel?: (channel: Channel<T>) => void;
  readonly channel?: HostChannelOptions;
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** A connect's handshake settings, and the peer's other addresses to fail over to. */
export interface ChannelConnectOptions extends ConnectOptions {
  readonly peerEndpoints?: readonly SocketAddress[];
}

/** Counters of a host's socket beyond those of each channel. */
export interface ChannelHostStats {
  datagramsReceived: number;
  /** Transport packets for a channel id this host does not have. */
  unknownChannel: number;
  /** Datagrams that are neither handshake nor transport packets. */
  malformed: number;
  readonly handshake: EndpointStats;
}

/** A connect that did not produce a channel. */
export class ConnectError extends SssError {
  /** The handshake's final state: `timedOut`, `rejected`, `authenticationFailed`, `cancelled`. */
  readonly state: string;

  constructor(state: string) {
    super('connect-failed', `the handshake ended ${state}`);
    this.state = state;
  }
}

/**
 * One identity on one socket: the handshake endpoint and every channel, found by the channel id
 * in each datagram. Packets for unknown channels, and anything that is not a packet of ours,
 * are dropped and counted here; what reaches a channel is counted in its own statistics.
 */
export class ChannelHost<T = never> {
  readonly stats: ChannelHostStats;
  readonly endpoint: HandshakeEndpoint;
  readonly #options: ChannelHostOptions<T>;
  readonly #channels = new Map<number, Channel<T>>();
  readonly #header: TransportHeader = emptyTransportHeader();

  constructor(options: ChannelHostOptions<T>) {
    this.#options = options;
    this.endpoint = new HandshakeEndpoint({
      ...options,
      onOtherPacket: (packet, from, socket) => this.#route(packet, from, socket),
      onSession: (session, socket) => {
        const channel = this.#open(session.result, socket);
        // The initiator proves it holds the keys with its first packet on the channel.
        channel.core.onFirstPacket(() => session.confirm());
        this.#options.onChannel?.(channel);
      },
    });
    this.stats = {
      datagramsReceived: 0,
      unknownChannel: 0,
      malformed: 0,
      handshake: this.endpoint.stats,
    };
    for (const socket of [options.socket, ...(options.extraSockets ?? [])]) {
      socket.onReceive((packet, from) => this.handle(packet, from, socket));
    }
  }

  /** Channels open now, by local channel id. */
  get channels(): ReadonlyMap<number, Channel<T>> {
    return this.#channels;
  }

  /** Handshakes with the holder of `peerPublicKey` at `address` and opens a channel. */
  connect(
    peerPublicKey: Uint8Array,
    address: SocketAddress,
    options?: ChannelConnectOptions,
  ): Promise<Channel<T>> {
    return new Promise((resolve, reject) => {
      this.open(peerPublicKey, address, options, (outcome) => {
        if (outcome instanceof ConnectError) reject(outcome);
        else resolve(outcome);
      });
    });
  }

  /**
   * As {@link ChannelHost.connect}, calling `done` with the channel or the error at the very
   * moment the handshake ends rather than in a later promise job.
   */
  open(
    peerPublicKey: Uint8Array,
    address: SocketAddress,
    options: ChannelConnectOptions | undefined,
    done: (outcome: Channel<T> | ConnectError) => void,
  ): void {
    this.endpoint.connect(peerPublicKey, address, {
      ...options,
      onOutcome: (outcome) => {
        if (outcome.state !== 'established') return done(new ConnectError(outcome.state));
        const socket = this.endpoint.socketFor(address);
        const channel = this.#open(outcome.result, socket, options?.peerEndpoints);
        // The first packet confirms the handshake to the responder, so it goes at once.
        channel.core.ping();
        channel.flush();
        done(channel);
      },
    });
  }

  /** Takes one datagram from `socket` (default: the host's first). */
  handle(packet: Uint8Array, from: SocketAddress, socket = this.#options.socket): void {
    this.stats.datagramsReceived++;
    this.endpoint.handle(packet, from, socket);
  }

  #route(packet: Uint8Array, from: SocketAddress, socket: DatagramSocket): void {
    const header = readHeader(packet, this.#header);
    if (header === null) {
      this.stats.malformed++;
      return;
    }
    const channel = this.#channels.get(header.channelId);
    if (channel === undefined) {
      this.stats.unknownChannel++;
      return;
    }
    channel.handle(packet, from, socket);
  }

  #open(
    handshake: HandshakeResult,
    socket: DatagramSocket,
    peerEndpoints?: readonly SocketAddress[],
  ): Channel<T> {
    const { suite, clock, inspect } = this.#options;
    const channel = new Channel<T>({
      ...this.#options.channel,
      suite,
      clock,
      socket,
      handshake,
      inspect,
      source: this.#options.source?.(handshake),
      peerEndpoints,
      socketFor: (address) => this.endpoint.socketFor(address),
    });
    const id = handshake.localChannelId;
    this.#channels.set(id, channel);
    void channel.closed.then(() => {
      this.#channels.delete(id);
      this.endpoint.release(id);
    });
    return channel;
  }
}
