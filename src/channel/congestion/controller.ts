import { InvalidParameterError } from '../../net/errors.js';
import type { RttView } from '../recovery/rtt-estimator.js';

/** Datagram size assumed until path MTU discovery says more, bytes (RFC 9000 §14). */
export const DEFAULT_MAX_DATAGRAM_SIZE = 1200;

/**
 * Pacing rate as a multiple of `window / smoothedRtt`: a little above one window per RTT, so
 * that pacing delays do not leave the window under-used (RFC 9002 §7.7).
 */
export const PACING_GAIN = 1.25;

/**
 * The congestion window a sender starts with: `min(10·mds, max(14720, 2·mds))` bytes
 * (RFC 9002 §7.2).
 */
export function initialWindow(maxDatagramSize: number): number {
  return Math.min(10 * maxDatagramSize, Math.max(14_720, 2 * maxDatagramSize));
}

/** The smallest congestion window, `2·mds` bytes (RFC 9002 §7.2). */
export function minimumWindow(maxDatagramSize: number): number {
  return 2 * maxDatagramSize;
}

/** Options common to the window-based controllers. */
export interface ControllerOptions {
  /** Largest datagram the path carries, bytes. Default {@link DEFAULT_MAX_DATAGRAM_SIZE}. */
  readonly maxDatagramSize?: number;
  /**
   * Window to start with, bytes, at least the minimum window. Default {@link initialWindow} of
   * the datagram size, recomputed if the datagram size changes before the first ACK or loss.
   */
  readonly initialWindow?: number;
}

/**
 * A sender's congestion controller (RFC 9002 §7), pluggable so that the channel can run NewReno,
 * CUBIC or a later algorithm behind one interface. Sans-IO: every event carries `now` (ms).
 *
 * The controller owns `bytesInFlight`: it sees every in-flight byte once through
 * {@link CongestionController.onPacketSent} and once more through exactly one of `onAck`,
 * `onLoss` or `onDiscard`, which the loss detector guarantees by reporting each packet once.
 * Only in-flight packets are reported (ack-eliciting or padded; not pure ACKs).
 */
export interface CongestionController {
  /** Congestion window, bytes. */
  readonly window: number;
  /** Bytes sent and neither acknowledged, lost nor discarded. */
  readonly bytesInFlight: number;
  /** Slow-start threshold, bytes; `Infinity` until the first congestion event. */
  readonly slowStartThreshold: number;
  /** True from a congestion event until a packet sent after it is acknowledged. */
  readonly inRecovery: boolean;
  /** Largest datagram the path carries, bytes. */
  readonly maxDatagramSize: number;
  /** The window never goes below this, bytes. */
  readonly minimumWindow: number;

  /**
   * Whether `bytes` more may be sent without exceeding the window (RFC 9002 §7). Probes sent on
   * a PTO bypass this check.
   */
  canSend(bytes: number): boolean;
  /** An in-flight packet of `bytes` was sent at `now`. */
  onPacketSent(bytes: number, now: number): void;
  /** An in-flight packet of `bytes`, sent at `timeSent`, was acknowledged at `now`. */
  onAck(bytes: number, timeSent: number, now: number, rtt: RttView): void;
  /**
   * In-flight packets totalling `bytesLost` were declared lost, the newest sent at
   * `largestLostTimeSent`. One congestion event per recovery period: losses of packets sent
   * before the current recovery began do not cut the window again (RFC 9002 §7.3.2).
   * `persistent` means the losses span persistent congestion (RFC 9002 §7.6).
   */
  onLoss(largestLostTimeSent: number, bytesLost: number, now: number, persistent: boolean): void;
  /** Collapses the window to the minimum (RFC 9002 §7.6.2); `onLoss` calls it when persistent. */
  onPersistentCongestion(now: number): void;
  /**
   * A packet of `bytes` declared lost at `lostAt` was acknowledged after all: the path
   * reordered it. Once every loss declared since a run of congestion events began is disproved,
   * the window and threshold return to what they were before it (the Eifel response of RFC 4015
   * §3.2, as Linux TCP undoes a reduction), and this returns true.
   */
  onSpuriousLoss(lostAt: number, bytes: number): boolean;
  /** A loss declared at `lostAt` can no longer be disproved: what it cut stays cut. */
  onLossSettled(lostAt: number): void;
  /**
   * The channel moved to a path to another host at `now` (RFC 9000 §9.4): start over as a new
   * controller would (initial window, slow start with no threshold), keeping the bytes in
   * flight, whose acknowledgements and losses then neither grow nor cut the new window.
   */
  onPathChange(now: number): void;
  /** In-flight bytes were dropped without an acknowledgement or a loss (RFC 9002 §6.4). */
  onDiscard(bytes: number): void;
  /**
   * The path's datagram size changed (path MTU discovery): the minimum window follows it and
   * the window is raised to the minimum if below (RFC 9002 §7.2).
   */
  setMaxDatagramSize(bytes: number): void;
  /** The rate to pace sends at, bytes per ms (RFC 9002 §7.7); `Infinity` for no pacing. */
  pacingRate(rtt: RttView): number;
}

/** Checks a datagram size from the application; throws {@link InvalidParameterError}. */
export function checkDatagramSize(bytes: number, parameter = 'maxDatagramSize'): number {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new InvalidParameterError(parameter, 'must be a positive integer number of bytes');
  }
  return bytes;
}
