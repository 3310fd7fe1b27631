import { formatAddress, type SocketAddress } from '../datagram-socket.js';
import type { Damage, DropReason } from './link.js';

/** A JSON value, as upper layers may attach to their trace records. */
export type JsonValue =
  string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

interface PacketFields {
  /** Virtual time, ms. */
  readonly t: number;
  /** Packet id, unique per send; duplicates share the id of their original. */
  readonly id: number;
  readonly src: string;
  readonly dst: string;
  readonly len: number;
}

/** One line of the trace. */
export type TraceRecord =
  | (PacketFields & {
      readonly ev: 'sent';
      /** Fingerprint of the payload as sent (8 hex digits), so runs can be compared by content. */
      readonly hash: string;
    })
  | (PacketFields & { readonly ev: 'delivered' | 'duplicated' })
  | (PacketFields & { readonly ev: 'dropped'; readonly reason: DropReason })
  | (PacketFields & { readonly ev: 'corrupted'; readonly damage: Damage; readonly detail: number })
  | {
      readonly t: number;
      readonly ev: 'record';
      /** Who recorded it: `net` for the simulator's own faults, else the upper layer's name. */
      readonly source: string;
      readonly type: string;
      readonly data?: JsonValue;
    };

/** A packet as the trace sees it. */
export interface TracedPacket {
  readonly id: number;
  readonly from: SocketAddress;
  readonly to: SocketAddress;
  readonly data: Uint8Array;
  /** Hash of the payload as sent, computed once per send. */
  readonly payloadHash: number;
}

/** Counts of packet events since the network was created. */
export interface TraceStats {
  sent: number;
  delivered: number;
  duplicated: number;
  corrupted: number;
  dropped: Record<DropReason, number>;
}

const EVENT_CODES = { sent: 1, delivered: 2, duplicated: 3, dropped: 4, corrupted: 5, record: 6 };
const REASON_CODES: Record<DropReason | Damage, number> = {
  loss: 1,
  'burst-loss': 2,
  'queue-full': 3,
  mtu: 4,
  blackhole: 5,
  partition: 6,
  'no-route': 7,
  'no-socket': 8,
  'host-down': 9,
  nat: 10,
  'bit-flip': 11,
  truncate: 12,
};

const float = new Float64Array(1);
const floatWords = new Uint32Array(float.buffer);

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Word view of the buffer hashed last: packets come from a few shared slabs, so it is reused. */
let wordBuffer: ArrayBufferLike | null = null;
let wordView: Int32Array<ArrayBufferLike> = new Int32Array(0);

function mixWord(h: number, word: number): number {
  const x = Math.imul(h ^ word, 0x9e3779b1);
  return (x << 13) | (x >>> 19);
}

/**
 * 32-bit fingerprint of bytes, one multiplication per 4-byte word (the per-packet cost of the
 * trace); not cryptographic. Aligned input on little-endian machines is read as whole words, the
 * rest byte by byte in the same little-endian order, so the value never depends on alignment.
 */
export function hashBytes(data: Uint8Array): number {
  const words = data.length >>> 2;
  let h = 0x9747b28c ^ data.length;
  if (LITTLE_ENDIAN && (data.byteOffset & 3) === 0) {
    if (data.buffer !== wordBuffer) {
      wordBuffer = data.buffer;
      wordView = new Int32Array(data.buffer, 0, data.buffer.byteLength >>> 2);
    }
    const view = wordView;
    const start = data.byteOffset >>> 2;
    for (let i = start; i < start + words; i++) h = mixWord(h, view[i] as number);
  } else {
    for (let i = 0; i < words; i++) {
      const j = i << 2;
      h = mixWord(
        h,
        (data[j] as number) |
          ((data[j + 1] as number) << 8) |
          ((data[j + 2] as number) << 16) |
          ((data[j + 3] as number) << 24),
      );
    }
  }
  for (let j = words << 2; j < data.length; j++) h = mixWord(h, data[j] as number);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The simulator's event log. Every packet event and every record of an upper layer updates a
 * running 64-bit fingerprint (two 32-bit lanes), so a run's hash costs a few multiplications per
 * event and no memory; record objects are only built when someone listens.
 */
export class Trace {
  readonly stats: TraceStats = {
    sent: 0,
    delivered: 0,
    duplicated: 0,
    corrupted: 0,
    dropped: {
      loss: 0,
      'burst-loss': 0,
      'queue-full': 0,
      mtu: 0,
      blackhole: 0,
      partition: 0,
      'no-route': 0,
      'no-socket': 0,
      'host-down': 0,
      nat: 0,
    },
  };
  private readonly listeners = new Set<(record: TraceRecord) => void>();
  private h1 = 0x6a09e667;
  private h2 = 0xbb67ae85;
  private readonly addressCodes = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** The fingerprint of everything traced so far: 16 hex digits. */
  get hash(): string {
    return (
      (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0')
    );
  }

  /** Calls `listener` with every record from now on; returns the unsubscribe function. */
  subscribe(listener: (record: TraceRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds an upper layer's event (a machine transition, a stream opened, ...) to the trace. */
  record(source: string, type: string, data?: JsonValue): void {
    this.mix(EVENT_CODES.record);
    this.mixTime();
    this.mix(hashString(source));
    this.mix(hashString(type));
    if (data !== undefined) this.mix(hashString(JSON.stringify(data)));
    if (this.listeners.size === 0) return;
    const t = this.now();
    this.emit(
      data === undefined
        ? { t, ev: 'record', source, type }
        : { t, ev: 'record', source, type, data },
    );
  }

  sent(packet: TracedPacket): void {
    this.stats.sent++;
    this.mixPacket(EVENT_CODES.sent, packet, packet.payloadHash);
    if (this.listeners.size > 0) {
      const hash = packet.payloadHash.toString(16).padStart(8, '0');
      this.emit({ ...this.fields(packet), ev: 'sent', hash });
    }
  }

  delivered(packet: TracedPacket): void {
    this.stats.delivered++;
    this.mixPacket(EVENT_CODES.delivered, packet, 0);
    if (this.listeners.size > 0) this.emit({ ...this.fields(packet), ev: 'delivered' });
  }

  duplicated(packet: TracedPacket): void {
    this.stats.duplicated++;
    this.mixPacket(EVENT_CODES.duplicated, packet, 0);
    if (this.listeners.size > 0) this.emit({ ...this.fields(packet), ev: 'duplicated' });
  }

  dropped(packet: TracedPacket, reason: DropReason): void {
    this.stats.dropped[reason]++;
    this.mixPacket(EVENT_CODES.dropped, packet, REASON_CODES[reason]);
    if (this.listeners.size > 0) this.emit({ ...this.fields(packet), ev: 'dropped', reason });
  }

  corrupted(packet: TracedPacket, damage: Damage, detail: number): void {
    this.stats.corrupted++;
    this.mixPacket(EVENT_CODES.corrupted, packet, REASON_CODES[damage] * 0x10000 + detail);
    if (this.listeners.size > 0) {
      this.emit({ ...this.fields(packet), ev: 'corrupted', damage, detail });
    }
  }

  private fields(packet: TracedPacket): PacketFields {
    return {
      t: this.now(),
      id: packet.id,
      src: formatAddress(packet.from),
      dst: formatAddress(packet.to),
      len: packet.data.length,
    };
  }

  private emit(record: TraceRecord): void {
    for (const listener of this.listeners) listener(record);
  }

  private mixPacket(event: number, packet: TracedPacket, extra: number): void {
    this.mix(event);
    this.mixTime();
    this.mix(packet.id);
    this.mix(this.addressCode(packet.from.host) ^ (packet.from.port << 16));
    this.mix(this.addressCode(packet.to.host) ^ (packet.to.port << 16));
    this.mix(packet.data.length);
    this.mix(extra);
  }

  private mixTime(): void {
    float[0] = this.now();
    this.mix(floatWords[0] as number);
    this.mix(floatWords[1] as number);
  }

  private addressCode(host: string): number {
    let code = this.addressCodes.get(host);
    if (code === undefined) {
      code = hashString(host);
      this.addressCodes.set(host, code);
    }
    return code;
  }

  private mix(value: number): void {
    let h1 = Math.imul(this.h1 ^ value, 0xcc9e2d51);
    h1 = Math.imul((h1 << 15) | (h1 >>> 17), 0x1b873593);
    this.h1 = h1 ^ (h1 >>> 16);
    let h2 = Math.imul(this.h2 + value, 0x85ebca6b);
    h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
    this.h2 = h2 ^ (h2 >>> 16) ^ this.h1;
  }
}

/** One JSONL line of a record. */
export function formatTraceRecord(record: TraceRecord): string {
  return JSON.stringify(record);
}
