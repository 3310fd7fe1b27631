import { InvalidParameterError } from '../../net/errors.js';
import { INITIAL_RTT_MS, RttEstimator, TIMER_GRANULARITY_MS } from './rtt-estimator.js';
import { type SentPacket, SentPackets } from './sent-packets.js';

/** Reordering, in packets, tolerated before a packet is declared lost (RFC 9002 §6.1.1). */
export const PACKET_THRESHOLD = 3;

/** Reordering, in RTTs, tolerated before a packet is declared lost (RFC 9002 §6.1.2). */
export const TIME_THRESHOLD = 9 / 8;
/** The packet threshold never grows beyond this many packets of reordering. */
export const MAX_PACKET_THRESHOLD = 64;
/** The time threshold never grows beyond this many round trips. */
export const MAX_TIME_THRESHOLD = 2;
/** How far below the largest acknowledged a lost packet is still watched for a late ACK. */
const SPURIOUS_WINDOW = 256;

/** PTO periods without an acknowledgement that make persistent congestion (RFC 9002 §7.6.1). */
export const PERSISTENT_CONGESTION_THRESHOLD = 3;

/** The peer's acknowledgement delay bound assumed unless told otherwise, ms (RFC 9000 §18.2). */
export const DEFAULT_MAX_ACK_DELAY_MS = 25;

/**
 * An inclusive range `[low, high]` of acknowledged packet numbers; the same shape as the ACK
 * frame decoder's `AckRange`.
 */
export type AckedRange = readonly [low: number, high: number];

/** Tuning of a {@link LossDetector}; every field has the RFC 9002 default. */
export interface LossDetectorOptions {
  /** RTT assumed before the first sample, ms. Default {@link INITIAL_RTT_MS}. */
  readonly initialRtt?: number;
  /** Longest the peer promises to delay an acknowledgement, ms. Default 25. */
  readonly maxAckDelay?: number;
  /** Default {@link PACKET_THRESHOLD}; RFC 9002 §6.1.1 advises against less than 3. */
  readonly packetThreshold?: number;
  /** Default {@link TIME_THRESHOLD}. */
  readonly timeThreshold?: number;
  /** Default {@link PERSISTENT_CONGESTION_THRESHOLD}. */
  readonly persistentCongestionThreshold?: number;
  /**
   * Whether the handshake is confirmed, so that reported ack delays are capped at
   * `maxAckDelay` (RFC 9002 §5.3). Default true: a channel starts after its handshake.
   */
  readonly handshakeConfirmed?: boolean;
}

/** Packets declared lost at once, with what the congestion controller needs of them. */
export interface LossReport<T> {
  /** Newly lost packets, oldest first; each packet is reported once, ever. */
  readonly lost: readonly SentPacket<T>[];
  /** Bytes in flight among `lost`. */
  readonly lostBytes: number;
  /** Send time of the newest in-flight packet in `lost`; `-Infinity` when there is none. */
  readonly largestLostTimeSent: number;
  /** Whether the losses span a persistent congestion period (RFC 9002 §7.6). */
  readonly persistentCongestion: boolean;
}

/** A packet declared lost that an ACK then named: the path reordered it, nothing was lost. */
export interface DisprovedLoss<T> {
  readonly packet: SentPacket<T>;
  /** When it was declared lost, ms. */
  readonly lostAt: number;
}

/** A loss declared recently, kept until an ACK disproves it or it is too old to matter. */
interface RecentLoss<T> extends DisprovedLoss<T> {
  /** How far below the largest acknowledged it was declared lost, or -1 if by time. */
  readonly distance: number;
}

/** The outcome of an ACK frame that names only packets that were sent. */
export interface AckReport<T> extends LossReport<T> {
  readonly kind: 'acked';
  /** Packets this ACK proved were not lost after all, oldest declaration first. */
  readonly disproved: readonly DisprovedLoss<T>[];
  /** Newly acknowledged packets, oldest first; each packet is reported once, ever. */
  readonly acked: readonly SentPacket<T>[];
  /** Bytes in flight among `acked`. */
  readonly ackedBytes: number;
  /** Whether the frame gave an RTT sample (RFC 9002 §5.1). */
  readonly rttSampled: boolean;
}

/**
 * An ACK frame the peer cannot honestly have sent: the channel should close with a protocol
 * violation. Nothing of the frame was applied.
 */
export interface AckViolation {
  readonly kind: 'violation';
  /** `unsent-packet`: it names a number never sent; `malformed-ranges`: ranges out of order. */
  readonly reason: 'unsent-packet' | 'malformed-ranges';
  /** The first unsent number named, or -1 for malformed ranges. */
  readonly pn: number;
}

/** The outcome of {@link LossDetector.onAck}. */
export type AckOutcome<T> = AckReport<T> | AckViolation;

/** The outcome of {@link LossDetector.onTimeout}. */
export type TimeoutOutcome<T> =
  | { readonly kind: 'none' }
  | ({ readonly kind: 'loss' } & LossReport<T>)
  | { readonly kind: 'pto'; readonly probes: number };

const NO_PACKETS: readonly SentPacket<never>[] = Object.freeze([]);
const NO_LOSS: LossReport<never> = Object.freeze({
  lost: NO_PACKETS,
  lostBytes: 0,
  largestLostTimeSent: Number.NEGATIVE_INFINITY,
  persistentCongestion: false,
});
const NOTHING_DISPROVED: readonly DisprovedLoss<never>[] = Object.freeze([]);
const NOTHING_ACKED: AckReport<never> = Object.freeze({
  kind: 'acked',
  disproved: NOTHING_DISPROVED,
  acked: NO_PACKETS,
  ackedBytes: 0,
  rttSampled: false,
  ...NO_LOSS,
});
const NOTHING_DUE: TimeoutOutcome<never> = Object.freeze({ kind: 'none' });

/**
 * Sender-side loss detection of one packet-number space, RFC 9002 §6 and Appendix A: records
 * sent packets, applies ACK frames, declares packets lost by packet and time thresholds, and
 * keeps the probe timeout with its exponential backoff. Sans-IO: every call takes `now` (ms);
 * {@link LossDetector.deadline} says when to call {@link LossDetector.onTimeout}.
 *
 * `T` is the channel's token of what each packet carried, handed back with every acknowledged
 * or lost packet.
 */
export class LossDetector<T> {
  /** The path's RTT estimate, fed by the ACKs this detector applies. */
  readonly rtt: RttEstimator;
  readonly #sent = new SentPackets<T>();
  readonly #maxAckDelay: number;
  /** The thresholds configured, which a path change returns to. */
  readonly #initialPacketThreshold: number;
  readonly #initialTimeThreshold: number;
  #packetThreshold: number;
  #timeThreshold: number;
  /**
   * Recently declared losses, by packet number. An ACK for one of them proves the path
   * reordered it more than the thresholds allow (RFC 9002 §6.1.1, §6.1.2 let them adapt), so
   * they grow, and the congestion response it drew may be undone.
   */
  readonly #recentLosses = new Map<number, RecentLoss<T>>();
  /** Recent losses forgotten since {@link LossDetector.takeSettledLosses} last ran. */
  #settled: RecentLoss<T>[] | undefined;
  #spuriousLosses = 0;
  readonly #persistentThreshold: number;
  #handshakeConfirmed: boolean;
  #largestAcked = -1;
  #lossTime = Number.POSITIVE_INFINITY;
  #ptoCount = 0;
  // Only packets sent after this can make persistent congestion (RFC 9002 §7.6.2).
  #firstSampleTime = Number.POSITIVE_INFINITY;
  // Only packets sent since the path last changed give RTT samples (RFC 9000 §9.4).
  #pathSince = Number.NEGATIVE_INFINITY;

  constructor(options: LossDetectorOptions = {}) {
    this.rtt = new RttEstimator(options.initialRtt ?? INITIAL_RTT_MS);
    this.#maxAckDelay = check(
      'maxAckDelay',
      options.maxAckDelay ?? DEFAULT_MAX_ACK_DELAY_MS,
      (v) => Number.isFinite(v) && v >= 0,
      'must be a non-negative number of milliseconds',
    );
    this.#packetThreshold = check(
      'packetThreshold',
      options.packetThreshold ?? PACKET_THRESHOLD,
      (v) => Number.isSafeInteger(v) && v >= 1,
      'must be a positive integer',
    );
    this.#timeThreshold = check(
      'timeThreshold',
      options.timeThreshold ?? TIME_THRESHOLD,
      (v) => Number.isFinite(v) && v >= 1,
      'must be a number of at least 1',
    );
    this.#persistentThreshold = check(
      'persistentCongestionThreshold',
      options.persistentCongestionThreshold ?? PERSISTENT_CONGESTION_THRESHOLD,
      (v) => Number.isFinite(v) && v > 0,
      'must be a positive number',
    );
    this.#handshakeConfirmed = options.handshakeConfirmed ?? true;
    this.#initialPacketThreshold = this.#packetThreshold;
    this.#initialTimeThreshold = this.#timeThreshold;
  }

  /**
   * The channel moved to a path to another host at `now` (RFC 9000 §9.4): what was learnt of
   * the old one (RTT, reordering) says nothing of it. The RTT estimate starts over and takes
   * samples only from packets sent from now on, so that late acknowledgements from the old
   * path do not pass for the new one's; the loss thresholds return to their configured values;
   * and only packets sent after the new path's first sample can make persistent congestion.
   * Packets in flight stay tracked: they are acknowledged or declared lost as before.
   */
  onPathChange(now: number): void {
    this.rtt.reset();
    this.#pathSince = now;
    this.#firstSampleTime = Number.POSITIVE_INFINITY;
    this.#packetThreshold = this.#initialPacketThreshold;
    this.#timeThreshold = this.#initialTimeThreshold;
    this.#recentLosses.clear();
  }

  /** The largest packet number the peer has acknowledged, or -1. */
  get largestAcked(): number {
    return this.#largestAcked;
  }

  /** The largest packet number sent, or -1. */
  get largestSent(): number {
    return this.#sent.largestSent;
  }

  /** Packets neither acknowledged nor declared lost. */
  get outstanding(): number {
    return this.#sent.outstanding;
  }

  /** Bytes of outstanding in-flight packets, as recovery sees them. */
  get bytesInFlight(): number {
    return this.#sent.bytesInFlight;
  }

  /** Outstanding ack-eliciting packets. */
  get ackElicitingInFlight(): number {
    return this.#sent.ackElicitingInFlight;
  }

  /**
   * The declared losses forgotten since the last call, oldest first: too far below the largest
   * acknowledged (or too many since) for an ACK to disprove them now, so they stand.
   */
  takeSettledLosses(): readonly DisprovedLoss<T>[] {
    const settled = this.#settled;
    this.#settled = undefined;
    return settled ?? NOTHING_DISPROVED;
  }

  /** Losses declared and later disproved by an ACK: the path reordered the packet. */
  get spuriousLosses(): number {
    return this.#spuriousLosses;
  }

  /** The packet threshold now: {@link PACKET_THRESHOLD} at first, raised by reordering. */
  get packetThreshold(): number {
    return this.#packetThreshold;
  }

  /** The time threshold now, in round trips: {@link TIME_THRESHOLD} at first. */
  get timeThreshold(): number {
    return this.#timeThreshold;
  }

  /** Probe timeouts since the last acknowledgement; the PTO backoff exponent. */
  get ptoCount(): number {
    return this.#ptoCount;
  }

  /** When the earliest packet below the largest acknowledged turns lost by time, or undefined. */
  get lossTime(): number | undefined {
    return Number.isFinite(this.#lossTime) ? this.#lossTime : undefined;
  }

  /**
   * When the probe timeout fires: the latest ack-eliciting send plus the backed-off PTO
   * (RFC 9002 §6.2.1); undefined while no ack-eliciting packet is outstanding.
   */
  get ptoDeadline(): number | undefined {
    if (this.#sent.ackElicitingInFlight === 0) return undefined;
    const backoff = 2 ** this.#ptoCount;
    return this.#sent.lastAckElicitingTime + this.rtt.pto(this.#maxAckDelay) * backoff;
  }

  /**
   * The one timer to arm, or undefined for none: the loss time when there is one, otherwise the
   * probe timeout (RFC 9002 Appendix A.8). When it passes, call {@link LossDetector.onTimeout}.
   */
  get deadline(): number | undefined {
    return this.lossTime ?? this.ptoDeadline;
  }

  /** From now on reported ack delays are capped at `maxAckDelay` (RFC 9002 §5.3). */
  confirmHandshake(): void {
    this.#handshakeConfirmed = true;
  }

  /**
   * Records a sent packet. Packet numbers must increase (gaps are remembered as never sent, so
   * that acknowledging them is a violation) and times must not go back; a caller that breaks
   * this gets an {@link InvalidParameterError}. Pure ACK packets are recorded too, as neither
   * ack-eliciting nor in flight, so that acknowledging them is not mistaken for a violation.
   */
  onPacketSent(
    pn: number,
    timeSent: number,
    size: number,
    ackEliciting: boolean,
    inFlight: boolean,
    frames: T,
  ): void {
    this.#sent.add(pn, timeSent, size, ackEliciting, inFlight, frames);
  }

  /**
   * Applies one ACK frame: `ranges` descending, disjoint, inclusive; `ackDelay` in ms (the frame
   * carries microseconds). Returns the newly acknowledged and newly lost packets, or a violation
   * when the frame names a packet that was never sent; malformed input is never thrown.
   * The ranges are read during the call only.
   */
  onAck(ranges: readonly AckedRange[], ackDelay: number, now: number): AckOutcome<T> {
    const violation = this.#validate(ranges);
    if (violation !== undefined) return violation;
    const largest = (ranges[0] as AckedRange)[1];
    this.#largestAcked = Math.max(this.#largestAcked, largest);
    const disproved =
      this.#recentLosses.size > 0 ? this.#learnReordering(ranges) : NOTHING_DISPROVED;

    const acked = this.#acknowledge(ranges);
    // An ACK that acknowledges nothing new changes nothing else (RFC 9002 Appendix A.7).
    if (acked === undefined) {
      return disproved.length === 0 ? NOTHING_ACKED : { ...NOTHING_ACKED, disproved };
    }

    const rttSampled = this.#sampleRtt(acked, largest, ackDelay, now);
    const loss = this.#detectLost(now);
    this.#ptoCount = 0;
    this.#sent.trim();
    let ackedBytes = 0;
    for (const packet of acked) if (packet.inFlight) ackedBytes += packet.size;
    return { kind: 'acked', disproved, acked, ackedBytes, rttSampled, ...loss };
  }

  /**
   * Declares packets lost by time once {@link LossDetector.lossTime} has passed (RFC 9002
   * Appendix A.9); does nothing before.
   */
  onLossTimeout(now: number): LossReport<T> {
    if (!(this.#lossTime <= now)) return NO_LOSS;
    const loss = this.#detectLost(now);
    this.#sent.trim();
    return loss;
  }

  /**
   * Counts a probe timeout once {@link LossDetector.ptoDeadline} has passed, doubling the next
   * one, and returns how many ack-eliciting probe packets to send now, bypassing the congestion
   * window (RFC 9002 §6.2.4): one on the first timeout, where a lone tail loss is likely; two
   * once the timeouts repeat, so that a single further loss does not cost another doubling.
   * Returns 0 when no probe timeout is due (a stale timer).
   */
  onPtoFired(now: number): number {
    const deadline = this.ptoDeadline;
    if (deadline === undefined || deadline > now) return 0;
    this.#ptoCount++;
    return this.#ptoCount === 1 ? 1 : 2;
  }

  /** Handles the timer armed at {@link LossDetector.deadline}: the loss time first, else PTO. */
  onTimeout(now: number): TimeoutOutcome<T> {
    if (Number.isFinite(this.#lossTime)) {
      return this.#lossTime <= now ? { kind: 'loss', ...this.onLossTimeout(now) } : NOTHING_DUE;
    }
    const probes = this.onPtoFired(now);
    return probes === 0 ? NOTHING_DUE : { kind: 'pto', probes };
  }

  /**
   * Forgets every outstanding packet without declaring it acknowledged or lost (the channel
   * moves to a new path or closes) and returns them oldest first, so that the caller can send
   * their frames again and take their bytes out of the congestion controller.
   */
  discardAll(): SentPacket<T>[] {
    this.#lossTime = Number.POSITIVE_INFINITY;
    this.#ptoCount = 0;
    return this.#sent.clear();
  }

  // The first problem with the frame's ranges, checked before anything is applied.
  #validate(ranges: readonly AckedRange[]): AckViolation | undefined {
    let below = Number.POSITIVE_INFINITY;
    for (const [low, high] of ranges) {
      if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || low < 0) {
        return malformed();
      }
      if (low > high || high >= below) return malformed();
      below = low;
    }
    if (ranges.length === 0) return malformed();
    for (const [low, high] of ranges) {
      const unsent = this.#sent.firstUnsent(low, high);
      if (unsent >= 0) return { kind: 'violation', reason: 'unsent-packet', pn: unsent };
    }
    return undefined;
  }

  // Raises the thresholds past each recent loss the ranges acknowledge, and forgets losses
  // too old to be disproved now.
  #learnReordering(ranges: readonly AckedRange[]): readonly DisprovedLoss<T>[] {
    let disproved: RecentLoss<T>[] | undefined;
    for (const [pn, loss] of this.#recentLosses) {
      if (this.#largestAcked - pn > SPURIOUS_WINDOW) {
        this.#recentLosses.delete(pn);
        (this.#settled ??= []).push(loss);
        continue;
      }
      if (!covers(ranges, pn)) continue;
      this.#recentLosses.delete(pn);
      this.#spuriousLosses++;
      (disproved ??= []).push(loss);
      const distance = loss.distance;
      if (distance >= 0) {
        this.#packetThreshold = Math.min(
          Math.max(this.#packetThreshold, distance + 1),
          MAX_PACKET_THRESHOLD,
        );
      } else {
        this.#timeThreshold = Math.min(this.#timeThreshold + 1 / 8, MAX_TIME_THRESHOLD);
      }
    }
    return disproved ?? NOTHING_DISPROVED;
  }

  // Resolves the outstanding packets the ranges name, oldest first; undefined for none.
  #acknowledge(ranges: readonly AckedRange[]): SentPacket<T>[] | undefined {
    const sent = this.#sent;
    let acked: SentPacket<T>[] | undefined;
    for (let r = ranges.length - 1; r >= 0; r--) {
      const [low, high] = ranges[r] as AckedRange;
      for (let i = sent.indexAtOrAbove(low); i < sent.length && sent.at(i).pn <= high; i++) {
        if (!sent.isOutstanding(i)) continue;
        (acked ??= []).push(sent.markAcked(i));
      }
    }
    return acked;
  }

  // An RTT sample needs the largest acknowledged to be newly acknowledged and some newly
  // acknowledged packet to be ack-eliciting (RFC 9002 §5.1).
  #sampleRtt(acked: SentPacket<T>[], largest: number, ackDelay: number, now: number): boolean {
    const newest = acked[acked.length - 1] as SentPacket<T>;
    if (newest.pn !== largest || !acked.some((packet) => packet.ackEliciting)) return false;
    if (newest.timeSent < this.#pathSince) return false;
    const cap = this.#handshakeConfirmed ? this.#maxAckDelay : Number.POSITIVE_INFINITY;
    this.rtt.update(now - newest.timeSent, ackDelay, cap);
    if (!Number.isFinite(this.#firstSampleTime)) this.#firstSampleTime = now;
    return true;
  }

  #forgetOldestLoss(): void {
    for (const [pn, loss] of this.#recentLosses) {
      this.#recentLosses.delete(pn);
      (this.#settled ??= []).push(loss);
      return;
    }
  }

  /**
   * Declares lost every outstanding packet below the largest acknowledged that is at least the
   * packet threshold below it or was sent a time threshold ago (RFC 9002 §6.1), and sets the
   * loss time for the rest. Losses come off the front of the ring, so the scan is short.
   */
  #detectLost(now: number): LossReport<T> {
    this.#lossTime = Number.POSITIVE_INFINITY;
    const sent = this.#sent;
    const rtt = this.rtt;
    const lossDelay = Math.max(
      this.#timeThreshold * Math.max(rtt.latest, rtt.smoothed),
      TIMER_GRANULARITY_MS,
    );
    const congestionPeriod = rtt.pto(this.#maxAckDelay) * this.#persistentThreshold;
    let lost: SentPacket<T>[] | undefined;
    let lostBytes = 0;
    let largestLostTimeSent = Number.NEGATIVE_INFINITY;
    let persistent = false;
    // Send time of the first ack-eliciting loss of a run with no acknowledged packet inside.
    let runStart = Number.NaN;

    for (let i = 0; i < sent.length; i++) {
      const packet = sent.at(i);
      if (packet.pn >= this.#largestAcked) break;
      if (!sent.isOutstanding(i)) {
        if (sent.isAcked(i)) runStart = Number.NaN;
        continue;
      }
      const late = this.#largestAcked - packet.pn >= this.#packetThreshold;
      // The same sum as the loss time, so that a timer armed at it always finds the packet due.
      const dueAt = packet.timeSent + lossDelay;
      if (!late && dueAt > now) {
        this.#lossTime = Math.min(this.#lossTime, dueAt);
        runStart = Number.NaN;
        continue;
      }
      const lostPacket = sent.markLost(i);
      (lost ??= []).push(lostPacket);
      if (this.#recentLosses.size >= SPURIOUS_WINDOW) this.#forgetOldestLoss();
      const distance = late ? this.#largestAcked - packet.pn : -1;
      this.#recentLosses.set(packet.pn, { packet: lostPacket, lostAt: now, distance });
      if (packet.inFlight) {
        lostBytes += packet.size;
        largestLostTimeSent = Math.max(largestLostTimeSent, packet.timeSent);
      }
      if (packet.ackEliciting && packet.timeSent > this.#firstSampleTime) {
        if (Number.isNaN(runStart)) runStart = packet.timeSent;
        else if (packet.timeSent - runStart > congestionPeriod) persistent = true;
      }
    }
    if (lost === undefined) return NO_LOSS;
    return { lost, lostBytes, largestLostTimeSent, persistentCongestion: persistent };
  }
}

/** Whether one of the ACK ranges names `pn`. */
function covers(ranges: readonly AckedRange[], pn: number): boolean {
  for (const [low, high] of ranges) if (low <= pn && pn <= high) return true;
  return false;
}

function malformed(): AckViolation {
  return { kind: 'violation', reason: 'malformed-ranges', pn: -1 };
}

function check(
  parameter: string,
  value: number,
  valid: (value: number) => boolean,
  message: string,
): number {
  if (!valid(value)) throw new InvalidParameterError(parameter, message);
  return value;
}
