import type { RttView } from '../recovery/rtt-estimator.js';
import type { ControllerOptions } from './controller.js';
import { WindowController } from './window-controller.js';

/** CUBIC's scaling constant, datagrams per second cubed (RFC 9438 §5.1). */
export const CUBIC_C = 0.4;

/** Window kept after a congestion event (RFC 9438 §4.6). */
export const CUBIC_BETA = 0.7;

/**
 * Additive increase of the Reno-friendly estimate, datagrams per RTT: with β = 0.7 it matches
 * Reno's average rate (RFC 9438 §4.3).
 */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** CUBIC's own variables, saved at a congestion event in case it is disproved. */
interface CubicState {
  readonly wMax: number;
  readonly origin: number;
  readonly epochStart: number;
  readonly k: number;
  readonly wEst: number;
  readonly lastAck: number;
}

/**
 * CUBIC, RFC 9438. After a congestion event the window follows
 * `W_cubic(t) = C·(t − K)³ + W_max` (t in seconds since congestion avoidance resumed): concave up
 * to the window where loss last struck, a plateau there, then convex probing beyond it, so growth
 * depends on time rather than on the RTT. Where Reno would be faster (short RTTs, small windows)
 * it follows Reno's estimate `W_est` instead. Slow start and the recovery period are NewReno's
 * (RFC 9002 §7); HyStart++ and undoing spurious congestion events (RFC 9438 §4.9) are left out.
 *
 * Windows are bytes; the curve is scaled by the datagram size, so RFC 9438's per-segment
 * constants hold whatever the path MTU. While the sender is application-limited the epoch start
 * moves forward with the clock (RFC 9438 §5.8), so that idle time does not count as time spent
 * probing: the curve resumes where it paused instead of jumping ahead.
 */
export class Cubic extends WindowController {
  // W_max: the window just before the last reduction, lowered by fast convergence.
  #wMax = 0;
  // Where the current epoch's curve plateaus: W_max, or the window if that is already above.
  #origin = 0;
  // Start of the current congestion-avoidance epoch, ms; NaN while none runs.
  #epochStart = Number.NaN;
  // K, seconds: when the curve reaches the plateau.
  #k = 0;
  // W_est, bytes: what Reno would have reached in this epoch.
  #wEst = 0;
  #lastAck = Number.NEGATIVE_INFINITY;

  constructor(options: ControllerOptions = {}) {
    super(options);
  }

  /** W_max, bytes: the window when loss last struck (after fast convergence); 0 before. */
  get maxWindow(): number {
    return this.#wMax;
  }

  /** When the current congestion-avoidance epoch began, ms, or undefined outside one. */
  get epochStart(): number | undefined {
    return Number.isNaN(this.#epochStart) ? undefined : this.#epochStart;
  }

  /** K, ms: how long after the epoch start the curve reaches its plateau. */
  get k(): number {
    return this.#k * 1000;
  }

  /** The window the cubic function gives `elapsed` ms into the current epoch, bytes. */
  cubicWindow(elapsed: number): number {
    const t = elapsed / 1000 - this.#k;
    return CUBIC_C * this.maxDatagramSize * t * t * t + this.#origin;
  }

  protected override growAvoidance(bytes: number, now: number, rtt: RttView): void {
    if (Number.isNaN(this.#epochStart)) this.#startEpoch(now);
    this.#lastAck = now;
    const mds = this.maxDatagramSize;
    // W_est grows like Reno with CUBIC's smaller decrease compensated by α (RFC 9438 §4.3); once
    // past the old W_max it grows like plain Reno.
    const alpha = this.#wEst >= this.#wMax ? 1 : CUBIC_ALPHA;
    this.#wEst += (alpha * mds * bytes) / this.cwnd;
    const elapsed = now - this.#epochStart;
    if (this.cubicWindow(elapsed) < this.#wEst) {
      this.cwnd = Math.max(this.cwnd, this.#wEst); // Reno-friendly region (RFC 9438 §4.3)
      return;
    }
    // Aim for where the curve will be one RTT from now, growing at most by half per RTT
    // (RFC 9438 §4.2), and close the gap a fraction per acknowledged datagram.
    const target = Math.min(
      Math.max(this.cubicWindow(elapsed + rtt.smoothed), this.cwnd),
      1.5 * this.cwnd,
    );
    this.cwnd += ((target - this.cwnd) * bytes) / this.cwnd;
  }

  protected override reduce(): void {
    // Fast convergence (RFC 9438 §4.7): losing below the previous W_max means a new flow took
    // bandwidth; plateau lower to release some of it.
    this.#wMax = this.cwnd < this.#wMax ? (this.cwnd * (1 + CUBIC_BETA)) / 2 : this.cwnd;
    this.ssthresh = Math.max(this.cwnd * CUBIC_BETA, this.minimumWindow);
    this.cwnd = this.ssthresh;
    this.#epochStart = Number.NaN;
  }

  protected override restart(): void {
    this.#epochStart = Number.NaN;
  }

  protected override saveState(): CubicState {
    return {
      wMax: this.#wMax,
      origin: this.#origin,
      epochStart: this.#epochStart,
      k: this.#k,
      wEst: this.#wEst,
      lastAck: this.#lastAck,
    };
  }

  protected override restoreState(state: unknown): void {
    const saved = state as CubicState;
    this.#wMax = saved.wMax;
    this.#origin = saved.origin;
    this.#epochStart = saved.epochStart;
    this.#k = saved.k;
    this.#wEst = saved.wEst;
    this.#lastAck = saved.lastAck;
  }

  protected override forget(): void {
    this.#wMax = 0;
    this.#origin = 0;
    this.#epochStart = Number.NaN;
    this.#k = 0;
    this.#wEst = 0;
    this.#lastAck = Number.NEGATIVE_INFINITY;
  }

  protected override onAppLimitedAck(now: number): void {
    if (Number.isNaN(this.#epochStart)) return;
    this.#epochStart += now - this.#lastAck;
    this.#lastAck = now;
  }

  // A new epoch starts with the first acknowledgement in congestion avoidance (RFC 9438 §4.2).
  #startEpoch(now: number): void {
    this.#epochStart = now;
    this.#lastAck = now;
    this.#wEst = this.cwnd;
    if (this.cwnd < this.#wMax) {
      this.#origin = this.#wMax;
      this.#k = Math.cbrt((this.#wMax - this.cwnd) / (CUBIC_C * this.maxDatagramSize));
    } else {
      this.#origin = this.cwnd;
      this.#k = 0;
    }
  }
}
