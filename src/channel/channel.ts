import { BehaviorSubject, type Observable } from 'rxjs';
import { type Actor, createActor, type InspectionEvent, type Observer } from 'xstate';
import type { Clock, TimerHandle } from '../net/clock.js';
import type { DatagramSocket, SocketAddress } from '../net/datagram-socket.js';
import type { CryptoSuite } from '../crypto/suite.js';
import { channelMachine } from '../machines/channel.machine.js';
import {
  type ChannelCloseReason,
  ChannelCore,
  type ChannelCoreOptions,
  type LinkState,
} from './channel-core.js';
import type { HandshakeResult } from './handshake/result.js';

export interface ChannelOptions<T> extends Omit<
  ChannelCoreOptions<T>,
  | 'suite'
  | 'sendKey'
  | 'receiveKey'
  | 'localChannelId'
  | 'remoteChannelId'
  | 'onLinkState'
  | 'onClose'
> {
  readonly suite: CryptoSuite;
  readonly clock: Clock;
  readonly socket: DatagramSocket;
  /** The completed handshake this channel runs on. */
  readonly handshake: HandshakeResult;
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
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
  readonly core: ChannelCore<T>;
  readonly actor: Actor<typeof channelMachine>;
  readonly #linkState: BehaviorSubject<LinkState>;
  readonly #closed: Promise<ChannelCloseReason>;
  readonly #clock: Clock;
  readonly #socket: DatagramSocket;
  readonly #peer: SocketAddress;
  #timer: TimerHandle | undefined;
  #settle!: (reason: ChannelCloseReason) => void;

  constructor(options: ChannelOptions<T>) {
    const { handshake, clock } = options;
    this.#clock = clock;
    this.#socket = options.socket;
    this.#peer = handshake.peerAddress;
    this.#linkState = new BehaviorSubject<LinkState>('up');
    this.#closed = new Promise((resolve) => {
      this.#settle = resolve;
    });
    this.actor = createActor(channelMachine, { inspect: options.inspect }).start();
    this.core = new ChannelCore<T>(
      {
        ...options,
        sendKey: handshake.sendKey,
        receiveKey: handshake.receiveKey,
        localChannelId: handshake.localChannelId,
        remoteChannelId: handshake.remoteChannelId,
        onLinkState: (state) => {
          this.actor.send({ type: LINK_EVENTS[state] });
          this.#linkState.next(state);
        },
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

  /** Resolves once the channel has closed, with why. */
  get closed(): Promise<ChannelCloseReason> {
    return this.#closed;
  }

  /** A datagram the host routed to this channel. */
  handle(datagram: Uint8Array): void {
    this.core.receive(datagram, this.#clock.now());
    this.flush();
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
      // A fresh buffer per datagram: the socket may keep it until it leaves.
      const out = new Uint8Array(this.core.maxDatagramSize);
      const length = this.core.poll(out, now);
      if (length === 0) break;
      if (this.#socket.closed) break;
      this.#socket.send(out.subarray(0, length), this.#peer);
    }
    this.#arm();
  }

  /** Closes the channel and tells the peer. */
  close(errorCode?: number, reason?: string): void {
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
    this.actor.send({ type: 'CLOSED' });
    this.#linkState.complete();
    this.#settle(reason);
  }
}
