import type { ControllerOptions } from './controller.js';
import { WindowController } from './window-controller.js';

/** Window kept after a congestion event (RFC 9002 §7.3.2, `kLossReductionFactor`). */
export const NEW_RENO_LOSS_REDUCTION = 0.5;

/**
 * NewReno as RFC 9002 §7 and Appendix B give it: slow start to the threshold, then one datagram
 * per window acknowledged; a congestion event halves the window once per recovery period.
 */
export class NewReno extends WindowController {
  // Bytes acknowledged in congestion avoidance not yet turned into a whole datagram of window.
  #pending = 0;

  constructor(options: ControllerOptions = {}) {
    super(options);
  }

  protected override growAvoidance(bytes: number): void {
    // Adding mds only once a window's worth is acknowledged is the RFC's mds·bytes/cwnd summed
    // without rounding drift, and keeps the window a multiple of whole increments.
    this.#pending += bytes;
    if (this.#pending >= this.cwnd) {
      this.#pending -= this.cwnd;
      this.cwnd += this.maxDatagramSize;
    }
  }

  protected override reduce(): void {
    this.ssthresh = this.cwnd * NEW_RENO_LOSS_REDUCTION;
    this.cwnd = Math.max(this.ssthresh, this.minimumWindow);
    this.#pending = 0;
  }

  protected override restart(): void {
    this.#pending = 0;
  }
}
