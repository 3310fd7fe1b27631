import { BehaviorSubject, type Observable } from 'rxjs';
import { type Actor, createActor, type InspectionEvent, type Observer } from 'xstate';
import type { Clock, TimerHandle } from '../net/clock.js';
import {
  type DatagramSocket,
  formatAddress,
  MAX_UDP_PAYLOAD_IPV6,
  type SocketAddress,
} from '../net/datagram-socket.js';
import type { CryptoSuite } from '../crypto/suite.js';
import type { Eid } from '../crypto/eid.js';
import { type ChannelEvent, channelMachine } from '../machines/channel.machine.js';
import {
  type ChannelCloseReason,
  ChannelCore,
  type ChannelCoreEvent,
  type ChannelCoreOptions,
  type LinkState,
} from './channel-core.js';
import type { HandshakeResult } from './handshake/result.js';
import type { ChannelPath } from './paths.js';

export interface ChannelOptions<T> extends Omit<
  ChannelCoreOptions<T>,
  | 'suite'
  | 'path'
  | 'alternatePaths'
  | 'sendKey'
  | 'receiveKey'
  | 'localChannelId'
  | 'remoteChannelId'
  | 'onLinkState'
  | 'onEvent'
  | 'onClose'
> {
  readonly suite: CryptoSuite;
  readonly clock: Clock;
  /** The socket the handshake ran on; the channel starts there. */
  readonly socket: DatagramSocket;
  /** The completed handshake this channel runs on. */
  readonly handshake: HandshakeResult;
  /** Other addresses of the peer, reached from `socket`, to fail over to. */
  readonly peerEndpoints?: readonly SocketAddress[];
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** A path as a socket and a peer address. */
export interface SocketPath extends ChannelPath {
  readonly socket: DatagramSocket;
  readonly address: SocketAddress;
}

/** The path from `socket` to `address`. */
export function socketPath(socket: DatagramSocket, address: SocketAddress): SocketPath {
  return {
    key: `${formatAddress(socket.localAddress)}>${formatAddress(address)}`,
    peerHost: address.host,
    socket,
    address,
  };
}

const PATH_EVENTS = {
  'path-validating': 'PATH_VALIDATING',
  'path-validated': 'PATH_VALIDATED',
  'path-failed': 'PATH_FAILED',
} as const;

function machineEvent(event: ChannelCoreEvent<SocketPath>): ChannelEvent {
  if (event.type === 'key-updated') return { type: 'KEY_UPDATED', phase: event.phase };
  return { type: PATH_EVENTS[event.type], path: formatAddress(event.path.address) };
}

/** Datagrams one {@link Channel.flush} sends before it yields to the event loop. */
export const FLUSH_BURST = 64;

const LINK_EVENTS = { up: 'LINK_UP', stalled: 'LINK_STALLED', down: 'LINK_DOWN' } as const;

/**
 * An established channel driven by a socket and a clock: it feeds the {@link ChannelCore}
 * datagrams and timer expiries, sends what the core produces, and keeps one timer at the core's
 * deadline. Link state reaches the application as {@link Channel.linkState$} through the
 * channel machine.
 */
export class Channel<T = never> {
  readonly core: ChannelCore<T, SocketPath>;
  /** The peer's identity, proven by the handshake. */
  readonly peerEid: Eid;
  readonly actor: Actor<typeof channelMachine>;
  readonly #linkState: BehaviorSubject<LinkState>;
  readonly #closed: Promise<ChannelCloseReason>;
  readonly #clock: Clock;
  readonly #scratch = new Uint8Array(MAX_UDP_PAYLOAD_IPV6);
  #timer: TimerHandle | undefined;
  #closeReason: ChannelCloseReason | undefined;
  #settle!: (reason: ChannelCloseReason) => void;

  constructor(options: ChannelOptions<T>) {
    const { handshake, clock } = options;
    this.peerEid = handshake.peerEid;
    this.#clock = clock;
    this.#linkState = new BehaviorSubject<LinkState>('up');
    this.#closed = new Promise((resolve) => {
      this.#settle = resolve;
    });
    const path = socketPath(options.socket, handshake.peerAddress);
    this.actor = createActor(channelMachine, {
      inspect: options.inspect,
      input: { path: formatAddress(path.address) },
    }).start();
    this.core = new ChannelCore<T, SocketPath>(
      {
        ...options,
        path,
        alternatePaths: (options.peerEndpoints ?? []).map((address) =>
          socketPath(options.socket, address),
        ),
        sendKey: handshake.sendKey,
        receiveKey: handshake.receiveKey,
        localChannelId: handshake.localChannelId,
        remoteChannelId: handshake.remoteChannelId,
        onLinkState: (state) => {
          this.actor.send({ type: LINK_EVENTS[state] });
          this.#linkState.next(state);
        },
        onEvent: (event) => this.actor.send(machineEvent(event)),
        onClose: (reason) => this.#onClose(reason),
      },
      clock.now(),
    );
    this.#arm();
  }

  /** Link state, current value first: `up`, `stalled` or `down`. Completes when the channel closes. */
  get linkState$(): Observable<LinkState> {
    return this.#linkState.asObservable();
  }

  /** Why the channel closed, from the moment `linkState$` completes; undefined while open. */
  get closeReason(): ChannelCloseReason | undefined {
    return this.#closeReason;
  }

  /** Resolves once the channel has closed, with why. */
  get closed(): Promise<ChannelCloseReason> {
    return this.#closed;
  }

  /**
   * A datagram the host routed to this channel, from `from` on `socket` (default: the path in
   * use).
   */
  handle(datagram: Uint8Array, from?: SocketAddress, socket?: DatagramSocket): void {
    this.core.receive(datagram, this.#clock.now(), this.#pathOf(from, socket));
    this.flush();
  }

  /** The path datagrams go to now. */
  get path(): SocketPath {
    return this.core.activePath;
  }

  #pathOf(from?: SocketAddress, socket?: DatagramSocket): SocketPath | undefined {
    const active = this.core.activePath;
    if (from === undefined) return undefined;
    const via = socket ?? active.socket;
    if (
      via === active.socket &&
      from.port === active.address.port &&
      from.host === active.address.host
    ) {
      return active;
    }
    const path = socketPath(via, from);
    return this.core.knownPath(path.key) ?? path;
  }

  /**
   * Sends what the core has ready now, then re-arms the timer. At most {@link FLUSH_BURST}
   * datagrams go out per call; the rest follow from a zero-delay timer, so that no caller's loop
   * is unbounded.
   */
  flush(): void {
    const now = this.#clock.now();
    const scratch = this.#scratch;
    for (let sent = 0; ; sent++) {
      if (sent === FLUSH_BURST) return this.#armNow();
      const length = this.core.poll(scratch, now);
      if (length === 0) break;
      const { socket, address } = this.core.destination;
      if (socket.closed) break;
      // A copy of exactly the datagram's size: the socket may keep it until it leaves, and
      // path MTU probes need a buffer far larger than most datagrams.
      socket.send(scratch.slice(0, length), address);
    }
    this.#arm();
  }

  /** Closes the channel and tells the peer. */
  close(errorCode?: number, reason?: string): void {
    if (this.core.closed) return;
    this.actor.send({ type: 'CLOSING' });
    this.core.close(errorCode, reason);
    this.flush();
  }

  #armNow(): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = this.#clock.setTimer(0, () => {
      this.#timer = undefined;
      this.flush();
    });
  }

  #arm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    const deadline = this.core.deadline;
    if (!Number.isFinite(deadline)) return;
    this.#timer = this.#clock.setTimer(Math.max(0, deadline - this.#clock.now()), () => {
      this.#timer = undefined;
      this.core.onTimeout(this.#clock.now());
      this.flush();
    });
  }

  #onClose(reason: ChannelCloseReason): void {
    this.#closeReason = reason;
    this.actor.send({ type: 'CLOSED' });
    this.#linkState.complete();
    this.#settle(reason);
  }
}
