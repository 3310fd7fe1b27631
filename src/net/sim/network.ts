import type { Clock, TimerHandle } from '../clock.js';
import {
  checkDatagramSize,
  type DatagramSocket,
  type ReceiveHandler,
  type SocketAddress,
} from '../datagram-socket.js';
import { InvalidParameterError, SocketClosedError } from '../errors.js';
import { Prng } from '../prng.js';
import type { SimEvent } from './event-queue.js';
import { type DropReason, IDEAL_LINK, Link, type LinkParams, linkParams } from './link.js';
import { type LinkPreset, presetLinks } from './presets.js';
import { hashBytes, Trace, type TracedPacket, type TraceRecord } from './trace.js';
import { VirtualClock } from './virtual-clock.js';

/** Options of {@link SimNetwork}. */
export interface SimNetworkOptions {
  /** Seeds every random draw of the run. */
  readonly seed: number;
  /** Parameters of every link not configured otherwise; defaults to {@link IDEAL_LINK}. */
  readonly defaultLink?: Partial<LinkParams>;
  /** Receives every trace record (e.g. to write JSONL); costs an object per event. */
  readonly onTrace?: (record: TraceRecord) => void;
}

/** A NAT in front of one host: endpoint-independent mapping and filtering (RFC 4787 "full cone"). */
export interface NatOptions {
  /** The address peers see; packets to it are translated to the host's sockets. */
  readonly publicAddress: string;
  /**
   * A mapping unused by outbound traffic this long is forgotten (RFC 4787 REQ-5 asks for at
   * least 2 minutes); `Infinity` keeps mappings forever.
   */
  readonly mappingTimeoutMs?: number;
}

/** Options of {@link SimNetwork.addHost}. */
export interface HostOptions {
  /** Unique name, used by fault plans; defaults to `h<index>`. */
  readonly name?: string;
  /** IPv4 or IPv6 literals this host owns; the first is the default for `bind`. */
  readonly addresses: readonly string[];
  /** Put the host behind a NAT; its own addresses then become private. */
  readonly nat?: NatOptions;
}

/** Either side of a link: a host (all its addresses) or one address. */
export type LinkEnd = SimHost | string;

const FIRST_EPHEMERAL_PORT = 49152;
const PORT_SPACE = 65536 - FIRST_EPHEMERAL_PORT;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$/;

function checkAddress(address: unknown, name: string): string {
  if (typeof address !== 'string' || !(IPV4.test(address) || IPV6.test(address))) {
    throw new InvalidParameterError(
      name,
      `must be an IPv4 or IPv6 literal, got ${String(address)}`,
    );
  }
  return address;
}

function checkPort(port: unknown, name: string): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidParameterError(
      name,
      `must be an integer port in [0, 65535], got ${String(port)}`,
    );
  }
  return port;
}

/** A packet in flight: one object per copy, scheduled directly on the event queue. */
class Packet implements SimEvent, TracedPacket {
  time = 0;
  seq = 0;
  pending = false;

  constructor(
    private readonly net: SimNetwork,
    readonly id: number,
    public data: Uint8Array,
    readonly from: SocketAddress,
    readonly to: SocketAddress,
    readonly source: SimHost,
    readonly payloadHash: number,
  ) {}

  fire(): void {
    this.net.deliver(this);
  }
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

class NatMapping {
  external: SocketAddress;
  lastUsed: number;

  constructor(
    readonly socket: SimSocket,
    external: SocketAddress,
    now: number,
  ) {
    this.external = external;
    this.lastUsed = now;
  }
}

/** The NAT in front of one host. */
class Nat {
  publicAddress: string;
  readonly mappingTimeoutMs: number;
  private readonly bySocket = new Map<SimSocket, NatMapping>();
  private readonly byPort = new Map<number, NatMapping>();
  private nextPort: number;

  constructor(options: NatOptions, prng: Prng) {
    this.publicAddress = options.publicAddress;
    this.mappingTimeoutMs = options.mappingTimeoutMs ?? Number.POSITIVE_INFINITY;
    // Real NATs pick external ports unpredictably; a seeded start keeps that without losing replay.
    this.nextPort = FIRST_EPHEMERAL_PORT + prng.nextInt(PORT_SPACE);
  }

  /** The public source address of a datagram leaving `socket`, creating or refreshing its mapping. */
  outbound(socket: SimSocket, now: number): SocketAddress {
    let mapping = this.bySocket.get(socket);
    if (mapping !== undefined && now - mapping.lastUsed > this.mappingTimeoutMs) {
      this.forget(mapping);
      mapping = undefined;
    }
    if (mapping === undefined) {
      mapping = new NatMapping(socket, this.allocate(), now);
      this.bySocket.set(socket, mapping);
      this.byPort.set(mapping.external.port, mapping);
    }
    mapping.lastUsed = now;
    return mapping.external;
  }

  /** The socket a datagram to public `port` is for, if a live mapping exists. */
  inbound(port: number, now: number): SimSocket | undefined {
    const mapping = this.byPort.get(port);
    if (mapping === undefined) return undefined;
    if (now - mapping.lastUsed > this.mappingTimeoutMs || mapping.socket.dead) {
      this.forget(mapping);
      return undefined;
    }
    return mapping.socket;
  }

  /** Gives every mapping a new external port (and optionally address), as a NAT reboot does. */
  rebind(publicAddress: string): void {
    this.publicAddress = publicAddress;
    const mappings = [...this.bySocket.values()];
    this.byPort.clear();
    for (const mapping of mappings) {
      mapping.external = this.allocate();
      this.byPort.set(mapping.external.port, mapping);
    }
  }

  release(socket: SimSocket): void {
    const mapping = this.bySocket.get(socket);
    if (mapping !== undefined) this.forget(mapping);
  }

  private forget(mapping: NatMapping): void {
    this.bySocket.delete(mapping.socket);
    this.byPort.delete(mapping.external.port);
  }

  private allocate(): SocketAddress {
    for (let tries = 0; tries < PORT_SPACE; tries++) {
      const port = this.nextPort;
      this.nextPort = port + 1 >= 65536 ? FIRST_EPHEMERAL_PORT : port + 1;
      if (!this.byPort.has(port)) return Object.freeze({ host: this.publicAddress, port });
    }
    throw new InvalidParameterError('nat', `all ${PORT_SPACE} external ports are mapped`);
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

type LinkTable<T> = Map<string, Map<string, T>>;

function tableGet<T>(table: LinkTable<T>, from: string, to: string): T | undefined {
  return table.get(from)?.get(to);
}

function tableSet<T>(table: LinkTable<T>, from: string, to: string, value: T): void {
  let row = table.get(from);
  if (row === undefined) {
    row = new Map();
    table.set(from, row);
  }
  row.set(to, value);
}

/** Renames an address in both key positions of a table. */
function tableRename<T>(table: LinkTable<T>, from: string, to: string): void {
  const row = table.get(from);
  if (row !== undefined) {
    table.delete(from);
    table.set(to, row);
  }
  for (const r of table.values()) {
    const value = r.get(from);
    if (value !== undefined) {
      r.delete(from);
      r.set(to, value);
    }
  }
}

/**
 * A deterministic simulated network: hosts with addresses, per-direction links between addresses,
 * partitions, NATs and crashes, all on one virtual clock and one seed. The same seed and the same
 * program give the same trace, byte for byte.
 */
export class SimNetwork {
  /** The one clock of the simulation; hosts' clocks are views of it. */
  readonly clock = new VirtualClock();
  readonly trace: Trace;
  readonly seed: number;
  private readonly prng: Prng;
  private readonly defaultParams: LinkParams;
  private readonly hostList: SimHost[] = [];
  private readonly hostsByName = new Map<string, SimHost>();
  /** Address -> host that owns it as an interface (private if the host is NATed). */
  private readonly interfaces = new Map<string, SimHost>();
  /** NAT public address -> the host behind it. */
  private readonly natAddresses = new Map<string, SimHost>();
  private readonly baseLinks: LinkTable<LinkParams> = new Map();
  private readonly overrideLinks: LinkTable<LinkParams> = new Map();
  private readonly links: LinkTable<Link> = new Map();
  private readonly blocked = new Set<number>();
  private packetCount = 0;

  constructor(options: SimNetworkOptions) {
    this.seed = options.seed;
    this.prng = new Prng(options.seed);
    this.defaultParams = linkParams(options.defaultLink ?? {}, IDEAL_LINK, 'defaultLink');
    this.trace = new Trace(() => this.clock.now());
    if (options.onTrace !== undefined) this.trace.subscribe(options.onTrace);
  }

  /** Virtual time, ms. */
  now(): number {
    return this.clock.now();
  }

  get hosts(): readonly SimHost[] {
    return this.hostList;
  }

  /** Counts of packet events, by kind and drop reason. */
  get stats(): Trace['stats'] {
    return this.trace.stats;
  }

  /** Adds a host. @throws InvalidParameterError for a bad or already used name or address. */
  addHost(options: HostOptions): SimHost {
    const index = this.hostList.length;
    const name = options.name ?? `h${index}`;
    if (this.hostsByName.has(name)) throw new InvalidParameterError('name', `host ${name} exists`);
    if (!Array.isArray(options.addresses) || options.addresses.length === 0) {
      throw new InvalidParameterError('addresses', 'a host needs at least one address');
    }
    const addresses = options.addresses.map((a, i) => this.checkFree(a, `addresses[${i}]`));
    if (new Set(addresses).size !== addresses.length) {
      throw new InvalidParameterError('addresses', 'an address is listed twice');
    }
    let nat: Nat | null = null;
    if (options.nat !== undefined) {
      const publicAddress = this.checkFree(options.nat.publicAddress, 'nat.publicAddress');
      const timeout = options.nat.mappingTimeoutMs ?? Number.POSITIVE_INFINITY;
      if (!(timeout > 0)) {
        throw new InvalidParameterError('nat.mappingTimeoutMs', `must be positive, got ${timeout}`);
      }
      nat = new Nat({ ...options.nat, publicAddress }, this.prng.fork());
    }
    const host = new SimHost(this, name, index, addresses, nat);
    this.hostList.push(host);
    this.hostsByName.set(name, host);
    for (const address of addresses) this.interfaces.set(address, host);
    if (nat !== null) this.natAddresses.set(nat.publicAddress, host);
    return host;
  }

  /** The host called `name`. @throws InvalidParameterError if there is none. */
  host(name: string): SimHost {
    const host = this.hostsByName.get(name);
    if (host === undefined) throw new InvalidParameterError('host', `no host named ${name}`);
    return host;
  }

  /** Sets the parameters of the direction `from` -> `to` (merged over the network default). */
  setLink(from: LinkEnd, to: LinkEnd, params: Partial<LinkParams>): void {
    const full = linkParams(params, this.defaultParams);
    this.forEachPair(from, to, (a, b) => {
      tableSet(this.baseLinks, a, b, full);
      this.refresh(a, b);
    });
  }

  /**
   * Configures both directions between `a` and `b`: `up` is a -> b, `down` is b -> a. A preset
   * name or a single parameter set applies its own pair, or the same to both.
   */
  setLinks(
    a: LinkEnd,
    b: LinkEnd,
    spec: LinkPreset | Partial<LinkParams> | { up: Partial<LinkParams>; down: Partial<LinkParams> },
  ): void {
    const pair =
      typeof spec === 'string'
        ? presetLinks(spec)
        : 'up' in spec && 'down' in spec && typeof spec.up === 'object'
          ? (spec as { up: Partial<LinkParams>; down: Partial<LinkParams> })
          : { up: spec as Partial<LinkParams>, down: spec as Partial<LinkParams> };
    this.setLink(a, b, pair.up);
    this.setLink(b, a, pair.down);
  }

  /** The parameters in force on `from` -> `to` (addresses). */
  linkParams(from: string, to: string): LinkParams {
    return (
      tableGet(this.overrideLinks, from, to) ??
      tableGet(this.baseLinks, from, to) ??
      this.defaultParams
    );
  }

  /**
   * Temporarily changes `from` -> `to` on top of its configured parameters, as a fault does;
   * {@link SimNetwork.clearLinkFaults} restores the configuration.
   */
  impairLink(from: LinkEnd, to: LinkEnd, params: Partial<LinkParams>): void {
    this.forEachPair(from, to, (a, b) => {
      tableSet(this.overrideLinks, a, b, linkParams(params, this.linkParams(a, b)));
      this.refresh(a, b);
    });
    this.trace.record('net', 'impair', { from: this.endName(from), to: this.endName(to) });
  }

  /** Removes every impairment, leaving the configured links. */
  clearLinkFaults(): void {
    const pairs: [string, string][] = [];
    for (const [a, row] of this.overrideLinks) for (const b of row.keys()) pairs.push([a, b]);
    this.overrideLinks.clear();
    for (const [a, b] of pairs) this.refresh(a, b);
    this.trace.record('net', 'clear-link-faults');
  }

  /**
   * Cuts traffic from every host of `a` to every host of `b`, and back unless `oneWay`.
   * Packets already in flight across the cut are dropped when they arrive.
   */
  partition(
    a: readonly SimHost[],
    b: readonly SimHost[],
    options: { oneWay?: boolean } = {},
  ): void {
    this.setBlocked(a, b, options.oneWay === true, true);
    this.trace.record('net', 'partition', this.groupsRecord(a, b, options.oneWay));
  }

  /** Undoes {@link SimNetwork.partition} for these groups (one direction if `oneWay`). */
  heal(a: readonly SimHost[], b: readonly SimHost[], options: { oneWay?: boolean } = {}): void {
    this.setBlocked(a, b, options.oneWay === true, false);
    this.trace.record('net', 'heal', this.groupsRecord(a, b, options.oneWay));
  }

  /** Removes every partition. */
  healAll(): void {
    this.blocked.clear();
    this.trace.record('net', 'heal-all');
  }

  /** Whether packets from `a` to `b` are cut by a partition. */
  isPartitioned(a: SimHost, b: SimHost): boolean {
    return this.blocked.size > 0 && this.blocked.has(a.index * 0x100000 + b.index);
  }

  /** Crashes a host: its sockets vanish, its timers are cancelled, its sends are dropped. */
  crash(host: SimHost): void {
    if (!host.up) return;
    host.crash();
    this.trace.record('net', 'crash', host.name);
  }

  /** Brings a crashed host back and calls its restart listeners; a running host is left alone. */
  restart(host: SimHost): void {
    if (host.up) return;
    this.trace.record('net', 'restart', host.name);
    host.restart();
  }

  /** Gives every NAT mapping of `host` a new external port, and the NAT a new address if given. */
  natRebind(host: SimHost, publicAddress?: string): void {
    const nat = host.nat;
    if (nat === null) throw new InvalidParameterError('host', `host ${host.name} has no NAT`);
    const next =
      publicAddress === undefined || publicAddress === nat.publicAddress
        ? nat.publicAddress
        : this.checkFree(publicAddress, 'publicAddress');
    if (next !== nat.publicAddress) {
      this.natAddresses.delete(nat.publicAddress);
      this.natAddresses.set(next, host);
      this.renameLinks(nat.publicAddress, next);
    }
    nat.rebind(next);
    this.trace.record('net', 'nat-rebind', { host: host.name, address: next });
  }

  /**
   * Renumbers one of `host`'s addresses: its sockets move to the new address and the links
   * configured for the old one follow; packets still addressed to the old one find no route.
   */
  changeAddress(host: SimHost, from: string, to: string): void {
    if (this.interfaces.get(from) !== host) {
      throw new InvalidParameterError('from', `${from} is not an address of host ${host.name}`);
    }
    this.checkFree(to, 'to');
    this.interfaces.delete(from);
    this.interfaces.set(to, host);
    host.renumber(from, to);
    this.renameLinks(from, to);
    this.trace.record('net', 'address-change', { host: host.name, from, to });
  }

  /** Runs `ms` of virtual time. */
  runFor(ms: number): void {
    this.clock.runFor(ms);
  }

  /** Runs until `predicate` holds or `limitMs` passed; returns whether it held. */
  runUntil(predicate: () => boolean, limitMs: number): boolean {
    return this.clock.runUntil(predicate, limitMs);
  }

  /** Runs until nothing is scheduled. @throws SimulationLimitError after `limitMs`. */
  runUntilIdle(limitMs?: number): void {
    this.clock.runUntilIdle(limitMs);
  }

  /** Called by {@link SimSocket.send} after its checks. */
  send(socket: SimSocket, data: Uint8Array, to: SocketAddress): void {
    const source = socket.host;
    const now = this.clock.now();
    const copy = data.slice();
    const from =
      source.nat !== null && !socket.dead ? source.nat.outbound(socket, now) : socket.localAddress;
    const packet = new Packet(this, ++this.packetCount, copy, from, to, source, hashBytes(copy));
    this.trace.sent(packet);
    const link = this.admit(socket, to, copy.length, now);
    if (typeof link === 'string') {
      this.trace.dropped(packet, link);
      return;
    }
    const duplicate = link.duplicates();
    this.launch(packet, link);
    if (duplicate) {
      const twin = new Packet(this, packet.id, data.slice(), from, to, source, packet.payloadHash);
      this.trace.duplicated(twin);
      this.launch(twin, link);
    }
  }

  /** Called when a packet's arrival time comes. */
  deliver(packet: Packet): void {
    const socket = this.receiver(packet);
    if (typeof socket === 'string') {
      this.trace.dropped(packet, socket);
      return;
    }
    this.trace.delivered(packet);
    socket.receive(packet.data, packet.from);
  }

  /** The link a datagram leaves on, or why it cannot leave. */
  private admit(
    socket: SimSocket,
    to: SocketAddress,
    size: number,
    now: number,
  ): Link | DropReason {
    const source = socket.host;
    if (socket.dead || !source.up) return 'host-down';
    const target = this.route(to.host, source);
    if (target === undefined) return 'no-route';
    if (this.isPartitioned(source, target)) return 'partition';
    const link = this.link(socket.localAddress.host, to.host);
    return link.admit(size, now) ?? link;
  }

  /** The socket an arriving datagram is for, or why there is none. */
  private receiver(packet: Packet): SimSocket | DropReason {
    const target = this.route(packet.to.host, packet.source);
    if (target === undefined) return 'no-route';
    if (!target.up) return 'host-down';
    if (this.isPartitioned(packet.source, target)) return 'partition';
    if (target.nat !== null && packet.to.host === target.nat.publicAddress) {
      return target.nat.inbound(packet.to.port, this.clock.now()) ?? 'nat';
    }
    return target.socketAt(packet.to.host, packet.to.port) ?? 'no-socket';
  }

  private launch(packet: Packet, link: Link): void {
    const damage = link.damage();
    if (damage === 'bit-flip') {
      this.trace.corrupted(packet, damage, link.flipBit(packet.data));
    } else if (damage === 'truncate') {
      const length = link.truncatedLength(packet.data.length);
      packet.data = packet.data.subarray(0, length);
      this.trace.corrupted(packet, damage, length);
    }
    this.clock.schedule(packet, link.arrivalTime());
  }

  /** The host a datagram to `address` reaches; a NATed host's own addresses are private. */
  private route(address: string, from: SimHost): SimHost | undefined {
    const owner = this.interfaces.get(address);
    if (owner !== undefined) return owner.nat === null || owner === from ? owner : undefined;
    return this.natAddresses.get(address);
  }

  private link(from: string, to: string): Link {
    let link = tableGet(this.links, from, to);
    if (link === undefined) {
      link = new Link(this.linkParams(from, to), this.prng.fork());
      tableSet(this.links, from, to, link);
    }
    return link;
  }

  private refresh(from: string, to: string): void {
    const link = tableGet(this.links, from, to);
    if (link !== undefined) link.params = this.linkParams(from, to);
  }

  private renameLinks(from: string, to: string): void {
    tableRename(this.baseLinks, from, to);
    tableRename(this.overrideLinks, from, to);
    tableRename(this.links, from, to);
  }

  /** Addresses a link end stands for: for a host, its own and its NAT's public address. */
  private addressesOf(end: LinkEnd): string[] {
    if (typeof end === 'string') return [checkAddress(end, 'address')];
    return end.nat === null ? [...end.addresses] : [...end.addresses, end.nat.publicAddress];
  }

  private forEachPair(from: LinkEnd, to: LinkEnd, action: (a: string, b: string) => void): void {
    for (const a of this.addressesOf(from)) for (const b of this.addressesOf(to)) action(a, b);
  }

  private endName(end: LinkEnd): string {
    return typeof end === 'string' ? end : end.name;
  }

  private setBlocked(
    a: readonly SimHost[],
    b: readonly SimHost[],
    oneWay: boolean,
    on: boolean,
  ): void {
    for (const x of a) {
      for (const y of b) {
        if (x === y) continue;
        for (const key of oneWay
          ? [x.index * 0x100000 + y.index]
          : [x.index * 0x100000 + y.index, y.index * 0x100000 + x.index]) {
          if (on) this.blocked.add(key);
          else this.blocked.delete(key);
        }
      }
    }
  }

  private groupsRecord(a: readonly SimHost[], b: readonly SimHost[], oneWay?: boolean) {
    return { a: a.map((h) => h.name), b: b.map((h) => h.name), oneWay: oneWay === true };
  }

  private checkFree(address: unknown, name: string): string {
    const checked = checkAddress(address, name);
    if (this.interfaces.has(checked) || this.natAddresses.has(checked)) {
      throw new InvalidParameterError(name, `address ${checked} is already in use`);
    }
    return checked;
  }
}
