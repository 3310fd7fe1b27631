import type { InspectionEvent, Observer } from 'xstate';
import type { Clock } from '../../net/clock.js';
import { type DatagramSocket, isIpv6, type SocketAddress } from '../../net/datagram-socket.js';
import { StaticDhCache } from '../../crypto/noise/static-dh-cache.js';
import type { CryptoSuite, KeyPair } from '../../crypto/suite.js';
import type { InitiatorTiming } from '../../machines/handshake.machine.js';
import { HandshakeInitiator, type InitiatorOptions, timestampSource } from './initiator.js';
import {
  type AcceptDecision,
  type ConnectRequest,
  HandshakeResponder,
  type ResponderOptions,
  type ResponderSession,
} from './responder.js';
import { PacketType, readHeader } from './wire.js';

export interface HandshakeEndpointOptions extends Pick<
  ResponderOptions,
  'cookieThresholdPerSecond' | 'maxHalfOpen' | 'halfOpenTimeoutMs' | 'timestampCapacity'
> {
  readonly suite: CryptoSuite;
  readonly clock: Clock;
  readonly identity: KeyPair;
  /** The socket handshakes go out on by default. */
  readonly socket: DatagramSocket;
  /**
   * Sockets on the host's other addresses. Handshakes arrive and are answered on any of them;
   * {@link HandshakeEndpoint.connect} dials from the first socket of the address's family.
   */
  readonly extraSockets?: readonly DatagramSocket[];
  /** Wall-clock milliseconds since the epoch, for INITIATE timestamps (`Date.now` in production). */
  readonly wallClockMs: () => number;
  /** Called with each session this endpoint answers, half-open, and the socket it came on. */
  readonly onSession?: (session: ResponderSession, socket: DatagramSocket) => void;
  readonly accept?: (request: ConnectRequest) => AcceptDecision;
  /** Datagrams that are not handshake packets (the channels' transport packets). */
  readonly onOtherPacket?: (
    packet: Uint8Array,
    from: SocketAddress,
    socket: DatagramSocket,
  ) => void;
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** What {@link HandshakeEndpoint.connect} needs beyond the endpoint's own settings. */
export interface ConnectOptions
  extends Partial<InitiatorTiming>, Pick<InitiatorOptions, 'onOutcome'> {
  readonly request?: Uint8Array;
  readonly padTo?: number;
}

/** Counters of packets the endpoint could not route. */
export interface EndpointStats {
  /** Not a handshake packet of this version. */
  unknownType: number;
  /** A RESPONSE or cookie reply for no handshake in progress. */
  unknownChannel: number;
}

/**
 * One identity's handshakes on its sockets: answers INITIATEs and routes RESPONSEs and cookie
 * replies to the initiator that owns their channel id. Channel ids come from the suite's random
 * source and are never reused while in use. Other packet types go to `onOtherPacket` (the
 * channels), or are counted as unknown without it.
 */
export class HandshakeEndpoint {
  readonly stats: EndpointStats = { unknownType: 0, unknownChannel: 0 };
  readonly responder: HandshakeResponder;
  readonly #options: HandshakeEndpointOptions;
  readonly #initiators = new Map<number, HandshakeInitiator>();
  readonly #inUse = new Set<number>();
  readonly #timestamp: () => bigint;
  readonly #staticDh = new StaticDhCache();
  readonly #sockets: readonly DatagramSocket[];
  /**
   * The socket of the INITIATE being answered: the responder answers within
   * {@link HandshakeEndpoint.handle}, on the socket the packet came in on.
   */
  #arrivedOn: DatagramSocket;

  constructor(options: HandshakeEndpointOptions) {
    this.#options = options;
    this.#sockets = [options.socket, ...(options.extraSockets ?? [])];
    this.#arrivedOn = options.socket;
    this.#timestamp = timestampSource(options.wallClockMs);
    this.responder = new HandshakeResponder({
      ...options,
      staticDhCache: this.#staticDh,
      send: (packet, to) => this.#arrivedOn.send(packet, to),
      allocateChannelId: () => this.#allocate(),
      onSession: (session) => {
        session.actor.subscribe((snapshot) => {
          if (snapshot.status === 'done' && snapshot.value !== 'established') {
            this.release(session.result.localChannelId);
          }
        });
        options.onSession?.(session, this.#arrivedOn);
      },
    });
    for (const socket of this.#sockets) {
      socket.onReceive((packet, from) => this.handle(packet, from, socket));
    }
  }

  /**
   * The socket a handshake with `address` goes out on: the first whose address family is the
   * peer's (an IPv4 socket cannot reach an IPv6 peer, nor the reverse), else the default one.
   */
  socketFor(address: SocketAddress): DatagramSocket {
    const v6 = isIpv6(address.host);
    return (
      this.#sockets.find((socket) => isIpv6(socket.localAddress.host) === v6) ??
      this.#options.socket
    );
  }

  /** Starts a handshake with the holder of `responderPublicKey` at `address`. */
  connect(
    responderPublicKey: Uint8Array,
    address: SocketAddress,
    options: ConnectOptions = {},
  ): HandshakeInitiator {
    const { suite, clock, identity, inspect } = this.#options;
    const socket = this.socketFor(address);
    const channelId = this.#allocate();
    const initiator = new HandshakeInitiator({
      ...options,
      suite,
      clock,
      identity,
      inspect,
      responderPublicKey,
      address,
      channelId,
      timestamp: this.#timestamp,
      staticDhCache: this.#staticDh,
      send: (packet, to) => socket.send(packet, to),
    });
    this.#initiators.set(channelId, initiator);
    void initiator.outcome.then((outcome) => {
      this.#initiators.delete(channelId);
      if (outcome.state !== 'established') this.release(channelId);
    });
    return initiator;
  }

  /** Routes one datagram from `socket` (default: the default socket). */
  handle(packet: Uint8Array, from: SocketAddress, socket = this.#options.socket): void {
    const header = readHeader(packet);
    if (header === null) {
      if (this.#options.onOtherPacket === undefined) this.stats.unknownType++;
      else this.#options.onOtherPacket(packet, from, socket);
    } else if (header.type === PacketType.initiate) {
      this.#arrivedOn = socket;
      this.responder.handle(packet, from);
    } else {
      const initiator = this.#initiators.get(header.channelId);
      if (initiator === undefined) this.stats.unknownChannel++;
      else initiator.handle(packet, from);
    }
  }

  /**
   * Cancels every handshake under way (their outcome is `cancelled`) and ends half-open
   * responder sessions, so that none of their timers sends on a socket about to close.
   */
  close(): void {
    for (const initiator of [...this.#initiators.values()]) initiator.cancel();
    this.responder.closeAll();
  }

  /** Frees a channel id once the channel that used it is gone. */
  release(channelId: number): void {
    this.#inUse.delete(channelId);
  }

  #allocate(): number {
    for (;;) {
      const bytes = this.#options.suite.randomBytes(4);
      const id = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
      // 0 is never an id, so that a zeroed field cannot name a channel.
      if (id !== 0 && !this.#inUse.has(id)) {
        this.#inUse.add(id);
        return id;
      }
    }
  }
}
