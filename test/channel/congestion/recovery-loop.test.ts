import { describe, expect, it } from 'vitest';
import type { CongestionController } from '../../../src/channel/congestion/controller.js';
import { Cubic } from '../../../src/channel/congestion/cubic.js';
import { NewReno } from '../../../src/channel/congestion/new-reno.js';
import { Pacer } from '../../../src/channel/congestion/pacer.js';
import {
  type AckedRange,
  LossDetector,
  type LossReport,
} from '../../../src/channel/recovery/loss-detection.js';
import { Prng } from '../../../src/net/prng.js';
import { MDS } from './fixtures.js';

interface Arrival {
  readonly time: number;
  readonly pn: number; // a data packet reaching the receiver
}
interface AckArrival {
  readonly time: number;
  readonly ranges: AckedRange[];
}

const ONE_WAY = 25;
const CHUNKS = 400;
const PING = -1;

/**
 * A sender wired the way the channel will wire these parts, over a path that drops `loss` of
 * the data packets and a receiver that acknowledges every packet at once. Frames are chunk
 * numbers: a lost chunk goes back in the queue and leaves again under a new packet number.
 */
function transfer(cc: CongestionController, loss: number, seed: number) {
  const prng = new Prng(seed);
  const detector = new LossDetector<number>({ maxAckDelay: 0 });
  const pacer = new Pacer();
  const queue = Array.from({ length: CHUNKS }, (_, i) => i);
  const delivered = new Set<number>();
  const received: number[] = [];
  const arrivals: Arrival[] = [];
  const acks: AckArrival[] = [];
  let pn = 0;
  let now = 0;
  let acknowledgedChunks = 0;
  let persistent = 0;
  let minWindow = Number.POSITIVE_INFINITY;

  const send = (chunk: number): void => {
    detector.onPacketSent(pn, now, MDS, true, true, chunk);
    cc.onPacketSent(MDS, now);
    pacer.onSent(MDS, now);
    if (prng.nextFloat() >= loss) arrivals.push({ time: now + ONE_WAY, pn });
    pn++;
  };
  const onLoss = (report: LossReport<number>): void => {
    for (const packet of report.lost) if (packet.frames !== PING) queue.push(packet.frames);
    if (report.lostBytes > 0) {
      cc.onLoss(report.largestLostTimeSent, report.lostBytes, now, report.persistentCongestion);
    }
    if (report.persistentCongestion) persistent++;
  };

  for (let step = 0; step < 100_000 && acknowledgedChunks < CHUNKS; step++) {
    // Send what the window and the pacer allow.
    while (queue.length > 0 && cc.canSend(MDS) && pacer.delayUntilSend(MDS, now) === 0) {
      send(queue.shift() as number);
    }
    const pacerWake =
      queue.length > 0 && cc.canSend(MDS) ? now + pacer.delayUntilSend(MDS, now) : Infinity;
    const next = Math.min(
      arrivals[0]?.time ?? Infinity,
      acks[0]?.time ?? Infinity,
      detector.deadline ?? Infinity,
      pacerWake,
    );
    expect(next).toBeLessThan(Infinity);
    now = Math.max(now, next);
    if (arrivals[0] !== undefined && arrivals[0].time <= now) {
      const arrival = arrivals.shift() as Arrival;
      received.push(arrival.pn);
      const ranges = rangesOf(received).slice(0, 32);
      acks.push({ time: now + ONE_WAY, ranges });
    } else if (acks[0] !== undefined && acks[0].time <= now) {
      const outcome = detector.onAck((acks.shift() as AckArrival).ranges, 0, now);
      if (outcome.kind !== 'acked') throw new Error(outcome.reason);
      for (const packet of outcome.acked) {
        cc.onAck(packet.size, packet.timeSent, now, detector.rtt);
        if (packet.frames !== PING && !delivered.has(packet.frames)) {
          delivered.add(packet.frames);
          acknowledgedChunks++;
        }
      }
      onLoss(outcome);
      pacer.setRate(cc.pacingRate(detector.rtt), now);
    } else if (detector.deadline !== undefined && detector.deadline <= now) {
      const outcome = detector.onTimeout(now);
      if (outcome.kind === 'loss') onLoss(outcome);
      if (outcome.kind === 'pto') {
        for (let i = 0; i < outcome.probes; i++) send(queue.shift() ?? PING);
      }
    }
    // The one invariant the split ownership needs: both sides agree on bytes in flight.
    expect(cc.bytesInFlight).toBe(detector.bytesInFlight);
    minWindow = Math.min(minWindow, cc.window);
  }
  return { acknowledgedChunks, now, persistent, minWindow, rtt: detector.rtt.smoothed };
}

function rangesOf(pns: number[]): AckedRange[] {
  const sorted = [...new Set(pns)].sort((a, b) => b - a);
  const ranges: [number, number][] = [];
  for (const p of sorted) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last[0] === p + 1) last[0] = p;
    else ranges.push([p, p]);
  }
  return ranges;
}

describe.each([
  ['NewReno', () => new NewReno()],
  ['Cubic', () => new Cubic()],
])('%s with loss detection and pacing', (_name, make) => {
  it('delivers every chunk over a clean path with an RTT estimate of the path', () => {
    const result = transfer(make(), 0, 1);
    expect(result.acknowledgedChunks).toBe(CHUNKS);
    expect(result.rtt).toBeCloseTo(2 * ONE_WAY, 6);
    expect(result.persistent).toBe(0);
  });

  it('delivers every chunk over a path losing 10 % of packets, window never below 2 datagrams', () => {
    for (const seed of [1, 2, 3]) {
      const result = transfer(make(), 0.1, seed);
      expect(result.acknowledgedChunks).toBe(CHUNKS);
      expect(result.minWindow).toBeGreaterThanOrEqual(2 * MDS);
    }
  });
});
