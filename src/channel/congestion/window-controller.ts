import { InvalidParameterError } from '../../net/errors.js';
import type { RttView } from '../recovery/rtt-estimator.js';
import {
  type CongestionController,
  type ControllerOptions,
  DEFAULT_MAX_DATAGRAM_SIZE,
  PACING_GAIN,
  checkDatagramSize,
  initialWindow,
  minimumWindow,
} from './controller.js';

/**
 * The state before a run of congestion events, kept until every loss declared since is
 * disproved (then it is put back) or one of them settles (then the cuts stand).
 */
interface UndoPoint {
  readonly cwnd: number;
  readonly ssthresh: number;
  readonly recoveryStart: number;
  readonly algorithm: unknown;
  /** When the run's first cut was made, ms: losses declared before belong to no run. */
  readonly since: number;
}

/**
 * What NewReno and CUBIC share (RFC 9002 §7): bytes in flight, slow start, the recovery period,
 * the minimum window, the application-limited rule and pacing. Subclasses supply the
 * congestion-avoidance increase and the multiplicative decrease.
 *
 * Application-limited rule (RFC 9002 §7.8, after RFC 7661 §4.3): an acknowledgement grows the
 * window only if, at some send since the acknowledged packet was sent, at least half the window
 * was in flight. A sender that leaves most of its window unused has not tested it, so growing it
 * would be unearned. Checked in O(1) from the time of the last such send.
 */
export abstract class WindowController implements CongestionController {
  /** Congestion window, bytes; subclasses change it in their hooks. */
  protected cwnd: number;
  /** Slow-start threshold, bytes. */
  protected ssthresh = Number.POSITIVE_INFINITY;
  #mds: number;
  #bytesInFlight = 0;
  #recoveryStart = Number.NEGATIVE_INFINITY;
  #inRecovery = false;
  // Last send that left at least half the window in flight.
  #lastUtilized = Number.NEGATIVE_INFINITY;
  // Until the first ACK or loss the window is the initial one, to recompute if the size changes.
  #pristine: boolean;
  // The state before a run of congestion events, to put back should all its losses be disproved.
  #undo: UndoPoint | undefined;
  // Bytes declared lost since the run began, and how many of them were disproved since.
  #runLostBytes = 0;
  #runDisprovedBytes = 0;

  constructor(options: ControllerOptions = {}) {
    this.#mds = checkDatagramSize(options.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM_SIZE);
    const initial = options.initialWindow;
    if (initial === undefined) {
      this.cwnd = initialWindow(this.#mds);
      this.#pristine = true;
    } else {
      if (!Number.isFinite(initial) || initial < minimumWindow(this.#mds)) {
        throw new InvalidParameterError('initialWindow', 'must be at least 2 datagrams');
      }
      this.cwnd = initial;
      this.#pristine = false;
    }
  }

  get window(): number {
    return this.cwnd;
  }

  get bytesInFlight(): number {
    return this.#bytesInFlight;
  }

  get slowStartThreshold(): number {
    return this.ssthresh;
  }

  get inRecovery(): boolean {
    return this.#inRecovery;
  }

  get maxDatagramSize(): number {
    return this.#mds;
  }

  get minimumWindow(): number {
    return minimumWindow(this.#mds);
  }

  canSend(bytes: number): boolean {
    return this.#bytesInFlight + bytes <= this.cwnd;
  }

  onPacketSent(bytes: number, now: number): void {
    this.#bytesInFlight += bytes;
    if (2 * this.#bytesInFlight >= this.cwnd) this.#lastUtilized = now;
  }

  onAck(bytes: number, timeSent: number, now: number, rtt: RttView): void {
    this.#release(bytes);
    this.#pristine = false;
    // Packets sent before the congestion event belong to the window that was cut; only one
    // sent after it ends recovery (RFC 9002 §7.3.2).
    if (timeSent <= this.#recoveryStart) return;
    this.#inRecovery = false;
    if (this.#lastUtilized < timeSent) {
      this.onAppLimitedAck(now);
      return;
    }
    if (this.cwnd < this.ssthresh) {
      this.cwnd += bytes; // slow start: one byte per byte acknowledged doubles it each RTT
    } else {
      this.growAvoidance(bytes, now, rtt);
    }
  }

  onLoss(largestLostTimeSent: number, bytesLost: number, now: number, persistent: boolean): void {
    this.#release(bytesLost);
    this.#pristine = false;
    if (largestLostTimeSent > this.#recoveryStart) {
      // A cut while an earlier one may still be disproved joins its run: reordering that
      // outlasts a round trip makes a run of cuts, and only the state before all of them is
      // the one to put back.
      this.#undo ??= {
        cwnd: this.cwnd,
        ssthresh: this.ssthresh,
        recoveryStart: this.#recoveryStart,
        algorithm: this.saveState(),
        since: now,
      };
      // Recovery starts now, not at the loss: every packet already in flight was sent into the
      // window being cut, so its loss must not cut again (RFC 9002 §7.3.2).
      this.#recoveryStart = now;
      this.#inRecovery = true;
      this.reduce(now);
    }
    if (this.#undo !== undefined) this.#runLostBytes += bytesLost;
    if (persistent) this.onPersistentCongestion(now);
  }

  onSpuriousLoss(lostAt: number, bytes: number): boolean {
    const undo = this.#undo;
    // A loss declared before the run began was answered by an earlier, settled one.
    if (undo === undefined || lostAt < undo.since) return false;
    this.#runDisprovedBytes += bytes;
    if (this.#runDisprovedBytes < this.#runLostBytes) return false;
    // Nothing was lost: the window was never too large. Packets sent since the event may grow
    // it again, and only a new loss of one sent after the old recovery start cuts it.
    this.cwnd = Math.max(this.cwnd, undo.cwnd);
    this.ssthresh = Math.max(this.ssthresh, undo.ssthresh);
    this.#recoveryStart = undo.recoveryStart;
    this.#inRecovery = false;
    this.#dropUndo();
    this.restoreState(undo.algorithm);
    return true;
  }

  onLossSettled(lostAt: number): void {
    if (this.#undo !== undefined && lostAt >= this.#undo.since) this.#dropUndo();
  }

  #dropUndo(): void {
    this.#undo = undefined;
    this.#runLostBytes = 0;
    this.#runDisprovedBytes = 0;
  }

  onPersistentCongestion(now: number): void {
    // The path may have changed completely: restart from the minimum in slow start, out of
    // recovery so that the next acknowledgement already grows the window (RFC 9002 §7.6.2).
    // A collapse this deep is not undone.
    this.#dropUndo();
    this.cwnd = this.minimumWindow;
    this.#recoveryStart = Number.NEGATIVE_INFINITY;
    this.#inRecovery = false;
    this.#pristine = false;
    this.restart(now);
  }

  onPathChange(now: number): void {
    this.cwnd = initialWindow(this.#mds);
    this.ssthresh = Number.POSITIVE_INFINITY;
    // Everything in flight went out on the old path: as at a congestion event, its
    // acknowledgements must not grow this window nor its losses cut it (RFC 9002 §7.3.2).
    this.#recoveryStart = now;
    this.#inRecovery = false;
    this.#lastUtilized = Number.NEGATIVE_INFINITY;
    this.#pristine = true;
    this.#dropUndo();
    this.forget();
  }

  onDiscard(bytes: number): void {
    this.#release(bytes);
  }

  setMaxDatagramSize(bytes: number): void {
    this.#mds = checkDatagramSize(bytes);
    if (this.#pristine) this.cwnd = initialWindow(bytes);
    this.cwnd = Math.max(this.cwnd, this.minimumWindow);
  }

  pacingRate(rtt: RttView): number {
    return rtt.smoothed > 0 ? (PACING_GAIN * this.cwnd) / rtt.smoothed : Number.POSITIVE_INFINITY;
  }

  /** Congestion-avoidance increase for `bytes` acknowledged, outside slow start and recovery. */
  protected abstract growAvoidance(bytes: number, now: number, rtt: RttView): void;

  /** Multiplicative decrease on a congestion event: set `ssthresh` and `cwnd`. */
  protected abstract reduce(now: number): void;

  /** An acknowledgement arrived while the window was under-used; the window stays. */
  protected onAppLimitedAck(_now: number): void {}

  /** Persistent congestion has collapsed the window; forget algorithm state tied to it. */
  protected restart(_now: number): void {}

  /** A new path: forget all algorithm state, as a new controller would have none. */
  protected forget(): void {}

  /** The algorithm's own state before a congestion event, for {@link restoreState}. */
  protected saveState(): unknown {
    return undefined;
  }

  /** Puts back what {@link saveState} returned: the event it preceded was disproved. */
  protected restoreState(_state: unknown): void {}

  // A peer can never take out more than was put in; clamping keeps a caller's slip local.
  #release(bytes: number): void {
    this.#bytesInFlight = Math.max(0, this.#bytesInFlight - bytes);
  }
}
