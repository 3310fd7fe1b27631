import type { SocketAddress } from '../datagram-socket.js';
import { InvalidParameterError } from '../errors.js';
import { Prng } from '../prng.js';
import { checkAddress } from './addresses.js';
import type { SimEvent } from './event-queue.js';
import { type DropReason, IDEAL_LINK, Link, type LinkParams, linkParams } from './link.js';
import { Nat } from './nat.js';
import { type PairTable, tableGet, tableRename, tableSet } from './pair-table.js';
import { type LinkPreset, presetLinks } from './presets.js';
import { type HostOptions, SimHost, type SimSocket } from './sim-host.js';
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

/** Either side of a link: a host (all its addresses) or one address. */
export type LinkEnd = SimHost | string;

const SLAB_BYTES = 256 * 1024;

/** A packet in flight: one object per copy, scheduled directly on the event queue. */
class Packet implements SimEvent, TracedPacket {
  time = 0;
  seq = 0;
  pending = false;
  queued = false;

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
  private readonly baseLinks: PairTable<LinkParams> = new Map();
  private readonly overrideLinks: PairTable<LinkParams> = new Map();
  private readonly links: PairTable<Link> = new Map();
  private readonly blocked = new Set<number>();
  private packetCount = 0;
  private slab = new Uint8Array(SLAB_BYTES);
  private slabOffset = 0;

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
    const copy = this.copy(data);
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
      const twin = new Packet(
        this,
        packet.id,
        this.copy(data),
        from,
        to,
        source,
        packet.payloadHash,
      );
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

  /**
   * A private copy of a datagram, carved from a shared slab as Node carves small Buffers: one
   * allocation per slab instead of one backing store per packet. A slab lives while any of its
   * packets does.
   */
  private copy(data: Uint8Array): Uint8Array {
    const size = data.length;
    if (size > SLAB_BYTES >>> 3) return new Uint8Array(data);
    if (this.slabOffset + size > SLAB_BYTES) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.slabOffset = 0;
    }
    const copy = this.slab.subarray(this.slabOffset, this.slabOffset + size);
    copy.set(data);
    // Word alignment lets the trace hash read whole words.
    this.slabOffset += (size + 7) & ~7;
    return copy;
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
