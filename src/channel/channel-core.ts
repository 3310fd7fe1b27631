import type { CryptoSuite } from '../crypto/suite.js';
import { maxUdpPayload } from '../net/datagram-socket.js';
import { checkPositive } from '../net/errors.js';
import { AckPolicy } from './ack-policy.js';
import { AckRanges } from './ack-ranges.js';
import type { CongestionController } from './congestion/controller.js';
import { Cubic } from './congestion/cubic.js';
import { NewReno } from './congestion/new-reno.js';
import { Pacer } from './congestion/pacer.js';
import {
  type AckFrame,
  ChannelErrorCode,
  decodeFrames,
  type FrameVisitor,
  NO_ROOM,
  PATH_DATA_BYTES,
  writeAckFrame,
  writeCloseFrame,
  writePadding,
  writePathChallengeFrame,
  writePathResponseFrame,
  writePingFrame,
} from './frames.js';
import type { Cursor } from './varint.js';
import {
  MAX_PACKET_OVERHEAD,
  emptyTransportHeader,
  openFrames,
  readHeader,
  sealedLength,
  sealPacket,
  type TransportHeader,
} from './packet-codec.js';
import { decodePacketNumber } from './packet-number.js';
import type { KeyPhase } from './packet-codec.js';
import type { AckOutcome } from './recovery/loss-detection.js';
import { LossDetector } from './recovery/loss-detection.js';
import type { SentPacket } from './recovery/sent-packets.js';
import { ReplayWindow } from './replay-window.js';
import { type ChannelPath, type PathEntry, PathSet } from './paths.js';
import { defaultPmtuCeiling, PmtuSearch } from './pmtu.js';
import { KeyPhases } from './key-phase.js';

/** SST's link status (reference/sst-protocol.md §2.7), as the channel reports it. */
export type LinkState = 'up' | 'stalled' | 'down';

/**
 * What the stream layer plugs into a channel: it fills packets with its frames (types
 * 0x08–0x1f), decodes them on arrival, and learns the fate of each packet it filled, so that it
 * can send lost data again under a new packet number.
 */
export interface FrameSource<T> {
  /** True when it has frames waiting; the channel then asks as the window allows. */
  hasFrames(): boolean;
  /**
   * Writes frames into `out` from `offset`, not past `limit`. Returns the new offset and a token
   * naming what was written, or `undefined` when nothing fits or nothing waits.
   */
  writeFrames(
    out: Uint8Array,
    offset: number,
    limit: number,
    now: number,
  ): { end: number; token: T } | undefined;
  onAcked(token: T): void;
  onLost(token: T): void;
  /**
   * Decodes one of its frames, as {@link FrameVisitor.onExtension}. `payload` holds the frames of
   * one packet in a buffer of their own, which the channel never changes or reuses: a source may
   * keep views of it.
   */
  onFrame(
    frameType: number,
    payload: Uint8Array,
    cursor: Cursor,
  ): 'decoded' | 'malformed' | 'unknown';
}

export interface ChannelCoreOptions<T, P extends ChannelPath = ChannelPath> {
  readonly suite: CryptoSuite;
  /** Where the handshake ran: the path the channel starts on, taken as validated. */
  readonly path: P;
  /**
   * Other endpoints of the peer. When the link is down, or stalled through
   * `failoverAfterPtos` probe timeouts, each is challenged, and the first to answer becomes
   * the path.
   */
  readonly alternatePaths?: readonly P[];
  /** Probe timeouts in a row, while stalled, after which alternate paths are probed (default 3). */
  readonly failoverAfterPtos?: number;
  readonly sendKey: Uint8Array;
  readonly receiveKey: Uint8Array;
  /** The id the peer puts on packets to us (checked by the host's demultiplexer). */
  readonly localChannelId: number;
  /** The id we put on packets to the peer. */
  readonly remoteChannelId: number;
  /**
   * `newreno` (the default) or `cubic`. Measured on the simulator with pacing, 20 s of bulk
   * transfer: on the 384 kbit/s uplink of dsl_15 and cable_5 both use 0.969 of the link and CUBIC
   * loses 80 packets to NewReno's 44; on sat_10 CUBIC reaches 0.966 to NewReno's 0.957 but loses
   * 1,981 packets to 1,249. NewReno is the default for its far lower loss at nearly the same
   * goodput.
   */
  readonly congestionControl?: 'cubic' | 'newreno';
  /** Datagram size before path MTU discovery, bytes (default 1200). */
  readonly maxDatagramSize?: number;
  /**
   * Largest datagram path MTU discovery (RFC 8899) probes for, bytes, given the peer's host.
   * Default {@link defaultPmtuCeiling}: what UDP carries on loopback, a 1500-byte Ethernet
   * frame elsewhere. Returning `maxDatagramSize` turns discovery off.
   */
  readonly pmtuCeiling?: (peerHost: string) => number;
  /** Packets sealed under one key before a key update starts (default 2^24). */
  readonly keyUpdateAfterPackets?: number;
  /** Age of a key at which a key update starts, ms (default one hour). */
  readonly keyUpdateAfterMs?: number;
  /** Longest an acknowledgement waits, ms (default 25). */
  readonly maxAckDelay?: number;
  /** An idle channel sends a PING this often, ms (default 5 s), so a dead peer is noticed. */
  readonly keepaliveMs?: number;
  /** With nothing heard for this long the link is down, ms (default 20 s, SST's value). */
  readonly downAfterMs?: number;
  readonly source?: FrameSource<T>;
  /** Called on every link-state change. */
  readonly onLinkState?: (state: LinkState) => void;
  /** Called when the path or the send key changes. */
  readonly onEvent?: (event: ChannelCoreEvent<P>) => void;
  /** Called once when the channel closes, by either side or a protocol error. */
  readonly onClose?: (reason: ChannelCloseReason) => void;
}

/** A change of path or key that the channel's machine shows. */
export type ChannelCoreEvent<P extends ChannelPath> =
  /** Sending on `path`, which the peer has not yet proven it holds. */
  | { readonly type: 'path-validating'; readonly path: P }
  /** Sending on `path`, validated. */
  | { readonly type: 'path-validated'; readonly path: P }
  /** Validation failed; back on `path`. */
  | { readonly type: 'path-failed'; readonly path: P }
  | { readonly type: 'key-updated'; readonly phase: KeyPhase };

/** Why a channel closed. */
export interface ChannelCloseReason {
  readonly by: 'local' | 'peer' | 'protocol';
  readonly errorCode: number;
  readonly reason: string;
}

/** Counters of one channel; every received datagram ends in exactly one of the drop counters or `packetsReceived`. */
export interface ChannelStats {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  /** Headers that do not parse. */
  malformed: number;
  /** Packet numbers seen before or older than the replay window. */
  replayed: number;
  /** Failed authentication: forged, corrupted, or under a key we do not hold. */
  authFailed: number;
  packetsLost: number;
  probesSent: number;
  /** Times the channel moved to a path the peer's packets came from (NAT rebinding, roaming). */
  migrations: number;
  /** Times the channel moved to an alternate path after its own went bad. */
  failovers: number;
  pathChallengesSent: number;
  pathsValidated: number;
  pathValidationsFailed: number;
  /** Packets withheld from an unvalidated path by the anti-amplification limit. */
  amplificationLimited: number;
  /** Path MTU probes sent, and those the peer acknowledged. */
  mtuProbesSent: number;
  mtuProbesAcked: number;
  /** Congestion responses undone because every loss that drew them was disproved by an ACK. */
  congestionUndos: number;
}

interface PacketRecord<T> {
  readonly source: T | undefined;
  /** Largest packet number our ACK frame in this packet acknowledged, or -1. */
  readonly ackedUpTo: number;
  /**
   * Sent outside congestion control: a probe of another path or of a larger size, whose loss
   * says nothing about congestion on the path in use (RFC 9000 §14.4).
   */
  readonly uncounted: boolean;
  /** The datagram size a path MTU probe tests, or 0. */
  readonly mtuProbe: number;
}

const DEFAULT_MAX_DATAGRAM = 1200;
const MIN_PACING_WAIT_MS = 0.01;
/** Challenges and their answers are padded to this, so a path is proven to carry it (RFC 9000 §8.2.1). */
const PATH_PROBE_BYTES = 1200;
/** A configured path whose probes went unanswered rests this long before the next round, ms. */
const PATH_PROBE_INTERVAL_MS = 5000;
/** Path responses waiting at once; a peer flooding challenges gets answers to the latest only. */
const MAX_PENDING_RESPONSES = 4;

interface PendingResponse<P extends ChannelPath> {
  readonly entry: PathEntry<P>;
  readonly data: Uint8Array;
}

/**
 * One channel's packet engine, sans IO: it turns datagrams into frame callbacks and frames into
 * datagrams, acknowledges, detects loss (RFC 9002), runs congestion control and keeps SST's link
 * state. The driver calls {@link ChannelCore.receive} with each datagram for this channel,
 * {@link ChannelCore.poll} until it returns 0 to get datagrams to send, and
 * {@link ChannelCore.onTimeout} at {@link ChannelCore.deadline}.
 */
export class ChannelCore<T = never, P extends ChannelPath = ChannelPath> {
  readonly stats: ChannelStats = {
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    malformed: 0,
    replayed: 0,
    authFailed: 0,
    packetsLost: 0,
    probesSent: 0,
    migrations: 0,
    failovers: 0,
    pathChallengesSent: 0,
    pathsValidated: 0,
    pathValidationsFailed: 0,
    amplificationLimited: 0,
    mtuProbesSent: 0,
    mtuProbesAcked: 0,
    congestionUndos: 0,
  };
  /** The packet keys and their updates (RFC 9001 §6 style). */
  readonly keys: KeyPhases;
  readonly recovery: LossDetector<PacketRecord<T>>;
  readonly congestion: CongestionController;
  #pmtu: PmtuSearch;
  readonly #baseDatagram: number;
  #sendPhase: KeyPhase = 0;
  /** Send time of the newest packet above the base size that was acknowledged. */
  #largeAckedSentAt = Number.NEGATIVE_INFINITY;
  readonly #options: ChannelCoreOptions<T, P>;
  readonly #paths: PathSet<P>;
  readonly #failoverAfterPtos: number;
  #hasAlternates: boolean;
  #destination: PathEntry<P>;
  /** Whether the packet being decoded carries a frame other than path probing and padding. */
  #nonProbing = false;
  #receivedOn: PathEntry<P> | undefined;
  readonly #pacer: Pacer;
  readonly #replay = new ReplayWindow();
  readonly #received = new AckRanges();
  readonly #ackPolicy: AckPolicy;
  readonly #header: TransportHeader = emptyTransportHeader();
  readonly #plain: Uint8Array;
  readonly #visitor: FrameVisitor;
  readonly #keepaliveMs: number;
  readonly #downAfterMs: number;
  #maxDatagram: number;
  #nextPn = 0;
  #now = 0;
  #probes = 0;
  #pingQueued = false;
  #pathResponses: PendingResponse<P>[] = [];
  #closing: ChannelCloseReason | undefined;
  #closeSent = false;
  #closed = false;
  #link: LinkState = 'up';
  #lastHeard: number;
  #lastProgress: number;
  #lastAckElicitingSent: number;
  #progressed = false;
  #pacedUntil = Number.NEGATIVE_INFINITY;
  #firstPacket: (() => void) | undefined;
  /** Something arrived since our last ACK frame. */
  #ackNeeded = false;
  /** The datagram the last poll sealed into a buffer of its own, until pollDatagram takes it. */
  #datagram: Uint8Array | undefined;

  constructor(options: ChannelCoreOptions<T, P>, now: number) {
    this.#options = options;
    this.#failoverAfterPtos = checkPositive('failoverAfterPtos', options.failoverAfterPtos ?? 3);
    this.#paths = new PathSet(
      options.path,
      options.alternatePaths ?? [],
      () => this.#stallAfter(),
      now,
    );
    this.#destination = this.#paths.active;
    this.#hasAlternates = this.#paths.size > 1;
    this.#maxDatagram = options.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM;
    this.#baseDatagram = this.#maxDatagram;
    this.#pmtu = this.#newPmtuSearch(options.path, now);
    this.keys = new KeyPhases(
      {
        suite: options.suite,
        sendKey: options.sendKey,
        receiveKey: options.receiveKey,
        updateAfterPackets: options.keyUpdateAfterPackets,
        updateAfterMs: options.keyUpdateAfterMs,
      },
      now,
    );
    const maxAckDelay = options.maxAckDelay ?? 25;
    this.#keepaliveMs = checkPositive('keepaliveMs', options.keepaliveMs ?? 5000);
    this.#downAfterMs = checkPositive('downAfterMs', options.downAfterMs ?? 20_000);
    this.#ackPolicy = new AckPolicy({ maxAckDelay });
    this.recovery = new LossDetector({ maxAckDelay });
    const cc = { maxDatagramSize: this.#maxDatagram };
    this.congestion = options.congestionControl === 'cubic' ? new Cubic(cc) : new NewReno(cc);
    this.#pacer = new Pacer({ maxDatagramSize: this.#maxDatagram });
    this.#plain = new Uint8Array(65536);
    this.#lastHeard = now;
    this.#lastProgress = now;
    this.#lastAckElicitingSent = now;
    this.#now = now;
    this.#visitor = this.#makeVisitor();
  }

  /** When the last authenticated packet arrived, ms on the channel's clock. */
  get lastHeardAt(): number {
    return this.#lastHeard;
  }

  get linkState(): LinkState {
    return this.#link;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The path packets go to now. */
  get activePath(): P {
    return this.#paths.active.path;
  }

  /** Where the datagram the last {@link ChannelCore.poll} wrote goes. */
  get destination(): P {
    return this.#destination.path;
  }

  /** The path known under `key`, so that a driver can reuse its object; or undefined. */
  knownPath(key: string): P | undefined {
    return this.#paths.find(key)?.path;
  }

  /**
   * Takes one datagram addressed to this channel, arrived on `path` (default: the active one);
   * anything bad is dropped and counted. The channel owns the datagram from then on, as a
   * socket's receiver does, and may decrypt it where it lies.
   */
  receive(datagram: Uint8Array, now: number, path?: P): void {
    if (this.#closed) return;
    this.#now = now;
    const header = readHeader(datagram, this.#header);
    if (header === null || header.channelId !== this.#options.localChannelId) {
      this.stats.malformed++;
      return;
    }
    const pn = decodePacketNumber(this.#replay.highest, header.truncatedPn, header.pnLength);
    if (!this.#replay.check(pn)) {
      this.stats.replayed++;
      return;
    }
    const key = this.keys.receiveKeyFor(header.keyPhase, pn, now);
    // The frames in a buffer nobody else writes to (the datagram itself, opened in place, or
    // the suite's output): what the application does while they are decoded cannot touch them,
    // and the stream layer may keep views of them.
    const frames =
      key === undefined ? null : openFrames(this.#options.suite, key, header, datagram, pn);
    if (frames === null) {
      this.stats.authFailed++;
      return;
    }
    this.keys.onPacketOpened(header.keyPhase, pn, now);
    this.#noteKeyPhase();
    if (!this.#replay.accept(pn)) {
      this.stats.replayed++;
      return;
    }
    if (this.stats.packetsReceived++ === 0) this.#firstPacket?.();
    this.stats.bytesReceived += datagram.length;
    this.#lastHeard = now;
    const active = this.#paths.active;
    const entry =
      path === undefined || path === active.path ? active : this.#paths.entry(path, now);
    entry.bytesReceived += datagram.length;
    this.#receivedOn = entry;
    this.#nonProbing = false;
    const result = decodeFrames(frames, this.#visitor);
    if (!result.ok) {
      this.#fail(result.errorCode, `undecodable frame at ${result.offset}`);
      return;
    }
    // Closed while its frames were decoded, by the peer's CLOSE or by what their callbacks ran:
    // the channel is over, and reports nothing more.
    if (this.#closed) return;
    // Only the newest packet moves the channel, so that a late one from an old address cannot
    // drag it back (RFC 9000 §9.3).
    if (entry !== this.#paths.active && this.#nonProbing && pn === this.#replay.highest) {
      this.#migrate(entry, now);
    }
    this.#received.add(pn);
    this.#ackNeeded = true;
    this.#ackPolicy.onPacketReceived(pn, result.ackEliciting, now);
    this.#updateLink(now);
  }

  /**
   * Writes the next datagram to send into `out` (at least the datagram size long) and returns
   * its length, or 0 when nothing may or need be sent now.
   */
  poll(out: Uint8Array, now: number): number {
    return this.#poll(out, now);
  }

  /**
   * As {@link ChannelCore.poll}, but the datagram comes in a buffer of its own, of exactly its
   * size, that the caller may give a socket to keep: sealed there directly, with no copy.
   * Undefined when nothing may or need be sent now.
   */
  pollDatagram(now: number): Uint8Array | undefined {
    if (this.#poll(undefined, now) === 0) return undefined;
    const datagram = this.#datagram;
    this.#datagram = undefined;
    return datagram;
  }

  /** Seals the next datagram into `out`, or into a new buffer of its size when undefined. */
  #poll(out: Uint8Array | undefined, now: number): number {
    if (this.#closed) return 0;
    this.#now = now;
    if (this.#closing !== undefined) return this.#sendClose(out);
    const pathProbe = this.#pollPathProbe(out, now);
    if (pathProbe > 0) return pathProbe;
    const active = this.#paths.active;
    this.#destination = active;
    if (this.#paths.blocked(active)) {
      this.stats.amplificationLimited++;
      return 0;
    }
    const mtuProbe = this.#pollMtuProbe(out, now);
    if (mtuProbe > 0) return mtuProbe;
    const room = Math.min(this.#maxDatagram, this.#paths.allowance(active));
    // Probes and keepalives go out whatever the window: they are how a stalled path is found
    // to work again (RFC 9002 §6.2.4).
    const probing = this.#probes > 0 || this.#pingQueued;
    const mayFill = probing || (this.congestion.canSend(this.#maxDatagram) && this.#paced(now));
    const ackDue = this.#ackDue(now);
    const wantsData = mayFill && (probing || (this.#options.source?.hasFrames() ?? false));
    if (!wantsData && !ackDue) return 0;
    return this.#buildPacket(out, now, room, wantsData, probing);
  }

  /**
   * A packet of path frames only, for a path with an answer or a challenge due: probing packets
   * never make the peer move (RFC 9000 §9.1), and go outside the congestion window, like PTO
   * probes, because they are few and must get through on a path that is failing.
   */
  #pollPathProbe(out: Uint8Array | undefined, now: number): number {
    const response = this.#pathResponses[0];
    const entry = response?.entry ?? this.#paths.dueChallenge(now);
    if (entry === undefined) return 0;
    if (this.#paths.blocked(entry)) {
      this.stats.amplificationLimited++;
      // An answer that cannot go now is dropped: the peer will challenge again.
      this.#pathResponses.shift();
      return 0;
    }
    const size = Math.min(PATH_PROBE_BYTES, this.#paths.allowance(entry), this.#maxDatagram);
    const plain = this.#plain;
    let offset = 0;
    for (let i = 0; i < this.#pathResponses.length;) {
      const pending = this.#pathResponses[i] as PendingResponse<P>;
      if (pending.entry !== entry) {
        i++;
        continue;
      }
      offset = writePathResponseFrame(plain, offset, pending.data);
      this.#pathResponses.splice(i, 1);
    }
    if (entry.challenge !== undefined && entry.challengeDueAt <= now) {
      offset = writePathChallengeFrame(plain, offset, entry.challenge);
      this.#paths.onChallengeSent(entry, now);
      this.stats.pathChallengesSent++;
    }
    offset = writePadding(plain, offset, size - MAX_PACKET_OVERHEAD - offset);
    this.#destination = entry;
    return this.#seal(out, offset, now, true, {
      source: undefined,
      ackedUpTo: -1,
      uncounted: true,
      mtuProbe: 0,
    });
  }

  /**
   * A PING padded to the size path MTU discovery tests next, on an active path that is up. Sent
   * outside the congestion window: one at a time, and its loss is no sign of congestion
   * (RFC 8899 §4.4).
   */
  #pollMtuProbe(out: Uint8Array | undefined, now: number): number {
    if (!this.#mayProbeMtu()) return 0;
    const size = this.#pmtu.probeSize(now);
    if (size === undefined || (out !== undefined && size > out.length)) return 0;
    let offset = writePingFrame(this.#plain, 0);
    offset = writePadding(this.#plain, offset, size - MAX_PACKET_OVERHEAD - offset);
    this.#pmtu.onProbeSent(size, now);
    this.stats.mtuProbesSent++;
    const record = { source: undefined, ackedUpTo: -1, uncounted: true, mtuProbe: size };
    return this.#seal(out, offset, now, true, record);
  }

  #mayProbeMtu(): boolean {
    return this.#link === 'up' && this.#paths.active.validated;
  }

  #newPmtuSearch(path: P, now: number): PmtuSearch {
    const ceiling = (this.#options.pmtuCeiling ?? defaultPmtuCeiling)(path.peerHost);
    const maxSize = Math.max(this.#baseDatagram, Math.min(ceiling, maxUdpPayload(path.peerHost)));
    return new PmtuSearch({ baseSize: this.#baseDatagram, maxSize }, now);
  }

  /** Follows the search's current size: the window and pacer count in datagrams of it. */
  #applyPmtu(): void {
    const size = this.#pmtu.current;
    if (size === this.#maxDatagram) return;
    this.#maxDatagram = size;
    this.congestion.setMaxDatagramSize(size);
    this.#pacer.setMaxDatagramSize(size);
  }

  /** When {@link ChannelCore.onTimeout} should run next (ms), or `Infinity`. */
  get deadline(): number {
    if (this.#closed) return Number.POSITIVE_INFINITY;
    // Only what an ACK frame would carry can make one due: packets below the forgotten floor
    // are not recorded, and must not leave a deadline that never clears.
    const ack =
      this.#ackNeeded && this.#received.count > 0
        ? (this.#ackPolicy.ackDeadline() ?? Number.POSITIVE_INFINITY)
        : Number.POSITIVE_INFINITY;
    const recovery = this.recovery.deadline ?? Number.POSITIVE_INFINITY;
    const keepalive = this.#lastAckElicitingSent + this.#keepaliveMs;
    const stall =
      this.#link === 'up' && this.recovery.ackElicitingInFlight > 0
        ? this.#lastProgress + this.#stallAfter()
        : Number.POSITIVE_INFINITY;
    const down =
      this.#link === 'down' ? Number.POSITIVE_INFINITY : this.#lastHeard + this.#downAfterMs;
    const paced = this.#pacedUntil > this.#now ? this.#pacedUntil : Number.POSITIVE_INFINITY;
    const paths = Math.min(this.#paths.deadline, this.#nextAlternateProbe());
    const mtu = this.#mayProbeMtu() ? this.#pmtu.deadline : Number.POSITIVE_INFINITY;
    // Nothing can go to a path the amplification limit holds; what was due waits for the peer,
    // whose next packet runs the channel again.
    if (this.#paths.blocked(this.#paths.active)) return Math.min(recovery, stall, down, paths);
    return Math.min(ack, recovery, keepalive, stall, down, paced, paths, mtu);
  }

  /** Runs what is due at `now`: loss and probe timeouts, keepalives and link-state checks. */
  onTimeout(now: number): void {
    if (this.#closed) return;
    this.#now = now;
    const recoveryDeadline = this.recovery.deadline;
    if (recoveryDeadline !== undefined && recoveryDeadline <= now) {
      const outcome = this.recovery.onTimeout(now);
      if (outcome.kind === 'loss')
        this.#onLoss(
          outcome.lost,
          outcome.largestLostTimeSent,
          outcome.lostBytes,
          outcome.persistentCongestion,
          now,
        );
      else if (outcome.kind === 'pto') this.#probes = outcome.probes;
      this.#settleLosses();
      this.#applyPmtu();
    }
    if (now >= this.#lastAckElicitingSent + this.#keepaliveMs) this.#pingQueued = true;
    this.#updateLink(now);
    for (;;) {
      const active = this.#paths.active;
      const event = this.#paths.onTimeout(now, PATH_PROBE_INTERVAL_MS);
      if (event === undefined) break;
      this.stats.pathValidationsFailed++;
      if (event.entry === active) this.#emitPath('path-failed');
    }
    this.#probeAlternates(now);
  }

  /** Sends a PING with the next packet, whatever the window: proof of keys, or a liveness probe. */
  ping(): void {
    this.#pingQueued = true;
  }

  /**
   * Calls `callback` once, at the first authenticated packet (at once if one came already): the
   * proof a handshake responder waits for that the initiator holds the session keys.
   */
  onFirstPacket(callback: () => void): void {
    if (this.stats.packetsReceived > 0) callback();
    else this.#firstPacket = callback;
  }

  /** Closes the channel, telling the peer why with a CLOSE frame. */
  close(errorCode: number = ChannelErrorCode.noError, reason = ''): void {
    if (this.#closing !== undefined || this.#closed) return;
    this.#closing = { by: 'local', errorCode, reason };
  }

  /**
   * Whether the pacer lets a full datagram go now (RFC 9002 §7.7), its rate set from the window.
   * When it does not, {@link ChannelCore.deadline} includes the time it will.
   */
  #paced(now: number): boolean {
    this.#pacer.setRate(this.congestion.pacingRate(this.recovery.rtt), now);
    const delay = this.#pacer.delayUntilSend(this.#maxDatagram, now);
    // A floor on the wait: a sub-microsecond timer could fire without time moving on.
    this.#pacedUntil =
      delay > 0 ? now + Math.max(delay, MIN_PACING_WAIT_MS) : Number.NEGATIVE_INFINITY;
    return delay === 0;
  }

  #ackDue(now: number): boolean {
    const deadline = this.#ackPolicy.ackDeadline();
    return deadline !== null && deadline <= now;
  }

  #buildPacket(
    out: Uint8Array | undefined,
    now: number,
    room: number,
    fill: boolean,
    probing: boolean,
  ): number {
    const plain = this.#plain;
    const limit = room - MAX_PACKET_OVERHEAD;
    let offset = 0;
    let ackedUpTo = -1;
    if (this.#ackNeeded && this.#received.count > 0 && (fill || this.#ackDue(now))) {
      const ranges = this.#received.ranges(64);
      const end = writeAckFrame(plain, offset, ranges, this.#ackPolicy.ackDelayMicros(now));
      if (end !== NO_ROOM) {
        offset = end;
        ackedUpTo = this.#received.largest;
        this.#ackNeeded = false;
        this.#ackPolicy.onAckSent(now);
      }
    }
    let ackEliciting = false;
    let source: T | undefined;
    if (fill) {
      const written = this.#options.source?.writeFrames(plain, offset, limit, now);
      if (written !== undefined) {
        offset = written.end;
        source = written.token;
        ackEliciting = true;
      }
      if (!ackEliciting && probing) {
        offset = writePingFrame(plain, offset);
        ackEliciting = true;
      }
    }
    if (offset === 0) return 0;
    if (ackEliciting) {
      this.#pingQueued = false;
      if (this.#probes > 0) {
        this.#probes--;
        this.stats.probesSent++;
      }
    }
    return this.#seal(out, offset, now, ackEliciting, {
      source,
      ackedUpTo,
      uncounted: false,
      mtuProbe: 0,
    });
  }

  #seal(
    out: Uint8Array | undefined,
    length: number,
    now: number,
    ackEliciting: boolean,
    record: PacketRecord<T>,
  ): number {
    const pn = this.#nextPn++;
    // An idle channel's stall clock starts when something is outstanding again, not at the
    // last acknowledgement, which may be long past.
    if (ackEliciting && this.recovery.ackElicitingInFlight === 0) this.#lastProgress = now;
    const params = {
      channelId: this.#options.remoteChannelId,
      packetNumber: pn,
      largestAcked: this.recovery.largestAcked,
      keyPhase: this.keys.sendPhase,
    };
    const target = out ?? new Uint8Array(sealedLength(params, length));
    const plaintext = this.#plain.subarray(0, length);
    const size = sealPacket(this.#options.suite, this.keys.sendKey, params, plaintext, target, 0);
    if (out === undefined) this.#datagram = target;
    this.keys.onPacketSent(pn, now);
    this.#noteKeyPhase();
    this.recovery.onPacketSent(pn, now, size, ackEliciting, ackEliciting, record);
    this.#destination.bytesSent += size;
    if (ackEliciting && !record.uncounted) {
      this.congestion.onPacketSent(size, now);
      this.#pacer.onSent(size, now);
      this.#lastAckElicitingSent = now;
    }
    this.stats.packetsSent++;
    this.stats.bytesSent += size;
    return size;
  }

  #sendClose(out: Uint8Array | undefined): number {
    const closing = this.#closing as ChannelCloseReason;
    if (this.#closeSent) return 0;
    this.#closeSent = true;
    const reason = new TextEncoder().encode(closing.reason.slice(0, 256));
    // The last packet acknowledges what arrived, or a peer whose final bytes we read would
    // never learn that they did.
    let offset = 0;
    if (this.#received.count > 0) {
      const ranges = this.#received.ranges(64);
      const acked = writeAckFrame(
        this.#plain,
        0,
        ranges,
        this.#ackPolicy.ackDelayMicros(this.#now),
      );
      if (acked !== NO_ROOM) offset = acked;
    }
    const end = writeCloseFrame(this.#plain, offset, closing.errorCode, reason);
    this.#destination = this.#paths.active;
    const size = this.#seal(out, end, this.#now, false, {
      source: undefined,
      ackedUpTo: -1,
      uncounted: false,
      mtuProbe: 0,
    });
    this.#finish(closing);
    return size;
  }

  #makeVisitor(): FrameVisitor {
    return {
      onPing: () => {
        this.#nonProbing = true;
      },
      onAck: (frame) => {
        this.#nonProbing = true;
        this.#onAck(frame);
      },
      onClose: (errorCode, reason) =>
        this.#finish({ by: 'peer', errorCode, reason: new TextDecoder().decode(reason) }),
      onPathChallenge: (data) => {
        if (this.#pathResponses.length >= MAX_PENDING_RESPONSES) this.#pathResponses.shift();
        // The answer goes back on the path the challenge came by (RFC 9000 §8.2.2).
        const entry = this.#receivedOn ?? this.#paths.active;
        this.#pathResponses.push({ entry, data: Uint8Array.from(data) });
      },
      onPathResponse: (data) => this.#onPathResponse(data),
      onExtension: (type, payload, cursor) => {
        this.#nonProbing = true;
        return this.#options.source?.onFrame(type, payload, cursor) ?? 'unknown';
      },
    };
  }

  #onAck(frame: AckFrame): void {
    const outcome: AckOutcome<PacketRecord<T>> = this.recovery.onAck(
      frame.ranges,
      frame.ackDelay / 1000,
      this.#now,
    );
    if (outcome.kind === 'violation') {
      this.#fail(ChannelErrorCode.protocolViolation, `ACK of ${outcome.reason}`);
      return;
    }
    // Before the acknowledgements: with the cut undone, they grow the window it had.
    for (const { packet, lostAt } of outcome.disproved) {
      if (!packet.inFlight || packet.frames.uncounted) continue;
      if (this.congestion.onSpuriousLoss(lostAt, packet.size)) this.stats.congestionUndos++;
    }
    if (outcome.acked.length > 0) {
      this.#lastProgress = this.#now;
      this.#progressed = true;
      this.keys.onPacketAcked((outcome.acked[outcome.acked.length - 1] as SentPacket<unknown>).pn);
    }
    if (outcome.rttSampled) {
      // Old receive keys stay for three probe timeouts, as RFC 9001 §6.5 advises.
      this.keys.oldKeyRetentionMs = 3 * this.#stallAfter();
    }
    for (const packet of outcome.acked) {
      if (packet.frames.mtuProbe > 0) {
        this.stats.mtuProbesAcked++;
        this.#pmtu.onProbeAcked(packet.frames.mtuProbe, this.#now);
      } else if (!packet.frames.uncounted) {
        this.#pmtu.onPacketAcked(packet.size);
        if (packet.size > this.#baseDatagram && packet.timeSent > this.#largeAckedSentAt) {
          this.#largeAckedSentAt = packet.timeSent;
        }
      }
      if (packet.inFlight && !packet.frames.uncounted) {
        this.congestion.onAck(packet.size, packet.timeSent, this.#now, this.recovery.rtt);
      }
      // The peer has our ACK up to there: later ACKs need not repeat it (RFC 9000 §13.2.4).
      if (packet.frames.ackedUpTo >= 0) this.#received.forgetBelow(packet.frames.ackedUpTo + 1);
      if (packet.frames.source !== undefined) this.#options.source?.onAcked(packet.frames.source);
    }
    this.#onLoss(
      outcome.lost,
      outcome.largestLostTimeSent,
      outcome.lostBytes,
      outcome.persistentCongestion,
      this.#now,
    );
    this.#settleLosses();
    this.#applyPmtu();
  }

  /** Losses no ACK can disprove any more: the cuts they drew stand. */
  #settleLosses(): void {
    for (const { packet, lostAt } of this.recovery.takeSettledLosses()) {
      if (packet.inFlight && !packet.frames.uncounted) this.congestion.onLossSettled(lostAt);
    }
  }

  #onLoss(
    lost: readonly SentPacket<PacketRecord<T>>[],
    largestLostTimeSent: number,
    lostBytes: number,
    persistent: boolean,
    now: number,
  ): void {
    if (lost.length === 0) return;
    this.stats.packetsLost += lost.length;
    let countedBytes = lostBytes;
    let countedLargest = largestLostTimeSent;
    for (const packet of lost) {
      // Never shown to the controller: neither is their loss.
      if (packet.frames.uncounted) countedBytes -= packet.size;
    }
    if (countedBytes < lostBytes) countedLargest = this.#largestCountedTimeSent(lost);
    if (countedBytes > 0) this.congestion.onLoss(countedLargest, countedBytes, now, persistent);
    for (const packet of lost) {
      if (packet.frames.mtuProbe > 0) this.#pmtu.onProbeLost(packet.frames.mtuProbe, now);
      // A loss is a black-hole sign only if no large packet sent after it got through: with
      // congestion, later packets of the same size are acknowledged (RFC 8899 §4.3).
      else if (!packet.frames.uncounted && packet.timeSent > this.#largeAckedSentAt) {
        this.#pmtu.onPacketLost(packet.size, now);
      }
      if (packet.frames.source !== undefined) this.#options.source?.onLost(packet.frames.source);
    }
  }

  #largestCountedTimeSent(lost: readonly SentPacket<PacketRecord<T>>[]): number {
    let largest = Number.NEGATIVE_INFINITY;
    for (const packet of lost) {
      if (!packet.frames.uncounted && packet.timeSent > largest) largest = packet.timeSent;
    }
    return largest;
  }

  /**
   * The peer's newest packet came by another path: send there from now on, validating it first
   * if it is new. On another host (not just a rebound port) the path's state starts over.
   */
  #migrate(entry: PathEntry<P>, now: number): void {
    const previous = this.#paths.active;
    this.#paths.moveTo(entry, this.#challengeData(), now);
    this.stats.migrations++;
    this.#emitPath(entry.validated ? 'path-validated' : 'path-validating');
    if (previous.path.peerHost !== entry.path.peerHost) this.#restartPathState(entry, now);
  }

  /**
   * A path to another host: its MTU, RTT and capacity are unknown, and what the channel learnt
   * of the old one says nothing of them (RFC 9000 §9.4). Congestion control and the RTT
   * estimate start over as on a new channel; packets still in flight are tracked as before.
   */
  #restartPathState(entry: PathEntry<P>, now: number): void {
    this.congestion.onPathChange(now);
    this.recovery.onPathChange(now);
    this.#pmtu = this.#newPmtuSearch(entry.path, now);
    this.#applyPmtu();
  }

  #onPathResponse(data: Uint8Array): void {
    const event = this.#paths.onResponse(data);
    if (event === undefined) return;
    this.stats.pathsValidated++;
    const entry = event.entry;
    if (entry === this.#paths.active) this.#emitPath('path-validated');
    if (entry === this.#paths.active || !this.#wantsFailover()) return;
    this.#paths.moveTo(entry, this.#challengeData(), this.#now);
    this.stats.failovers++;
    this.#emitPath('path-validated');
    this.#restartPathState(entry, this.#now);
    // Something for the peer to acknowledge at once, so that the link is seen up again.
    this.#pingQueued = true;
  }

  /** Link down, or stalled through several probe timeouts: time to try the other endpoints. */
  #wantsFailover(): boolean {
    if (!this.#hasAlternates) return false;
    return (
      this.#link === 'down' ||
      (this.#link === 'stalled' && this.recovery.ptoCount >= this.#failoverAfterPtos)
    );
  }

  /** Challenges every alternate endpoint not already being probed or resting. */
  #probeAlternates(now: number): void {
    if (!this.#wantsFailover()) return;
    for (const entry of this.#paths.alternates()) {
      if (entry.challenge !== undefined || entry.nextProbeAt > now) continue;
      this.#paths.challenge(entry, this.#challengeData(), now);
      entry.nextProbeAt = now + PATH_PROBE_INTERVAL_MS;
    }
  }

  #nextAlternateProbe(): number {
    if (!this.#wantsFailover()) return Number.POSITIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.#paths.alternates()) {
      if (entry.challenge === undefined && entry.nextProbeAt < next) next = entry.nextProbeAt;
    }
    return next;
  }

  #emitPath(type: 'path-validating' | 'path-validated' | 'path-failed'): void {
    this.#options.onEvent?.({ type, path: this.#paths.active.path });
  }

  #noteKeyPhase(): void {
    const phase = this.keys.sendPhase;
    if (phase === this.#sendPhase) return;
    this.#sendPhase = phase;
    this.#options.onEvent?.({ type: 'key-updated', phase });
  }

  #challengeData(): Uint8Array {
    return this.#options.suite.randomBytes(PATH_DATA_BYTES);
  }

  #stallAfter(): number {
    return this.recovery.rtt.pto(this.#options.maxAckDelay ?? 25);
  }

  /**
   * SST's link state: `stalled` once data has waited a probe timeout with no acknowledgement
   * progress, `down` once nothing authenticated has arrived for `downAfterMs`, and `up` again at
   * the first acknowledgement progress.
   */
  #updateLink(now: number): void {
    let next = this.#link;
    // Deadlines are compared in the very form `deadline` computes them: `t + d - t` can fall
    // short of `d` in floating point, and a timer would then fire forever without effect.
    if (now >= this.#lastHeard + this.#downAfterMs) next = 'down';
    else if (this.#progressed) next = 'up';
    else if (
      this.#link === 'up' &&
      this.recovery.ackElicitingInFlight > 0 &&
      now >= this.#lastProgress + this.#stallAfter()
    ) {
      next = 'stalled';
    }
    this.#progressed = false;
    if (next === this.#link) return;
    this.#link = next;
    this.#options.onLinkState?.(next);
  }

  #fail(errorCode: number, reason: string): void {
    if (this.#closing !== undefined) return;
    this.#closing = { by: 'protocol', errorCode, reason };
  }

  #finish(reason: ChannelCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    // What is still in flight will never be acknowledged here: its frames go back to the
    // source, which sends them on whatever channel replaces this one.
    for (const packet of this.recovery.discardAll()) {
      if (packet.frames.source !== undefined) this.#options.source?.onLost(packet.frames.source);
    }
    this.#options.onClose?.(reason);
  }

  /** Largest datagram this channel builds, bytes (raised by path MTU discovery). */
  get maxDatagramSize(): number {
    return this.#maxDatagram;
  }
}
