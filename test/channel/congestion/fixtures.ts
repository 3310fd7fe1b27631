import type { CongestionController } from '../../../src/channel/congestion/controller.js';
import type { RttView } from '../../../src/channel/recovery/rtt-estimator.js';

export const MDS = 1200;

/** A settled RTT estimate of `ms`. */
export function steadyRtt(ms: number): RttView {
  return { latest: ms, smoothed: ms, variance: 0, min: ms, hasSample: true };
}

/**
 * One round trip of a window-limited sender: a full window of datagrams leaves at `now` and is
 * acknowledged one `rtt` later. Returns the time of the acknowledgements.
 */
export function fullRound(cc: CongestionController, now: number, rtt: number): number {
  let sent = 0;
  while (cc.canSend(MDS)) {
    cc.onPacketSent(MDS, now);
    sent++;
  }
  const view = steadyRtt(rtt);
  for (let i = 0; i < sent; i++) cc.onAck(MDS, now, now + rtt, view);
  return now + rtt;
}

/**
 * An ack-clocked, window-limited flow on a path of fixed `rtt`: each datagram is acknowledged
 * `rtt` after it was sent and each acknowledgement releases what the window allows. The first
 * window is spread over one RTT, as a pacer would, so that acknowledgements arrive evenly.
 * `observe` runs after every acknowledgement; the flow stops at `until`.
 */
export function ackClockedFlow(
  cc: CongestionController,
  start: number,
  rtt: number,
  until: number,
  observe: (now: number) => void = () => {},
): void {
  const view = steadyRtt(rtt);
  const inFlight: number[] = []; // send times, oldest first (a queue by head index)
  let head = 0;
  const initial = Math.floor((cc.window - cc.bytesInFlight) / MDS);
  for (let i = 0; i < initial; i++) {
    const time = start + (i * rtt) / initial;
    cc.onPacketSent(MDS, time);
    inFlight.push(time);
  }
  while (head < inFlight.length) {
    const timeSent = inFlight[head++] as number;
    const now = timeSent + rtt;
    if (now > until) return;
    cc.onAck(MDS, timeSent, now, view);
    observe(now);
    while (cc.canSend(MDS)) {
      cc.onPacketSent(MDS, now);
      inFlight.push(now);
    }
  }
}
