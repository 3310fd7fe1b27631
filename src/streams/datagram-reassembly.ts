import { InvalidParameterError, checkPositive } from '../net/errors.js';

/**
 * Counters of one {@link DatagramReassembly}. `delivered`, `expired` and `evicted` count
 * datagrams; the others count fragments. A fragment either brings new bytes to a datagram or ends
 * in exactly one of `malformed`, `tooLarge`, `duplicates` and `late`.
 */
export interface ReassemblyStats {
  /** Datagrams returned whole. */
  delivered: number;
  /** Partial datagrams dropped because their first fragment came more than `timeoutMs` ago. */
  expired: number;
  /** Partial datagrams dropped, oldest first, to make room within `maxBytes` or `maxDatagrams`. */
  evicted: number;
  /**
   * Fragments that cannot be part of a datagram: a field that is not a non-negative integer, bytes
   * beyond the total length, a total length other than the one the datagram's first fragment gave,
   * or no bytes at all.
   */
  malformed: number;
  /** Fragments that brought no new byte: already held, or of a datagram already delivered. */
  duplicates: number;
  /** Fragments of a datagram whose total length is above `maxDatagramSize`. */
  tooLarge: number;
  /** Fragments of a datagram already dropped (expired or evicted). */
  late: number;
}

/** Limits of a {@link DatagramReassembly}. */
export interface DatagramReassemblyOptions {
  /** Bytes of partial datagrams held at most; 1 MiB by default. */
  maxBytes?: number;
  /** Partial datagrams held at most; 64 by default. */
  maxDatagrams?: number;
  /** A partial datagram is dropped this long after its first fragment, ms; 5000 by default. */
  timeoutMs?: number;
  /**
   * Largest total length accepted, bytes; `maxBytes` by default, and never above it, since a
   * larger datagram could never be held whole.
   */
  maxDatagramSize?: number;
  /** How many finished (delivered or dropped) datagram ids are remembered; 256 by default. */
  rememberedIds?: number;
}

const DEFAULT_MAX_BYTES = 1 << 20;
const DEFAULT_MAX_DATAGRAMS = 64;
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_REMEMBERED_IDS = 256;
/** Byte offsets index a bitmap with 32-bit shifts. */
const MAX_BYTES_LIMIT = 2 ** 31;

interface Partial {
  /** The datagram's bytes, allocated whole at its first fragment. */
  readonly bytes: Uint8Array;
  /** One bit per byte of `bytes`: set once that byte arrived. */
  readonly received: Uint8Array;
  /** Bytes not yet received. */
  missing: number;
  /** When the first fragment arrived. */
  readonly since: number;
}

/**
 * Reassembles best-effort datagrams cut into fragments, each of which carries the datagram's id,
 * its own offset and the datagram's total length. A datagram is delivered whole once every byte
 * arrived, or never. Fragments may come in any order, duplicated or overlapping; where copies
 * overlap, the last one written wins, as the channel's authentication already vouches for them.
 *
 * Memory is bounded whatever the peer sends. A partial datagram's buffer is allocated at its
 * first fragment and counts in full towards `maxBytes` from then on, so a forged total length
 * cannot make it allocate more; the bitmap of received bytes adds an eighth on top. When a new
 * datagram needs room, the oldest partial ones are evicted; partial ones older than `timeoutMs`
 * are dropped at the next call. The ids of finished datagrams, delivered or dropped, are
 * remembered in a bounded window so that late fragments neither deliver a datagram twice nor
 * start a partial one that could never complete: without that, interleaved datagrams one more
 * than `maxDatagrams` would evict each other in turn and none would ever complete.
 *
 * Sans IO: the caller passes the time, which must not go backwards.
 */
export class DatagramReassembly {
  readonly stats: ReassemblyStats = {
    delivered: 0,
    expired: 0,
    evicted: 0,
    malformed: 0,
    duplicates: 0,
    tooLarge: 0,
    late: 0,
  };
  readonly #maxBytes: number;
  readonly #maxDatagrams: number;
  readonly #timeoutMs: number;
  readonly #maxDatagramSize: number;
  readonly #rememberedIds: number;
  /** Partial datagrams by id, in the order their first fragments arrived (Map order). */
  readonly #partials = new Map<number, Partial>();
  /** Finished ids, oldest first: true when delivered, false when dropped. */
  readonly #finished = new Map<number, boolean>();
  #bytesHeld = 0;

  /**
   * @throws InvalidParameterError when a limit is not a positive integer (`timeoutMs`: not a
   * positive number), when `maxBytes` is 2^31 or more, or when `maxDatagramSize` is above
   * `maxBytes`.
   */
  constructor(options: DatagramReassemblyOptions = {}) {
    this.#maxBytes = checkCount('maxBytes', options.maxBytes ?? DEFAULT_MAX_BYTES);
    if (this.#maxBytes >= MAX_BYTES_LIMIT) {
      throw new InvalidParameterError('maxBytes', `must be below 2^31, got ${this.#maxBytes}`);
    }
    this.#maxDatagrams = checkCount('maxDatagrams', options.maxDatagrams ?? DEFAULT_MAX_DATAGRAMS);
    this.#timeoutMs = checkPositive('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.#maxDatagramSize = checkCount(
      'maxDatagramSize',
      options.maxDatagramSize ?? this.#maxBytes,
    );
    if (this.#maxDatagramSize > this.#maxBytes) {
      throw new InvalidParameterError(
        'maxDatagramSize',
        `must not exceed maxBytes (${this.#maxBytes}), got ${this.#maxDatagramSize}`,
      );
    }
    this.#rememberedIds = checkCount(
      'rememberedIds',
      options.rememberedIds ?? DEFAULT_REMEMBERED_IDS,
    );
  }

  /** Bytes allocated to partial datagrams; never above `maxBytes`. */
  get bytesHeld(): number {
    return this.#bytesHeld;
  }

  /** How many partial datagrams are held; never above `maxDatagrams`. */
  get partials(): number {
    return this.#partials.size;
  }

  /**
   * Takes one fragment: `data` is the datagram's bytes from `fragmentOffset` on, of a datagram
   * `totalLength` bytes long. Returns the whole datagram when this fragment completes it, else
   * undefined; bad fragments come from the network, so they are counted in {@link stats}, never
   * thrown. `data` may be a view into a reused packet buffer: what is kept or returned is a copy,
   * and the returned array is the caller's own.
   */
  receive(
    datagramId: number,
    fragmentOffset: number,
    totalLength: number,
    data: Uint8Array,
    now: number,
  ): Uint8Array | undefined {
    this.expire(now);
    if (!isCount(datagramId) || !isCount(fragmentOffset) || !isCount(totalLength)) {
      this.stats.malformed++;
      return undefined;
    }
    if (totalLength > this.#maxDatagramSize) {
      this.stats.tooLarge++;
      return undefined;
    }
    const end = fragmentOffset + data.length;
    // An empty fragment of a non-empty datagram is nothing a sender would cut.
    if (end > totalLength || (data.length === 0 && totalLength > 0)) {
      this.stats.malformed++;
      return undefined;
    }
    const finished = this.#finished.get(datagramId);
    if (finished !== undefined) {
      if (finished) this.stats.duplicates++;
      else this.stats.late++;
      return undefined;
    }
    let partial = this.#partials.get(datagramId);
    if (partial === undefined) {
      // The datagram in one piece: no state, only its id to recognise duplicates.
      if (data.length === totalLength) {
        this.#finish(datagramId, true);
        return data.slice();
      }
      partial = this.#start(datagramId, totalLength, now);
    } else if (partial.bytes.length !== totalLength) {
      this.stats.malformed++;
      return undefined;
    }
    const fresh = markReceived(partial.received, fragmentOffset, end);
    if (fresh === 0) {
      this.stats.duplicates++;
      return undefined;
    }
    partial.bytes.set(data, fragmentOffset);
    partial.missing -= fresh;
    if (partial.missing > 0) return undefined;
    this.#drop(datagramId, partial);
    this.#finish(datagramId, true);
    return partial.bytes;
  }

  /**
   * Drops the partial datagrams whose first fragment came more than `timeoutMs` before `now`.
   * {@link DatagramReassembly.receive} does it first thing; call it from a timer to free their
   * memory when no fragment comes.
   */
  expire(now: number): void {
    // Map order is arrival order, so the first partial not yet due ends the scan.
    for (const [id, partial] of this.#partials) {
      if (now - partial.since <= this.#timeoutMs) return;
      this.#drop(id, partial);
      this.#finish(id, false);
      this.stats.expired++;
    }
  }

  /** A new partial datagram, after evicting the oldest ones it needs room from. */
  #start(id: number, totalLength: number, now: number): Partial {
    // Terminates before the map runs dry: totalLength <= maxDatagramSize <= maxBytes.
    for (const [oldId, oldest] of this.#partials) {
      if (
        this.#partials.size < this.#maxDatagrams &&
        this.#bytesHeld + totalLength <= this.#maxBytes
      ) {
        break;
      }
      this.#drop(oldId, oldest);
      this.#finish(oldId, false);
      this.stats.evicted++;
    }
    const partial: Partial = {
      bytes: new Uint8Array(totalLength),
      received: new Uint8Array((totalLength + 7) >>> 3),
      missing: totalLength,
      since: now,
    };
    this.#partials.set(id, partial);
    this.#bytesHeld += totalLength;
    return partial;
  }

  #drop(id: number, partial: Partial): void {
    this.#partials.delete(id);
    this.#bytesHeld -= partial.bytes.length;
  }

  /**
   * Remembers `id` as finished, and counts it when `delivered`; the oldest finished id beyond the
   * window is forgotten.
   */
  #finish(id: number, delivered: boolean): void {
    if (delivered) this.stats.delivered++;
    this.#finished.set(id, delivered);
    if (this.#finished.size > this.#rememberedIds) {
      this.#finished.delete(this.#finished.keys().next().value as number);
    }
  }
}

/**
 * Sets the bits of bytes `start` to `end` (exclusive) in `bitmap`; returns how many were clear.
 * Whole bitmap bytes are done eight bits at a time, so the cost is about an eighth of the copy's.
 */
function markReceived(bitmap: Uint8Array, start: number, end: number): number {
  let fresh = 0;
  let i = start;
  for (; i < end && (i & 7) !== 0; i++) fresh += setBit(bitmap, i);
  for (; i + 8 <= end; i += 8) {
    const index = i >>> 3;
    fresh += 8 - popcount8(bitmap[index] as number);
    bitmap[index] = 0xff;
  }
  for (; i < end; i++) fresh += setBit(bitmap, i);
  return fresh;
}

/** Sets bit `i`; 1 if it was clear, else 0. */
function setBit(bitmap: Uint8Array, i: number): number {
  const index = i >>> 3;
  const byte = bitmap[index] as number;
  const bit = 1 << (i & 7);
  bitmap[index] = byte | bit;
  return (byte & bit) === 0 ? 1 : 0;
}

function popcount8(byte: number): number {
  let v = byte - ((byte >>> 1) & 0x55);
  v = (v & 0x33) + ((v >>> 2) & 0x33);
  return (v + (v >>> 4)) & 0x0f;
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function checkCount(parameter: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidParameterError(parameter, `must be a positive integer, got ${value}`);
  }
  return value;
}
