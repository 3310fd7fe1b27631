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
  /** Other addresses of the peer to fail over to. */
  readonly peerEndpoints?: readonly SocketAddress[];
  /** The socket each of `peerEndpoints` is reached from (default: `socket`). */
  readonly socketFor?: (address: SocketAddress) => DatagramSocket;
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
  #timer: TimerHandle | undefined;
  /** Where datagrams for a UDP socket are sealed, one after another; made at the first. */
  #scratch: Uint8Array | undefined;
  /** When {@link Channel.#timer} fires, ms on the clock. */
  #timerAt = 0;
  #closeReason: ChannelCloseReason | undefined;
  /** A flush waits for the socket to finish delivering what it read (`afterDeliveries`). */
  #flushQueued = false;
  /** Inside {@link Channel.handle}: the core is decoding a packet. */
  #receiving = false;
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
          socketPath(options.socketFor?.(address) ?? options.socket, address),
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
   * use). What it calls for (an ACK, data the ACK let out) goes at once, or, on a socket that
   * says when a batch of reads is over, after the batch: one answer for many datagrams.
   */
  handle(datagram: Uint8Array, from?: SocketAddress, socket?: DatagramSocket): void {
    this.#receiving = true;
    try {
      this.core.receive(datagram, this.#clock.now(), this.#pathOf(from, socket));
    } finally {
      this.#receiving = false;
    }
    const via = socket ?? this.core.activePath.socket;
    if (via.afterDeliveries === undefined) {
      this.flush();
    } else if (!this.#flushQueued) {
      this.#flushQueued = true;
      via.afterDeliveries(this.#queuedFlush);
    }
  }

  readonly #queuedFlush = (): void => {
    this.#flushQueued = false;
    this.flush();
  };

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
    for (let sent = 0; ; sent++) {
      if (sent === FLUSH_BURST) return this.#armNow();
      if (!this.#sendNext(now)) break;
    }
    this.#arm();
  }

  /**
   * Sends the next datagram the core has; false when it has none, or its socket is closed. A
   * socket may keep the buffer it is given until the datagram leaves, so each datagram gets one
   * of its own size; but one that says when its queue is empty (`sendQueueEmpty`, as a UDP
   * socket does) hands it to the system at once unless its send buffer is full, and so one
   * scratch buffer serves them all, which spares allocating (and collecting) up to 64 KiB a
   * datagram.
   */
  #sendNext(now: number): boolean {
    // Asked with `in`: reading the getter would ask the system, once more per datagram.
    const reuse = 'sendQueueEmpty' in this.core.activePath.socket;
    const scratch = reuse ? (this.#scratch ??= new Uint8Array(MAX_UDP_PAYLOAD_IPV6)) : undefined;
    const datagram =
      scratch === undefined
        ? this.core.pollDatagram(now)
        : scratch.subarray(0, this.core.poll(scratch, now));
    if (datagram === undefined || datagram.length === 0) return false;
    const { socket, address } = this.core.destination;
    if (socket.closed) return false;
    if (scratch === undefined) {
      socket.send(datagram, address);
    } else if (!('sendQueueEmpty' in socket)) {
      // A path probe to another kind of socket: it gets a copy of its own.
      socket.send(datagram.slice(), address);
    } else {
      socket.send(datagram, address);
      // Queued behind a full system buffer, the scratch is the socket's until the datagram leaves.
      if (socket.sendQueueEmpty === false) this.#scratch = undefined;
    }
    return true;
  }

  /** Closes the channel and tells the peer. */
  close(errorCode?: number, reason?: string): void {
    if (this.core.closed) return;
    this.actor.send({ type: 'CLOSING' });
    this.core.close(errorCode, reason);
    // Closed from an observer of the packet being decoded: the CLOSE goes when it is done, so
    // that it acknowledges that packet and does not overwrite the buffer it is read from.
    if (!this.#receiving) this.flush();
  }

  #armNow(): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timerAt = this.#clock.now();
    this.#timer = this.#clock.setTimer(0, () => {
      this.#timer = undefined;
      this.flush();
    });
  }

  #arm(): void {
    const deadline = this.core.deadline;
    // A timer due no later than the deadline stays: firing early, it finds nothing due and arms
    // again. Every datagram moves the deadline (the loss timer follows each acknowledgement), and
    // setting a timer once a probe timeout instead of once a datagram saves a timer per datagram.
    if (this.#timer !== undefined && this.#timerAt <= deadline && Number.isFinite(deadline)) {
      return;
    }
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    if (!Number.isFinite(deadline)) return;
    const now = this.#clock.now();
    this.#timerAt = Math.max(now, deadline);
    this.#timer = this.#clock.setTimer(this.#timerAt - now, () => {
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
