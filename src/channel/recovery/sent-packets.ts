import { InvalidParameterError } from '../../net/errors.js';

/**
 * One packet as the sender recorded it. `frames` is the channel's own token: whatever it needs to
 * send the packet's content again under a new packet number once the packet is declared lost.
 */
export interface SentPacket<T> {
  readonly pn: number;
  /** When it was sent, ms on the caller's clock. */
  readonly timeSent: number;
  /** Bytes on the wire, counted against the congestion window when `inFlight`. */
  readonly size: number;
  /** Whether it carries a frame that asks for an acknowledgement (RFC 9002 §2). */
  readonly ackEliciting: boolean;
  /** Whether it counts towards bytes in flight: ack-eliciting or padding (RFC 9002 §2). */
  readonly inFlight: boolean;
  readonly frames: T;
}

// A record's fate; resolved records wait in the ring until nothing older is outstanding.
const OUTSTANDING = 0;
const ACKED = 1;
const LOST = 2;

/**
 * How many gaps in the packet numbers are remembered. A sender that skips numbers to catch a
 * peer acknowledging packets it never received (RFC 9000 §21.4) skips rarely, so a short memory
 * of the latest skips keeps the check and bounds the memory; an ACK naming an older skip passes
 * as a stale duplicate.
 */
const SKIP_MEMORY = 16;

/**
 * The sender's unresolved packets in packet-number order, with the sums the recovery needs
 * (RFC 9002 Appendix A.1). A growable ring: numbers only increase, so a send appends, a binary
 * search finds a number in O(log n), and acknowledged or lost packets leave from the front once
 * everything older is resolved too. Loss detection resolves every packet more than the packet
 * threshold below the largest acknowledged, so the ring spans about one window of packets.
 */
export class SentPackets<T> {
  #records: (SentPacket<T> | undefined)[] = new Array<SentPacket<T> | undefined>(16);
  #states = new Uint8Array(16);
  #mask = 15;
  #head = 0;
  #length = 0;
  #outstanding = 0;
  #largestSent = -1;
  #lastTimeSent = Number.NEGATIVE_INFINITY;
  #bytesInFlight = 0;
  #ackElicitingInFlight = 0;
  #lastAckElicitingTime = Number.NEGATIVE_INFINITY;
  // Remembered gaps as [low, high] pairs in a ring of SKIP_MEMORY entries.
  readonly #skipped = new Float64Array(2 * SKIP_MEMORY);
  #skipCount = 0;
  #skipNext = 0;

  /** Slots held, resolved ones included: the span of {@link SentPackets.at}. */
  get length(): number {
    return this.#length;
  }

  /** Packets neither acknowledged nor declared lost. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** The largest packet number sent, or -1 before the first. */
  get largestSent(): number {
    return this.#largestSent;
  }

  /** Sum of the sizes of outstanding in-flight packets. */
  get bytesInFlight(): number {
    return this.#bytesInFlight;
  }

  /** Outstanding ack-eliciting packets; the probe timer runs only while there are some. */
  get ackElicitingInFlight(): number {
    return this.#ackElicitingInFlight;
  }

  /** When the latest ack-eliciting packet was sent; `-Infinity` before the first. */
  get lastAckElicitingTime(): number {
    return this.#lastAckElicitingTime;
  }

  /**
   * Records a sent packet. Packet numbers must increase and send times must not go back; a gap
   * in the numbers is remembered as never sent. Throws {@link InvalidParameterError} on a
   * caller's bug, since later ACK processing relies on that order.
   */
  add(
    pn: number,
    timeSent: number,
    size: number,
    ackEliciting: boolean,
    inFlight: boolean,
    frames: T,
  ): void {
    if (!Number.isSafeInteger(pn) || pn <= this.#largestSent) {
      throw new InvalidParameterError('pn', 'must be an integer above the largest sent');
    }
    if (!Number.isFinite(timeSent) || timeSent < this.#lastTimeSent) {
      throw new InvalidParameterError('timeSent', 'must be finite and not before the last send');
    }
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new InvalidParameterError('size', 'must be a non-negative integer');
    }
    if (ackEliciting && !inFlight) {
      throw new InvalidParameterError('inFlight', 'an ack-eliciting packet is always in flight');
    }
    if (pn > this.#largestSent + 1) this.#rememberSkip(this.#largestSent + 1, pn - 1);
    if (this.#length > this.#mask) this.#grow();
    const slot = (this.#head + this.#length) & this.#mask;
    this.#records[slot] = { pn, timeSent, size, ackEliciting, inFlight, frames };
    this.#states[slot] = OUTSTANDING;
    this.#length++;
    this.#outstanding++;
    this.#largestSent = pn;
    this.#lastTimeSent = timeSent;
    if (inFlight) this.#bytesInFlight += size;
    if (ackEliciting) {
      this.#ackElicitingInFlight++;
      this.#lastAckElicitingTime = timeSent;
    }
  }

  /**
   * The smallest number in `[low, high]` that was never sent (above the largest sent, or in a
   * remembered gap), or -1 when, as far as is known, all of them were.
   */
  firstUnsent(low: number, high: number): number {
    let first = high > this.#largestSent ? Math.max(low, this.#largestSent + 1) : -1;
    for (let i = 0; i < this.#skipCount; i++) {
      const skipLow = this.#skipped[2 * i] as number;
      const skipHigh = this.#skipped[2 * i + 1] as number;
      if (skipLow <= high && skipHigh >= low) {
        const candidate = Math.max(low, skipLow);
        if (first < 0 || candidate < first) first = candidate;
      }
    }
    return first;
  }

  /** The index of the first slot whose packet number is `>= pn`; {@link length} when none. */
  indexAtOrAbove(pn: number): number {
    let lo = 0;
    let hi = this.#length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).pn < pn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The packet in slot `index`, `0 <= index < length`, oldest first. */
  at(index: number): SentPacket<T> {
    return this.#records[(this.#head + index) & this.#mask] as SentPacket<T>;
  }

  /** True when the packet in slot `index` is neither acknowledged nor lost. */
  isOutstanding(index: number): boolean {
    return this.#states[(this.#head + index) & this.#mask] === OUTSTANDING;
  }

  /** True when the packet in slot `index` has been acknowledged. */
  isAcked(index: number): boolean {
    return this.#states[(this.#head + index) & this.#mask] === ACKED;
  }

  /** Resolves the outstanding packet in slot `index` as acknowledged and returns it. */
  markAcked(index: number): SentPacket<T> {
    return this.#resolve(index, ACKED);
  }

  /** Resolves the outstanding packet in slot `index` as lost and returns it. */
  markLost(index: number): SentPacket<T> {
    return this.#resolve(index, LOST);
  }

  /** Drops resolved packets from the front, releasing their frames. */
  trim(): void {
    while (this.#length > 0 && this.#states[this.#head] !== OUTSTANDING) {
      this.#records[this.#head] = undefined;
      this.#head = (this.#head + 1) & this.#mask;
      this.#length--;
    }
  }

  /**
   * Removes every outstanding packet without resolving it (a path or channel reset) and returns
   * them oldest first, so that the caller can send their frames again.
   */
  clear(): SentPacket<T>[] {
    const left: SentPacket<T>[] = [];
    for (let i = 0; i < this.#length; i++) {
      if (this.isOutstanding(i)) left.push(this.at(i));
    }
    this.#records.fill(undefined);
    this.#head = 0;
    this.#length = 0;
    this.#outstanding = 0;
    this.#bytesInFlight = 0;
    this.#ackElicitingInFlight = 0;
    return left;
  }

  #resolve(index: number, state: number): SentPacket<T> {
    const slot = (this.#head + index) & this.#mask;
    const packet = this.#records[slot] as SentPacket<T>;
    this.#states[slot] = state;
    this.#outstanding--;
    if (packet.inFlight) this.#bytesInFlight -= packet.size;
    if (packet.ackEliciting) this.#ackElicitingInFlight--;
    return packet;
  }

  #rememberSkip(low: number, high: number): void {
    this.#skipped[2 * this.#skipNext] = low;
    this.#skipped[2 * this.#skipNext + 1] = high;
    this.#skipNext = (this.#skipNext + 1) % SKIP_MEMORY;
    this.#skipCount = Math.min(this.#skipCount + 1, SKIP_MEMORY);
  }

  // Doubles the ring, unrolling it so that the oldest packet lands in slot 0.
  #grow(): void {
    const capacity = 2 * (this.#mask + 1);
    const records = new Array<SentPacket<T> | undefined>(capacity);
    const states = new Uint8Array(capacity);
    for (let i = 0; i < this.#length; i++) {
      const slot = (this.#head + i) & this.#mask;
      records[i] = this.#records[slot];
      states[i] = this.#states[slot] as number;
    }
    this.#records = records;
    this.#states = states;
    this.#mask = capacity - 1;
    this.#head = 0;
  }
}
