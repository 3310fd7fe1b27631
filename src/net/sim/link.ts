import { MAX_UDP_PAYLOAD_IPV6 } from '../datagram-socket.js';
import { InvalidParameterError } from '../errors.js';
import type { Prng } from '../prng.js';

/**
 * Two-state Gilbert-Elliott loss: the link flips between a good and a bad state before each
 * packet and loses it with the state's probability. Long-run loss is
 * `(r * lossGood + p * lossBad) / (p + r)` with `p = pGoodToBad`, `r = pBadToGood`; mean burst
 * length in the bad state is `1 / r` packets.
 */
export interface GilbertElliott {
  readonly pGoodToBad: number;
  readonly pBadToGood: number;
  readonly lossGood: number;
  readonly lossBad: number;
}

/** One direction of a simulated link. Rates and sizes count UDP payload bytes. */
export interface LinkParams {
  /** One-way propagation delay, ms. */
  readonly delayMs: number;
  /** Extra delay drawn uniformly from [0, jitterMs] per packet; reorders packets it spreads. */
  readonly jitterMs: number;
  /** Independent loss probability per packet. */
  readonly loss: number;
  /** Burst loss, applied in addition to `loss`; `null` for none. */
  readonly burst: GilbertElliott | null;
  /** Probability that a packet is delivered twice (the copy gets its own delay). */
  readonly duplicate: number;
  /** Probability that a packet is held back `reorderDelayMs`, letting later ones overtake it. */
  readonly reorder: number;
  readonly reorderDelayMs: number;
  /** Probability that one random bit of a delivered packet is flipped. */
  readonly corrupt: number;
  /** Probability that a delivered packet is cut to a random shorter length. */
  readonly truncate: number;
  /** Transmission rate, bits per second; `Infinity` for no serialisation delay. */
  readonly bandwidthBps: number;
  /**
   * Drop-tail queue in front of the transmitter, bytes: a packet is dropped when the bytes not yet
   * transmitted, itself included, would exceed it. Ignored when the rate is infinite.
   */
  readonly queueBytes: number;
  /** Largest datagram the link carries, bytes; larger ones are dropped. */
  readonly mtu: number;
  /** Drops everything, as a broken path does. */
  readonly blackhole: boolean;
}

/** A link that delivers everything after 1 ms; the network's default. */
export const IDEAL_LINK: LinkParams = Object.freeze({
  delayMs: 1,
  jitterMs: 0,
  loss: 0,
  burst: null,
  duplicate: 0,
  reorder: 0,
  reorderDelayMs: 0,
  corrupt: 0,
  truncate: 0,
  bandwidthBps: Number.POSITIVE_INFINITY,
  queueBytes: Number.POSITIVE_INFINITY,
  mtu: MAX_UDP_PAYLOAD_IPV6,
  blackhole: false,
});

/** Rounding the drop-tail test forgives: a thousandth of a byte (datagrams are whole bytes). */
const QUEUE_SLACK_BYTES = 1e-3;

/** Why the simulator dropped a packet; the values appear in the trace. */
export type DropReason =
  | 'loss'
  | 'burst-loss'
  | 'queue-full'
  | 'mtu'
  | 'blackhole'
  | 'partition'
  | 'no-route'
  | 'no-socket'
  | 'host-down'
  | 'nat';

const PROBABILITIES = ['loss', 'duplicate', 'reorder', 'corrupt', 'truncate'] as const;
const DURATIONS = ['delayMs', 'jitterMs', 'reorderDelayMs'] as const;
const BURST_KEYS = ['pGoodToBad', 'pBadToGood', 'lossGood', 'lossBad'] as const;

function checkProbability(value: unknown, name: string): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidParameterError(name, `must be a probability in [0, 1], got ${String(value)}`);
  }
}

function checkNonNegative(value: unknown, name: string, allowInfinity: boolean): void {
  const ok =
    typeof value === 'number' &&
    value >= 0 &&
    (Number.isFinite(value) || (allowInfinity && value === Number.POSITIVE_INFINITY));
  if (!ok)
    throw new InvalidParameterError(name, `must be a non-negative number, got ${String(value)}`);
}

function checkBurst(burst: unknown, name: string): void {
  if (burst === null) return;
  if (typeof burst !== 'object' || burst === undefined) {
    throw new InvalidParameterError(name, 'must be null or a Gilbert-Elliott parameter object');
  }
  for (const key of Object.keys(burst)) {
    if (!(BURST_KEYS as readonly string[]).includes(key)) {
      throw new InvalidParameterError(`${name}.${key}`, 'unknown parameter');
    }
  }
  for (const key of BURST_KEYS)
    checkProbability((burst as Record<string, unknown>)[key], `${name}.${key}`);
}

/**
 * Merges `spec` over `base` and checks every value, so that bad input fails here, at
 * construction, naming the parameter (`name.loss`), not later inside a run.
 */
export function linkParams(
  spec: Partial<LinkParams>,
  base = IDEAL_LINK,
  name = 'link',
): LinkParams {
  for (const key of Object.keys(spec)) {
    if (!(key in IDEAL_LINK))
      throw new InvalidParameterError(`${name}.${key}`, 'unknown parameter');
  }
  const params = { ...base, ...spec };
  for (const key of PROBABILITIES) checkProbability(params[key], `${name}.${key}`);
  for (const key of DURATIONS) checkNonNegative(params[key], `${name}.${key}`, false);
  checkBurst(params.burst, `${name}.burst`);
  checkNonNegative(params.queueBytes, `${name}.queueBytes`, true);
  if (!(params.bandwidthBps > 0)) {
    throw new InvalidParameterError(
      `${name}.bandwidthBps`,
      `must be positive, got ${params.bandwidthBps}`,
    );
  }
  if (!Number.isInteger(params.mtu) || params.mtu < 1 || params.mtu > MAX_UDP_PAYLOAD_IPV6) {
    throw new InvalidParameterError(
      `${name}.mtu`,
      `must be an integer in [1, ${MAX_UDP_PAYLOAD_IPV6}], got ${params.mtu}`,
    );
  }
  if (typeof params.blackhole !== 'boolean') {
    throw new InvalidParameterError(`${name}.blackhole`, 'must be a boolean');
  }
  return Object.freeze(params);
}

/** What a link did to one delivered copy of a packet; the values appear in the trace. */
export type Damage = 'bit-flip' | 'truncate';

/**
 * The state of one direction of a link: its transmitter's backlog, its Gilbert-Elliott state and
 * its own PRNG stream, so that traffic on one link never shifts the random draws of another.
 */
export class Link {
  params: LinkParams;
  private busyUntil = 0;
  private burstBad = false;

  constructor(
    params: LinkParams,
    private readonly prng: Prng,
  ) {
    this.params = params;
  }

  /**
   * Puts a packet of `size` bytes on the link at `now`. Returns why it was dropped, or `null`
   * when it will arrive; then {@link Link.arrivalTime} gives when.
   */
  admit(size: number, now: number): DropReason | null {
    const p = this.params;
    if (p.blackhole) return 'blackhole';
    if (size > p.mtu) return 'mtu';
    if (p.bandwidthBps !== Number.POSITIVE_INFINITY) {
      const bytesPerMs = p.bandwidthBps / 8000;
      const start = Math.max(this.busyUntil, now);
      // busyUntil carries float rounding; forgive far less than a byte of it, so that a queue of
      // exactly N packets holds N at any rate.
      if ((start - now) * bytesPerMs + size > p.queueBytes + QUEUE_SLACK_BYTES) return 'queue-full';
      this.busyUntil = start + size / bytesPerMs;
    } else {
      this.busyUntil = now;
    }
    // A lost packet has still used the wire, as on a real link: loss comes after the queue.
    if (p.burst !== null && this.burstLost(p.burst)) return 'burst-loss';
    if (p.loss > 0 && this.prng.nextFloat() < p.loss) return 'loss';
    return null;
  }

  /** When the copy of the packet last admitted arrives: transmission, propagation, jitter, reordering. */
  arrivalTime(): number {
    const p = this.params;
    let time = this.busyUntil + p.delayMs;
    if (p.jitterMs > 0) time += this.prng.nextFloat() * p.jitterMs;
    if (p.reorder > 0 && this.prng.nextFloat() < p.reorder) time += p.reorderDelayMs;
    return time;
  }

  /** Whether the packet last admitted is duplicated. */
  duplicates(): boolean {
    return this.params.duplicate > 0 && this.prng.nextFloat() < this.params.duplicate;
  }

  /** Draws what happens to one delivered copy. */
  damage(): Damage | null {
    const p = this.params;
    if (p.corrupt > 0 && this.prng.nextFloat() < p.corrupt) return 'bit-flip';
    if (p.truncate > 0 && this.prng.nextFloat() < p.truncate) return 'truncate';
    return null;
  }

  /** Flips one random bit of `data` in place; returns the bit's index. */
  flipBit(data: Uint8Array): number {
    const bit = this.prng.nextInt(data.length * 8);
    data[bit >> 3] = (data[bit >> 3] as number) ^ (1 << (bit & 7));
    return bit;
  }

  /** A random length shorter than `size`. */
  truncatedLength(size: number): number {
    return this.prng.nextInt(size);
  }

  private burstLost(ge: GilbertElliott): boolean {
    const flip = this.burstBad ? ge.pBadToGood : ge.pGoodToBad;
    if (flip > 0 && this.prng.nextFloat() < flip) this.burstBad = !this.burstBad;
    const loss = this.burstBad ? ge.lossBad : ge.lossGood;
    return loss > 0 && this.prng.nextFloat() < loss;
  }
}
