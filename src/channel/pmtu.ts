import { isIpv6, MAX_UDP_PAYLOAD_IPV6, maxUdpPayload } from '../net/datagram-socket.js';
import { InvalidParameterError, checkPositive } from '../net/errors.js';

/**
 * Datagram size every path is taken to carry until probing shows more, bytes: BASE_PLPMTU of
 * RFC 8899 §5.1.2, and QUIC's minimum (RFC 9000 §14), which our handshake pads to.
 */
export const BASE_PLPMTU = 1200;

/** Probes of one size lost in a row before the size is taken as too big (RFC 8899 §5.1.2). */
export const MAX_PROBES = 3;

/** Time in SEARCH_COMPLETE before probing for a larger size again, ms (RFC 8899 §5.1.1). */
export const PMTU_RAISE_INTERVAL_MS = 600_000;

/**
 * Loss events of regular packets above the base size that make a black hole, when no packet as
 * large as the smallest of them is acknowledged between. Losses declared together count as one
 * event, so a queue overflow that drops a whole burst is one piece of evidence, not a black
 * hole by itself; and congestion rarely strikes three times with no large packet delivered in
 * between, because the sender slows down after each event and what it sends next gets through.
 * quinn's detector is of the same order (more than three suspicious loss bursts).
 */
export const BLACK_HOLE_LOSSES = 3;

/**
 * Precision of a search, bytes: it stops once the path's limit is known to within this. 32
 * bytes is about 2% of an Ethernet-sized datagram; halving it would cost one more probe per
 * search for at most 1% more payload per packet.
 */
export const STOP_GAP = 32;

/**
 * UDP payloads that fill a 1500-byte Ethernet frame over IPv4 (20 + 8 header bytes) and IPv6
 * (40 + 8), by far the most common bottleneck on real paths. RFC 8899 §5.3.2 suggests taking
 * probe sizes from a table of common sizes; descending order, so the first that fits is the
 * largest.
 */
const ETHERNET_IPV4_PAYLOAD = 1472;
const ETHERNET_IPV6_PAYLOAD = 1452;
const ETHERNET_PLATEAUS: readonly number[] = [ETHERNET_IPV4_PAYLOAD, ETHERNET_IPV6_PAYLOAD];

/** Tuning of a {@link PmtuSearch}; sizes are whole UDP payloads, in bytes. */
export interface PmtuOptions {
  /** Datagram size known to work, bytes. Default {@link BASE_PLPMTU}. */
  readonly baseSize?: number;
  /**
   * Largest size worth probing, bytes, at least `baseSize` and at most 65,527 (the channel
   * derives it from the address family and its configuration).
   */
  readonly maxSize: number;
  /**
   * Probes of one size lost in a row before that size is taken as too big.
   * Default {@link MAX_PROBES}.
   */
  readonly maxProbes?: number;
  /**
   * After a completed search, probe again for a larger size this often, ms.
   * Default {@link PMTU_RAISE_INTERVAL_MS}.
   */
  readonly raiseIntervalMs?: number;
  /**
   * Loss events of regular packets larger than `baseSize` and at most the current size, with
   * no acknowledgement of a packet at least as large as the smallest of them between, that
   * mean a black hole. Default {@link BLACK_HOLE_LOSSES}.
   */
  readonly blackHoleLosses?: number;
  /**
   * Stop searching once the smallest size known to fail is at most this many bytes above the
   * largest acknowledged one, so the result is less than this below the path's limit.
   * Default {@link STOP_GAP}.
   */
  readonly stopGap?: number;
}

/**
 * RFC 8899 §5.2 states. `base`: searching, but no packet of at least the base size has been
 * acknowledged since the (re)start; `searching`: the base size is confirmed, larger sizes are
 * being probed; `complete`: the search is done until the raise timer; `error`: probes of the
 * base size itself were lost `maxProbes` times, so only the base size is probed, once per raise
 * interval, until a packet of that size is acknowledged.
 */
export type PmtuState = 'base' | 'searching' | 'complete' | 'error';

/** Counters of one {@link PmtuSearch}. */
export interface PmtuStats {
  probesSent: number;
  probesAcked: number;
  probesLost: number;
  /** Times the current size stopped working and the search fell back to the base size. */
  blackHoles: number;
}

/**
 * What the next probe of a search is: `top` tries the largest size not known to fail (one
 * round trip on a path that carries everything, e.g. loopback); `step` tries `stopGap` above the
 * acknowledged size, which is likely the path's limit; `narrow` takes a common size in range,
 * else the middle of the range.
 */
type Move = 'top' | 'step' | 'narrow';

/**
 * Room for suspects (see {@link PmtuSearch}). Each bisection suspect is at most half as far
 * above `lo` as the one before it, so at most 16 of them fit below 65,528; add the top size
 * (or the size a black hole took away), the two Ethernet sizes and one step, and a search holds
 * at most 20. Once a search is noisy it retries each suspect before pushing another.
 */
const MAX_SUSPECTS = 24;

/**
 * Datagram Packetization Layer Path MTU Discovery (RFC 8899): the size of the largest datagram
 * the path carries, found with padded probe packets that the loss detector reports as
 * acknowledged or lost, and black-hole detection from the losses of regular packets. Sans-IO
 * and allocation-free per call: the channel asks {@link PmtuSearch.probeSize} when it may send,
 * and reports what became of each probe and of each regular packet.
 *
 * The search keeps `lo`, the largest size acknowledged (the PLPMTU), `hi`, the smallest size
 * lost in `maxProbes` probes in a row (or `maxSize + 1`), and between them a stack of suspects:
 * sizes one probe of which was lost, each smaller than the one below it. The smallest suspect
 * is the ceiling of the search, which goes on below it at once; only once the ceiling is within
 * `stopGap` of `lo` is it probed again, until it is acknowledged (the loss was random: `lo`
 * rises to it, it is popped, and the search goes on up to the next suspect) or lost `maxProbes`
 * times in a row (it becomes `hi` and the suspects above it are moot). So a size counts as
 * failed only after `maxProbes` consecutive lost probes, as RFC 8899 §5.1.2 has it, while a size
 * that is merely too big costs one probe instead of `maxProbes`; RFC 8899 §5.3.1 lets the probe
 * after a loss be of any size. Only the size that ends the search is probed `maxProbes` times.
 * Once a suspect is acknowledged the path is known to lose probes at random, and from then on
 * every suspect is retried at once, as in a plain search: deferred retries on such a path would
 * leave many suspects, each costing a climb of its own.
 *
 * Probe order below the ceiling: first `maxSize`, which ends the search in one round trip on
 * loopback; after it is lost, the Ethernet sizes 1472 and 1452 (RFC 8899 §5.3.2 suggests a
 * table of common sizes), and after one of them is acknowledged the size `stopGap` above it,
 * whose loss ends the search there, so a 1500-byte path takes five probes. Otherwise bisection,
 * about log2((maxSize - baseSize) / stopGap) probes: at most 16 with the defaults.
 */
export class PmtuSearch {
  /** Counters, for diagnostics. */
  readonly stats: PmtuStats = { probesSent: 0, probesAcked: 0, probesLost: 0, blackHoles: 0 };

  readonly #base: number;
  readonly #max: number;
  readonly #maxProbes: number;
  readonly #raiseInterval: number;
  readonly #blackHoleLosses: number;
  readonly #stopGap: number;

  #phase: 'searching' | 'complete' | 'error' = 'searching';
  #baseConfirmed = false;
  #lo: number;
  #hi: number;
  /** Suspect sizes, decreasing; the last is the ceiling. */
  readonly #suspects = new Uint32Array(MAX_SUSPECTS);
  #depth = 0;
  /**
   * Probes lost in a row of the ceiling, or of the base size while it is unconfirmed and
   * nothing else is left to probe. Suspects under the ceiling were lost once.
   */
  #lostCount = 0;
  #move: Move = 'top';
  /** Whether a suspect of this search was acknowledged: suspects are then retried at once. */
  #noisy = false;
  /** The size of the probe in flight, 0 when none. */
  #probing = 0;
  /** When a probe is next due: in the past while searching, the raise or retry time otherwise. */
  #due: number;

  /** Black-hole evidence: loss events counted, the time of the last, the smallest size lost. */
  #runLosses = 0;
  #runLastLoss = 0;
  #runSmallest = 0;

  /** @param now the current time, ms; the first probe is due at once. */
  constructor(options: PmtuOptions, now: number) {
    this.#base = checkSize('baseSize', options.baseSize ?? BASE_PLPMTU);
    this.#max = checkSize('maxSize', options.maxSize);
    if (this.#base > this.#max) {
      throw new InvalidParameterError(
        'baseSize',
        `must be at most maxSize (${this.#max}), got ${this.#base}`,
      );
    }
    this.#maxProbes = checkCount('maxProbes', options.maxProbes ?? MAX_PROBES);
    this.#raiseInterval = checkPositive(
      'raiseIntervalMs',
      options.raiseIntervalMs ?? PMTU_RAISE_INTERVAL_MS,
    );
    this.#blackHoleLosses = checkCount(
      'blackHoleLosses',
      options.blackHoleLosses ?? BLACK_HOLE_LOSSES,
    );
    this.#stopGap = checkCount('stopGap', options.stopGap ?? STOP_GAP);
    this.#lo = this.#base;
    this.#hi = this.#max + 1;
    this.#due = now;
  }

  /** Size of regular packets now, bytes: the PLPMTU. */
  get current(): number {
    return this.#lo;
  }

  get state(): PmtuState {
    if (this.#phase !== 'searching') return this.#phase;
    return this.#baseConfirmed ? 'searching' : 'base';
  }

  /**
   * When {@link PmtuSearch.probeSize} may next return a size, ms: a time already past while a
   * search waits for its next probe to be sent; the raise timer once complete, or the next
   * probe of the base size in the error state; `Infinity` while a probe is in flight (its fate
   * comes from the loss detector) or when nothing larger can be found.
   */
  get deadline(): number {
    return this.#probing === 0 ? this.#due : Infinity;
  }

  /**
   * Size of the probe to send now (a PING padded to exactly this many bytes), or undefined:
   * while a probe is in flight, once complete until the raise timer runs out, and in the error
   * state between probes of the base size.
   */
  probeSize(now: number): number | undefined {
    if (this.#probing !== 0 || now < this.#due) return undefined;
    if (this.#phase === 'error') return this.#base;
    if (this.#phase === 'complete') this.#raise();
    this.#settle(now);
    return this.#phase === 'searching' ? this.#candidate() : undefined;
  }

  /** A probe of `size` bytes, as {@link PmtuSearch.probeSize} gave, was sent. */
  onProbeSent(size: number, _now: number): void {
    this.#probing = size;
    this.stats.probesSent++;
  }

  /** The probe in flight was acknowledged: the path carries `size` bytes. */
  onProbeAcked(size: number, now: number): void {
    if (size !== this.#probing) return; // sent before a black hole restarted the search
    this.#probing = 0;
    this.stats.probesAcked++;
    this.#clearRun(size);
    this.#due = now;
    // RFC 8899 §5.2: ERROR is left once a probe of the base size gets through.
    if (this.#phase === 'error') this.#restart(now);
    this.#baseConfirmed = true;
    if (this.#depth > 0 && size === this.#ceiling()) {
      // Its earlier loss was random; the next suspect up was lost once.
      this.#noisy = true;
      this.#depth--;
      this.#lostCount = this.#depth > 0 ? 1 : 0;
      this.#lo = size;
      this.#move = ETHERNET_PLATEAUS.includes(size) ? 'step' : 'narrow';
    } else if (size > this.#lo) {
      this.#lo = size;
      if (this.#move === 'step') this.#move = this.#depth === 0 ? 'top' : 'narrow';
      else if (ETHERNET_PLATEAUS.includes(size)) this.#move = 'step';
    }
    this.#settle(now);
  }

  /** The probe in flight was declared lost. */
  onProbeLost(size: number, now: number): void {
    if (size !== this.#probing) return;
    this.#probing = 0;
    this.stats.probesLost++;
    this.#due = now;
    if (this.#phase === 'error') {
      this.#due = now + this.#raiseInterval;
      return;
    }
    if (!this.#baseConfirmed && size === this.#base) {
      // RFC 8899 §5.2: BASE_PLPMTU not confirmed by MAX_PROBES probes.
      if (++this.#lostCount >= this.#maxProbes) {
        this.#phase = 'error';
        this.#due = now + this.#raiseInterval;
      }
      return;
    }
    if (this.#depth > 0 && size === this.#ceiling()) {
      this.#lostCount++;
    } else {
      this.#suspect(size);
      this.#move = 'narrow';
    }
    if (this.#lostCount >= this.#maxProbes) {
      this.#hi = size;
      this.#depth = 0;
      this.#lostCount = 0;
    }
    this.#settle(now);
  }

  /**
   * A regular packet (not a probe) of `size` bytes was acknowledged. It confirms the base size
   * when at least that large, and clears black-hole evidence against sizes up to its own.
   */
  onPacketAcked(size: number): void {
    this.#clearRun(size);
    if (size < this.#base || this.#baseConfirmed) return;
    // RFC 8899 §5.2: ERROR is left when the base size gets through; search afresh from it, at
    // once: the last base probe was lost a raise interval before the next one is due.
    if (this.#phase === 'error') this.#restart(this.#due - this.#raiseInterval);
    this.#baseConfirmed = true;
  }

  /**
   * A regular packet of `size` bytes was declared lost. Losses of packets larger than the base
   * size and not larger than the current size are black-hole evidence (RFC 8899 §4.3); with
   * enough of it the search falls back to the base size and starts again (RFC 8899 §5.2).
   */
  onPacketLost(size: number, now: number): void {
    if (size <= this.#base || size > this.#lo) return; // sent under an earlier, larger size
    if (this.#runLosses === 0 || size < this.#runSmallest) this.#runSmallest = size;
    // Losses declared at the same moment come from one ACK or timeout: one loss event.
    if (this.#runLosses === 0 || now !== this.#runLastLoss) {
      this.#runLosses++;
      this.#runLastLoss = now;
    }
    if (this.#runLosses < this.#blackHoleLosses) return;
    this.stats.blackHoles++;
    const failed = this.#lo;
    this.#restart(now);
    // The size that stopped working is suspect, its black hole counting as one lost probe: if
    // the losses were congestion after all, its probes get through and the search climbs back.
    this.#suspect(failed);
    this.#move = 'narrow';
  }

  /** Back to the base size, unconfirmed, with nothing known above it. */
  #restart(now: number): void {
    this.#phase = 'searching';
    this.#baseConfirmed = false;
    this.#lo = this.#base;
    this.#hi = this.#max + 1;
    this.#depth = 0;
    this.#lostCount = 0;
    this.#move = 'top';
    this.#noisy = false;
    this.#probing = 0;
    this.#runLosses = 0;
    this.#due = now;
  }

  /**
   * The raise timer ran out (RFC 8899 §5.1.1): forget the failures above and probe `stopGap`
   * above the current size; on a path that has not changed that ends the search again in
   * `maxProbes` probes.
   */
  #raise(): void {
    this.#phase = 'searching';
    this.#hi = this.#max + 1;
    this.#depth = 0;
    this.#lostCount = 0;
    this.#move = 'step';
    this.#noisy = false;
  }

  /** Completes the search once the path's limit is known to within `stopGap`. */
  #settle(now: number): void {
    if (this.#phase !== 'searching' || !this.#baseConfirmed) return;
    if (this.#hi - this.#lo > this.#stopGap) return;
    this.#phase = 'complete';
    // With nothing above known to fail, there is nothing larger to find later.
    this.#due = this.#hi > this.#max ? Infinity : now + this.#raiseInterval;
  }

  /** The smallest suspect, else the smallest failed size. */
  #ceiling(): number {
    return this.#depth > 0 ? (this.#suspects[this.#depth - 1] as number) : this.#hi;
  }

  /** `size`, below every suspect, had a probe lost. */
  #suspect(size: number): void {
    this.#suspects[this.#depth++] = size;
    this.#lostCount = 1;
  }

  /** The next probe size while searching. */
  #candidate(): number {
    const lo = this.#lo;
    const ceiling = this.#ceiling();
    if (this.#depth > 0 && (this.#noisy || ceiling - lo <= this.#stopGap)) return ceiling;
    // With no suspect left and not one packet of the base size acknowledged, confirm the base
    // size itself (RFC 8899 §5.2 BASE).
    if (ceiling - lo <= this.#stopGap) return this.#base;
    switch (this.#move) {
      case 'top':
        return ceiling - 1;
      case 'step':
        return lo + this.#stopGap;
      case 'narrow':
        // An index loop, not for-of: no iterator allocated per call.
        for (let i = 0; i < ETHERNET_PLATEAUS.length; i++) {
          const size = ETHERNET_PLATEAUS[i] as number;
          if (size > lo && size < ceiling) return size;
        }
        return Math.floor((lo + ceiling) / 2);
    }
  }

  /** An acknowledged packet of `size` bytes shows the losses in the run were not the path. */
  #clearRun(size: number): void {
    if (this.#runLosses > 0 && size >= this.#runSmallest) this.#runLosses = 0;
  }
}

function checkSize(parameter: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_UDP_PAYLOAD_IPV6) {
    throw new InvalidParameterError(
      parameter,
      `must be an integer in [1, ${MAX_UDP_PAYLOAD_IPV6}], got ${value}`,
    );
  }
  return value;
}

function checkCount(parameter: string, value: number): number {
  checkPositive(parameter, value);
  if (!Number.isInteger(value)) {
    throw new InvalidParameterError(parameter, `must be an integer, got ${value}`);
  }
  return value;
}

/**
 * The largest datagram worth probing towards `peerHost`. Node cannot set the don't-fragment
 * bit, so a datagram larger than the interface MTU would leave fragmented and a probe of it
 * would prove nothing about the path: off loopback the ceiling is a full 1500-byte Ethernet
 * frame (1472 bytes of UDP payload over IPv4, 1452 over IPv6). Loopback carries what UDP does.
 */
export function defaultPmtuCeiling(peerHost: string): number {
  if (isLoopback(peerHost)) return maxUdpPayload(peerHost);
  return isIpv6(peerHost) ? ETHERNET_IPV6_PAYLOAD : ETHERNET_IPV4_PAYLOAD;
}

function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.') || host.startsWith('::ffff:127.');
}
