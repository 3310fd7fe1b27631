import type { Clock, TimerHandle } from '../clock.js';
import {
  checkDatagramSize,
  type DatagramSocket,
  type ReceiveHandler,
  type SocketAddress,
} from '../datagram-socket.js';
import { InvalidParameterError, SocketClosedError } from '../errors.js';
import { checkPort, FIRST_EPHEMERAL_PORT } from './addresses.js';
import type { Nat, NatOptions } from './nat.js';
import type { SimNetwork } from './network.js';
import type { VirtualClock } from './virtual-clock.js';

/** Options of {@link SimNetwork.addHost}. */
export interface HostOptions {
  /** Unique name, used by fault plans; defaults to `h<index>`. */
  readonly name?: string;
  /** IPv4 or IPv6 literals this host owns; the first is the default for `bind`. */
  readonly addresses: readonly string[];
  /** Put the host behind a NAT; its own addresses then become private. */
  readonly nat?: NatOptions;
}

/** A host's view of the shared virtual clock: its timers die with it when it crashes. */
class HostClock implements Clock {
  private readonly timers = new Set<TimerHandle>();

  constructor(private readonly clock: VirtualClock) {}

  now(): number {
    return this.clock.now();
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const handle: TimerHandle = this.clock.setTimer(delayMs, () => {
      this.timers.delete(handle);
      callback();
    });
    this.timers.add(handle);
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    if (this.timers.delete(handle)) this.clock.clearTimer(handle);
  }

  cancelAll(): void {
    for (const handle of this.timers) this.clock.clearTimer(handle);
    this.timers.clear();
  }
}

/** A socket of a simulated host, with exactly the {@link DatagramSocket} interface. */
export class SimSocket implements DatagramSocket {
  private handler: ReceiveHandler | null = null;
  private isClosed = false;
  /** Set when the host crashed: the socket is gone but its owner was not told. */
  dead = false;
  private local: SocketAddress;

  constructor(
    private readonly net: SimNetwork,
    readonly host: SimHost,
    address: string,
    readonly port: number,
  ) {
    this.local = Object.freeze({ host: address, port });
  }

  get localAddress(): SocketAddress {
    return this.local;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(data: Uint8Array, to: SocketAddress): void {
    if (this.isClosed) throw new SocketClosedError();
    checkDatagramSize(data, to);
    this.net.send(this, data, to);
  }

  onReceive(handler: ReceiveHandler | null): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    if (!this.isClosed) {
      this.isClosed = true;
      this.handler = null;
      this.host.release(this);
    }
    return Promise.resolve();
  }

  /** Hands a datagram to the application. */
  receive(data: Uint8Array, from: SocketAddress): void {
    this.handler?.(data, from);
  }

  /** Moves the socket to a new address of its host, as when an interface is renumbered. */
  readdress(address: string): void {
    this.local = Object.freeze({ host: address, port: this.port });
  }
}

/** A simulated machine: addresses, sockets, a clock whose timers die with it, and a NAT maybe. */
export class SimHost {
  /** Timers of this host; cancelled when it crashes. Give it to the code running on the host. */
  readonly clock: Clock;
  private readonly hostClock: HostClock;
  private readonly ports = new Map<string, Map<number, SimSocket>>();
  private readonly restartListeners = new Set<() => void>();
  private isUp = true;
  nat: Nat | null;

  constructor(
    private readonly net: SimNetwork,
    readonly name: string,
    /** Position in the network; identifies the host in partitions. */
    readonly index: number,
    private addressList: string[],
    nat: Nat | null,
  ) {
    this.hostClock = new HostClock(net.clock);
    this.clock = this.hostClock;
    this.nat = nat;
    for (const address of addressList) this.ports.set(address, new Map());
  }

  /** The addresses this host owns (private ones, if it is behind a NAT). */
  get addresses(): readonly string[] {
    return this.addressList;
  }

  /** False between {@link SimNetwork.crash} and {@link SimNetwork.restart}. */
  get up(): boolean {
    return this.isUp;
  }

  /**
   * Opens a socket. `port` 0 or omitted picks a free ephemeral port; `address` defaults to the
   * host's first address.
   * @throws InvalidParameterError if the port is taken, the address is not this host's, or the
   * host is down.
   */
  bind(port = 0, address: string = this.addressList[0] as string): SimSocket {
    checkPort(port, 'port');
    const bound = this.ports.get(address);
    if (bound === undefined) {
      throw new InvalidParameterError(
        'address',
        `${address} is not an address of host ${this.name}`,
      );
    }
    if (!this.isUp) throw new InvalidParameterError('host', `host ${this.name} is down`);
    const chosen = port === 0 ? this.freePort(bound) : port;
    if (bound.has(chosen)) {
      throw new InvalidParameterError(
        'port',
        `${address}:${chosen} is already bound on ${this.name}`,
      );
    }
    const socket = new SimSocket(this.net, this, address, chosen);
    bound.set(chosen, socket);
    return socket;
  }

  /** Calls `listener` after each restart, so the host's program can start again. */
  onRestart(listener: () => void): () => void {
    this.restartListeners.add(listener);
    return () => this.restartListeners.delete(listener);
  }

  /** The socket bound to `address:port`, if any. */
  socketAt(address: string, port: number): SimSocket | undefined {
    return this.ports.get(address)?.get(port);
  }

  release(socket: SimSocket): void {
    const bound = this.ports.get(socket.localAddress.host);
    if (bound?.get(socket.port) === socket) bound.delete(socket.port);
    this.nat?.release(socket);
  }

  crash(): void {
    this.isUp = false;
    this.hostClock.cancelAll();
    for (const bound of this.ports.values()) {
      for (const socket of bound.values()) {
        socket.dead = true;
        this.nat?.release(socket);
      }
      bound.clear();
    }
  }

  restart(): void {
    this.isUp = true;
    for (const listener of [...this.restartListeners]) listener();
  }

  renumber(from: string, to: string): void {
    const bound = this.ports.get(from);
    if (bound === undefined) return;
    this.ports.delete(from);
    this.ports.set(to, bound);
    this.addressList = this.addressList.map((address) => (address === from ? to : address));
    for (const socket of bound.values()) socket.readdress(to);
  }

  private freePort(bound: Map<number, SimSocket>): number {
    for (let port = FIRST_EPHEMERAL_PORT; port < 65536; port++) {
      if (!bound.has(port)) return port;
    }
    throw new InvalidParameterError('port', `no free ephemeral port on ${this.name}`);
  }
}
