import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../../net/fixtures.js';
import {
  type AckOutcome,
  type AckReport,
  type AckedRange,
  LossDetector,
  type LossDetectorOptions,
  MAX_TIME_THRESHOLD,
} from '../../../src/channel/recovery/loss-detection.js';
import type { SentPacket } from '../../../src/channel/recovery/sent-packets.js';

const SIZE = 1200;

/** A detector with packets `pns` sent at `time` (ack-eliciting, in flight, frames = pn). */
function sending(
  pns: readonly number[],
  time = 0,
  options?: LossDetectorOptions,
): LossDetector<number> {
  const detector = new LossDetector<number>(options);
  for (const pn of pns) detector.onPacketSent(pn, time, SIZE, true, true, pn);
  return detector;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function acked(outcome: AckOutcome<number>): AckReport<number> {
  if (outcome.kind !== 'acked') throw new Error(`unexpected violation: ${outcome.reason}`);
  return outcome;
}

const pnsOf = (packets: readonly SentPacket<number>[]): number[] => packets.map((p) => p.pn);

/** Descending maximal runs of a set of packet numbers: the ranges of an ACK frame. */
function rangesOf(pns: Iterable<number>): AckedRange[] {
  const sorted = [...pns].sort((a, b) => b - a);
  const ranges: [number, number][] = [];
  for (const pn of sorted) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last[0] === pn + 1) last[0] = pn;
    else ranges.push([pn, pn]);
  }
  return ranges;
}

describe('LossDetector acknowledgements', () => {
  it('reports newly acknowledged packets oldest first, with their frames and bytes', () => {
    const detector = sending(range(0, 9));
    const report = acked(
      detector.onAck(
        [
          [5, 9],
          [0, 2],
        ],
        0,
        50,
      ),
    );
    expect(pnsOf(report.acked)).toEqual([0, 1, 2, 5, 6, 7, 8, 9]);
    expect(report.acked.map((p) => p.frames)).toEqual([0, 1, 2, 5, 6, 7, 8, 9]);
    expect(report.ackedBytes).toBe(8 * SIZE);
    expect(report.rttSampled).toBe(true);
    expect(detector.largestAcked).toBe(9);
    // 3 and 4 are 5 and 6 below the largest acknowledged: lost by the packet threshold.
    expect(pnsOf(report.lost)).toEqual([3, 4]);
    expect(detector.outstanding).toBe(0);
    expect(detector.bytesInFlight).toBe(0);
  });

  it('acknowledges each packet once, however often the ranges repeat', () => {
    const detector = sending(range(0, 3));
    expect(pnsOf(acked(detector.onAck([[0, 1]], 0, 10)).acked)).toEqual([0, 1]);
    const again = acked(detector.onAck([[0, 1]], 0, 20));
    expect(again.acked).toEqual([]);
    expect(again.rttSampled).toBe(false);
    expect(pnsOf(acked(detector.onAck([[0, 3]], 0, 30)).acked)).toEqual([2, 3]);
  });

  it('samples the RTT from the largest acknowledged only when it is newly acknowledged', () => {
    const detector = new LossDetector<number>();
    detector.onPacketSent(0, 0, SIZE, true, true, 0);
    detector.onPacketSent(1, 10, SIZE, true, true, 1);
    expect(acked(detector.onAck([[1, 1]], 0, 60)).rttSampled).toBe(true);
    expect(detector.rtt.latest).toBe(50);
    // 0 is newly acknowledged but the frame's largest, 1, is not: no sample.
    expect(acked(detector.onAck([[0, 1]], 0, 500)).rttSampled).toBe(false);
    expect(detector.rtt.latest).toBe(50);
  });

  it('takes no RTT sample when only packets that are not ack-eliciting are newly acknowledged', () => {
    const detector = new LossDetector<number>();
    detector.onPacketSent(0, 0, 40, false, false, 0);
    const report = acked(detector.onAck([[0, 0]], 0, 30));
    expect(pnsOf(report.acked)).toEqual([0]);
    expect(report.ackedBytes).toBe(0);
    expect(report.rttSampled).toBe(false);
    expect(detector.rtt.hasSample).toBe(false);
  });

  it('caps the reported ack delay at maxAckDelay, unless the handshake is unconfirmed', () => {
    const run = (options: LossDetectorOptions): number => {
      const detector = new LossDetector<number>(options);
      detector.onPacketSent(0, 0, SIZE, true, true, 0);
      detector.onPacketSent(1, 100, SIZE, true, true, 1);
      detector.onAck([[0, 0]], 0, 20); // first sample: 20 ms
      detector.onAck([[1, 1]], 60, 200); // 100 ms, claiming 60 ms of delay
      return detector.rtt.smoothed;
    };
    expect(run({ maxAckDelay: 25 })).toBe(0.875 * 20 + 0.125 * 75);
    expect(run({ maxAckDelay: 25, handshakeConfirmed: false })).toBe(0.875 * 20 + 0.125 * 40);
    const detector = new LossDetector<number>({ handshakeConfirmed: false });
    detector.confirmHandshake();
    detector.onPacketSent(0, 0, SIZE, true, true, 0);
    detector.onPacketSent(1, 100, SIZE, true, true, 1);
    detector.onAck([[0, 0]], 0, 20);
    detector.onAck([[1, 1]], 60, 200);
    expect(detector.rtt.smoothed).toBe(0.875 * 20 + 0.125 * 75);
  });
});

describe('LossDetector packet and time thresholds (RFC 9002 §6.1)', () => {
  it('declares lost the packets 3 or more below the largest acknowledged, once', () => {
    const detector = sending(range(0, 5));
    const report = acked(detector.onAck([[4, 4]], 0, 0.5));
    expect(pnsOf(report.lost)).toEqual([0, 1]);
    expect(report.lostBytes).toBe(2 * SIZE);
    expect(report.largestLostTimeSent).toBe(0);
    // 2 and 3 wait for the time threshold; 5 is above the largest acknowledged.
    expect(detector.lossTime).toBeDefined();
    const next = acked(detector.onAck([[4, 5]], 0, 0.6));
    expect(pnsOf(next.lost)).toEqual([2]);
    expect(detector.outstanding).toBe(1);
  });

  it('declares a packet lost once 9/8 of the RTT has passed since it was sent', () => {
    const detector = new LossDetector<number>();
    detector.onPacketSent(0, 0, SIZE, true, true, 0);
    detector.onPacketSent(1, 0, SIZE, true, true, 1);
    expect(acked(detector.onAck([[1, 1]], 0, 100)).lost).toEqual([]);
    // latest = smoothed = 100 ms, so the loss delay is 112.5 ms from the send.
    expect(detector.lossTime).toBe(112.5);
    expect(detector.deadline).toBe(112.5);
    expect(detector.onTimeout(112.4)).toEqual({ kind: 'none' });
    const outcome = detector.onTimeout(112.5);
    expect(outcome.kind).toBe('loss');
    if (outcome.kind === 'loss') expect(pnsOf(outcome.lost)).toEqual([0]);
    expect(detector.lossTime).toBeUndefined();
    expect(detector.deadline).toBeUndefined();
    expect(detector.onLossTimeout(1000).lost).toEqual([]);
  });

  it('property: a timer armed at the loss time always finds the packet due', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e7, noNaN: true }),
        fc.double({ min: 0.01, max: 5000, noNaN: true }),
        (sentAt, rttMs) => {
          const detector = new LossDetector<number>();
          detector.onPacketSent(0, sentAt, SIZE, true, true, 0);
          detector.onPacketSent(1, sentAt, SIZE, true, true, 1);
          detector.onAck([[1, 1]], 0, sentAt + rttMs);
          const deadline = detector.deadline as number;
          expect(deadline).toBe(detector.lossTime);
          const outcome = detector.onTimeout(deadline);
          expect(outcome.kind).toBe('loss');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('uses max(latest, smoothed) RTT for the time threshold', () => {
    const detector = new LossDetector<number>();
    detector.onPacketSent(0, 0, SIZE, true, true, 0);
    detector.onAck([[0, 0]], 0, 200); // smoothed 200
    detector.onPacketSent(1, 300, SIZE, true, true, 1);
    detector.onPacketSent(2, 300, SIZE, true, true, 2);
    detector.onAck([[2, 2]], 0, 310); // latest 10, smoothed 176.25
    expect(detector.lossTime).toBeCloseTo(300 + (9 / 8) * detector.rtt.smoothed, 9);
  });

  it('never waits less than the 1 ms timer granularity', () => {
    const detector = new LossDetector<number>();
    detector.onPacketSent(0, 0, SIZE, true, true, 0);
    detector.onPacketSent(1, 0, SIZE, true, true, 1);
    detector.onAck([[1, 1]], 0, 0.1);
    expect(detector.lossTime).toBe(1);
  });

  it('honours configured thresholds', () => {
    const detector = sending(range(0, 5), 0, { packetThreshold: 5 });
    expect(acked(detector.onAck([[4, 4]], 0, 0.5)).lost).toEqual([]);
    expect(pnsOf(acked(detector.onAck([[5, 5]], 0, 0.5)).lost)).toEqual([0]);
  });
});

describe('LossDetector probe timeout (RFC 9002 §6.2)', () => {
  it('runs only while an ack-eliciting packet is outstanding', () => {
    const detector = new LossDetector<number>();
    detector.onPacketSent(0, 0, 40, false, false, 0);
    expect(detector.ptoDeadline).toBeUndefined();
    expect(detector.deadline).toBeUndefined();
    expect(detector.onPtoFired(1e9)).toBe(0);
    detector.onPacketSent(1, 5, SIZE, true, true, 1);
    expect(detector.ptoDeadline).toBe(5 + 333 + 4 * 166.5 + 25);
  });

  it('doubles with each timeout, asks for 1 then 2 probes, and resets on an acknowledgement', () => {
    const detector = sending([0]);
    const pto = 333 + 666 + 25;
    expect(detector.ptoDeadline).toBe(pto);
    expect(detector.onPtoFired(pto - 1)).toBe(0);
    expect(detector.onPtoFired(pto)).toBe(1);
    expect(detector.ptoCount).toBe(1);
    expect(detector.ptoDeadline).toBe(2 * pto);
    expect(detector.onTimeout(2 * pto)).toEqual({ kind: 'pto', probes: 2 });
    expect(detector.ptoDeadline).toBe(4 * pto);
    // A probe restarts the timer from its own send time, still backed off.
    detector.onPacketSent(1, 2 * pto, SIZE, true, true, 1);
    expect(detector.ptoDeadline).toBe(2 * pto + 4 * pto);
    expect(detector.onPtoFired(6 * pto)).toBe(2);
    expect(detector.ptoCount).toBe(3);
    // An ACK that acknowledges something new resets the backoff.
    detector.onAck([[0, 0]], 0, 6 * pto + 1);
    expect(detector.ptoCount).toBe(0);
  });

  it('keeps the backoff on an ACK that acknowledges nothing new', () => {
    const detector = sending([0, 1]);
    detector.onAck([[0, 0]], 0, 10);
    expect(detector.onPtoFired(1e6)).toBe(1);
    detector.onAck([[0, 0]], 0, 1e6 + 1);
    expect(detector.ptoCount).toBe(1);
  });

  it('gives the loss time precedence over the probe timeout', () => {
    const detector = sending([0, 1, 2]);
    detector.onAck([[1, 1]], 0, 100);
    expect(detector.deadline).toBe(detector.lossTime);
    expect(detector.deadline).toBeLessThan(detector.ptoDeadline as number);
  });
});

describe('LossDetector violations', () => {
  it('reports acknowledging a packet never sent, and applies nothing of the frame', () => {
    const detector = sending([0, 1, 2]);
    expect(detector.onAck([[3, 3]], 0, 10)).toEqual({
      kind: 'violation',
      reason: 'unsent-packet',
      pn: 3,
    });
    expect(detector.onAck([[0, 5]], 0, 10)).toMatchObject({ kind: 'violation', pn: 3 });
    expect(new LossDetector().onAck([[0, 0]], 0, 10)).toMatchObject({ pn: 0 });
    expect(detector.largestAcked).toBe(-1);
    expect(detector.outstanding).toBe(3);
    expect(pnsOf(acked(detector.onAck([[0, 2]], 0, 10)).acked)).toEqual([0, 1, 2]);
  });

  it('reports acknowledging a skipped packet number', () => {
    const detector = new LossDetector<number>();
    for (const pn of [1, 2, 4, 5]) detector.onPacketSent(pn, 0, SIZE, true, true, pn);
    expect(
      detector.onAck(
        [
          [4, 5],
          [0, 2],
        ],
        0,
        1,
      ),
    ).toMatchObject({ reason: 'unsent-packet', pn: 0 });
    expect(detector.onAck([[1, 5]], 0, 1)).toMatchObject({ reason: 'unsent-packet', pn: 3 });
    expect(
      pnsOf(
        acked(
          detector.onAck(
            [
              [4, 5],
              [1, 2],
            ],
            0,
            1,
          ),
        ).acked,
      ),
    ).toEqual([1, 2, 4, 5]);
  });

  it('reports malformed ranges instead of throwing', () => {
    const detector = sending(range(0, 9));
    const malformed: AckedRange[][] = [
      [],
      [[3, 2]],
      [
        [0, 1],
        [3, 4],
      ], // ascending
      [
        [3, 5],
        [1, 3],
      ], // overlapping
      [[-1, 2]],
      [[0.5, 2]],
      [[0, Number.NaN]],
      [[0, 2 ** 53]],
    ];
    for (const ranges of malformed) {
      expect(detector.onAck(ranges, 0, 1)).toEqual({
        kind: 'violation',
        reason: 'malformed-ranges',
        pn: -1,
      });
    }
    expect(detector.outstanding).toBe(10);
  });

  it('rejects a caller that sends numbers out of order or goes back in time', () => {
    const detector = sending([5], 10);
    expect(parameterOf(() => detector.onPacketSent(5, 10, SIZE, true, true, 0))).toBe('pn');
    expect(parameterOf(() => detector.onPacketSent(4.5, 10, SIZE, true, true, 0))).toBe('pn');
    expect(parameterOf(() => detector.onPacketSent(6, 9, SIZE, true, true, 0))).toBe('timeSent');
    expect(parameterOf(() => detector.onPacketSent(6, 10, -1, true, true, 0))).toBe('size');
    expect(parameterOf(() => detector.onPacketSent(6, 10, SIZE, true, false, 0))).toBe('inFlight');
  });

  it('rejects bad options', () => {
    expect(parameterOf(() => new LossDetector({ packetThreshold: 0 }))).toBe('packetThreshold');
    expect(parameterOf(() => new LossDetector({ timeThreshold: 0.5 }))).toBe('timeThreshold');
    expect(parameterOf(() => new LossDetector({ maxAckDelay: -1 }))).toBe('maxAckDelay');
    expect(parameterOf(() => new LossDetector({ initialRtt: 0 }))).toBe('initialRtt');
    expect(parameterOf(() => new LossDetector({ persistentCongestionThreshold: 0 }))).toBe(
      'persistentCongestionThreshold',
    );
  });
});

describe('LossDetector persistent congestion (RFC 9002 §7.6)', () => {
  // A first RTT sample of 10 ms, then the 10 ms sample of the ACK that reveals the losses:
  // smoothed 10, rttvar 3.75, PTO = 10 + 15 + 25 = 50, so the period is 3·50 = 150 ms.
  function afterSample(): LossDetector<number> {
    const detector = sending([0]);
    detector.onAck([[0, 0]], 0, 10);
    return detector;
  }

  function loseSpan(detector: LossDetector<number>, times: number[], ackAt: number) {
    let pn = detector.largestSent;
    for (const time of times) detector.onPacketSent(++pn, time, SIZE, true, true, pn);
    detector.onPacketSent(++pn, ackAt - 10, SIZE, true, true, pn);
    return acked(detector.onAck([[pn, pn]], 0, ackAt));
  }

  it('is declared when lost ack-eliciting packets span more than the period', () => {
    const detector = afterSample();
    const report = loseSpan(detector, [20, 60, 120, 171], 400);
    expect(3 * detector.rtt.pto(25)).toBe(150);
    expect(report.lost).toHaveLength(4);
    expect(report.persistentCongestion).toBe(true);
  });

  it('is not declared for a span of exactly the period or less', () => {
    expect(loseSpan(afterSample(), [20, 100, 170], 400).persistentCongestion).toBe(false);
  });

  it('needs both ends of the span to be ack-eliciting', () => {
    const detector = afterSample();
    detector.onPacketSent(1, 20, SIZE, true, true, 1);
    detector.onPacketSent(2, 100, SIZE, true, true, 2);
    detector.onPacketSent(3, 190, 60, false, true, 3); // padding only: in flight, not eliciting
    detector.onPacketSent(4, 390, SIZE, true, true, 4);
    const report = acked(detector.onAck([[4, 4]], 0, 400));
    expect(pnsOf(report.lost)).toEqual([1, 2, 3]);
    expect(report.lostBytes).toBe(2 * SIZE + 60);
    expect(report.largestLostTimeSent).toBe(190);
    expect(report.persistentCongestion).toBe(false);
  });

  it('is not declared when a packet sent inside the span was acknowledged', () => {
    const detector = afterSample();
    for (const [pn, time] of [
      [1, 20],
      [2, 100],
      [3, 200],
      [4, 390],
    ] as const) {
      detector.onPacketSent(pn, time, SIZE, true, true, pn);
    }
    const report = acked(
      detector.onAck(
        [
          [4, 4],
          [2, 2],
        ],
        0,
        400,
      ),
    );
    expect(pnsOf(report.lost)).toEqual([1, 3]);
    expect(report.persistentCongestion).toBe(false);
  });

  it('counts only packets sent after the first RTT sample', () => {
    const detector = new LossDetector<number>();
    for (const [pn, time] of [
      [0, 0],
      [1, 300],
      [2, 600],
      [3, 900],
    ] as const) {
      detector.onPacketSent(pn, time, SIZE, true, true, pn);
    }
    const report = acked(detector.onAck([[3, 3]], 0, 910));
    expect(pnsOf(report.lost)).toEqual([0, 1, 2]); // a 600 ms span, but all before the sample
    expect(report.persistentCongestion).toBe(false);
  });
});

describe('LossDetector memory and reset', () => {
  it('holds only unresolved packets over a long transfer with losses', () => {
    const detector = new LossDetector<number>();
    let now = 0;
    let pn = 0;
    let maxOutstanding = 0;
    const received = new Set<number>();
    for (let round = 0; round < 1000; round++) {
      for (let i = 0; i < 10; i++) {
        detector.onPacketSent(pn, now, SIZE, true, true, pn);
        if (pn % 17 !== 3) received.add(pn); // one packet in 17 is dropped
        pn++;
      }
      now += 10;
      const ranges = rangesOf([...received].filter((p) => p > pn - 60)).slice(0, 8);
      acked(detector.onAck(ranges, 0, now));
      for (const p of received) if (p < pn - 60) received.delete(p);
      maxOutstanding = Math.max(maxOutstanding, detector.outstanding);
    }
    expect(maxOutstanding).toBeLessThanOrEqual(12);
  });

  it('discardAll hands back the outstanding packets and stops the timers', () => {
    const detector = sending(range(0, 4));
    detector.onAck([[4, 4]], 0, 10);
    detector.onPtoFired(1e6);
    expect(pnsOf(detector.discardAll())).toEqual([2, 3]);
    expect([detector.outstanding, detector.bytesInFlight, detector.ptoCount]).toEqual([0, 0, 0]);
    expect(detector.deadline).toBeUndefined();
  });
});

/** A receiver that sees a random subset of what was sent and reports it over several ACKs. */
const scenario = fc
  .uniqueArray(fc.integer({ min: 0, max: 80 }), { minLength: 1, maxLength: 50 })
  .chain((raw) => {
    const sent = [...raw].sort((a, b) => a - b);
    return fc.record({
      sent: fc.constant(sent),
      acks: fc.array(
        fc.record({
          newly: fc.subarray(sent),
          // Receivers bound the ranges they repeat (RFC 9000 §13.2.4): keep the top few.
          keepRanges: fc.integer({ min: 1, max: 6 }),
          ackDelay: fc.double({ min: 0, max: 30, noNaN: true }),
        }),
        { minLength: 1, maxLength: 8 },
      ),
    });
  });

describe('LossDetector on a path change (RFC 9000 §9.4)', () => {
  it('starts the RTT over, sampling only packets sent since, and returns to the configured thresholds', () => {
    const detector = new LossDetector<number>();
    for (let pn = 0; pn < 20; pn++) detector.onPacketSent(pn, 0, SIZE, true, true, pn);
    detector.onAck([[1, 10]], 0, 10);
    detector.onAck([[0, 10]], 0, 10); // packet 0 was declared lost and was not: threshold grows
    expect(detector.packetThreshold).toBeGreaterThan(3);
    expect(detector.rtt.min).toBe(10);

    detector.onPathChange(100);
    expect(detector.rtt.hasSample).toBe(false);
    expect(detector.packetThreshold).toBe(3);
    expect(detector.timeThreshold).toBe(9 / 8);
    // A late acknowledgement of an old-path packet is applied but is no sample of the new path.
    expect(acked(detector.onAck([[0, 11]], 0, 150)).rttSampled).toBe(false);
    expect(detector.rtt.hasSample).toBe(false);
    detector.onPacketSent(20, 110, SIZE, true, true, 20);
    expect(acked(detector.onAck([[20, 20]], 0, 310)).rttSampled).toBe(true);
    expect(detector.rtt.min).toBe(200);
    expect(detector.rtt.smoothed).toBe(200);
  });
});

describe('LossDetector against a model (properties)', () => {
  it('property: losses by packet threshold exactly, each packet resolved at most once', () => {
    fc.assert(
      fc.property(scenario, ({ sent, acks }) => {
        // Sends at time 0 and ACKs within 0.5 ms: under the 1 ms granularity, so only the
        // packet threshold can declare a loss.
        const detector = sending(sent);
        const received = new Set<number>();
        const namedEver = new Set<number>();
        const ackedOnce = new Set<number>();
        const lostOnce = new Set<number>();
        let largest = -1;
        acks.forEach(({ newly, keepRanges, ackDelay }, k) => {
          for (const pn of newly) received.add(pn);
          if (received.size === 0) return;
          const ranges = rangesOf(received).slice(0, keepRanges);
          const named = new Set(ranges.flatMap(([low, high]) => range(low, high)));
          for (const pn of named) namedEver.add(pn);
          const report = acked(detector.onAck(ranges, ackDelay, (k + 1) / 20));
          largest = Math.max(largest, (ranges[0] as AckedRange)[1]);
          for (const pn of pnsOf(report.acked)) {
            expect(named.has(pn)).toBe(true);
            expect(ackedOnce.has(pn) || lostOnce.has(pn)).toBe(false);
            ackedOnce.add(pn);
          }
          for (const pn of pnsOf(report.lost)) {
            expect(namedEver.has(pn)).toBe(false); // never lose a packet that was acknowledged
            expect(lostOnce.has(pn)).toBe(false);
            expect(largest - pn).toBeGreaterThanOrEqual(detector.packetThreshold);
            lostOnce.add(pn);
          }
          // Everything named is now resolved, and nothing a threshold below the largest is left.
          for (const pn of named) expect(ackedOnce.has(pn) || lostOnce.has(pn)).toBe(true);
          for (const pn of sent) {
            if (largest - pn >= detector.packetThreshold) {
              expect(ackedOnce.has(pn) || lostOnce.has(pn)).toBe(true);
            }
          }
        });
        // The brief's form: an unacknowledged packet with a threshold of later acknowledged
        // ones is lost (3 unless reordering raised it).
        for (const pn of sent) {
          const later = [...ackedOnce].filter((p) => p > pn).length;
          if (!namedEver.has(pn) && later >= detector.packetThreshold) {
            expect(lostOnce.has(pn)).toBe(true);
          }
        }
        expect(detector.outstanding).toBe(sent.length - ackedOnce.size - lostOnce.size);
      }),
      { numRuns: 150 },
    );
  });

  it('property: with send times, a packet is lost exactly when a threshold says so', () => {
    const timed = fc.record({
      gaps: fc.array(fc.double({ min: 0, max: 40, noNaN: true }), { minLength: 4, maxLength: 40 }),
      acks: fc.array(
        fc.record({
          pn: fc.nat(),
          wait: fc.double({ min: 0, max: 60, noNaN: true }),
        }),
        { minLength: 1, maxLength: 12 },
      ),
    });
    fc.assert(
      fc.property(timed, ({ gaps, acks }) => {
        const detector = new LossDetector<number>();
        const times: number[] = [];
        let now = 0;
        gaps.forEach((gap, pn) => {
          now += gap;
          times.push(now);
          detector.onPacketSent(pn, now, SIZE, true, true, pn);
        });
        const resolved = new Set<number>();
        const received = new Set<number>();
        for (const { pn: raw, wait } of acks) {
          now += wait;
          received.add(raw % gaps.length);
          const report = acked(detector.onAck(rangesOf(received), 0, now));
          for (const p of pnsOf(report.acked)) resolved.add(p);
          const lost = new Set(pnsOf(report.lost));
          const rtt = detector.rtt;
          // The thresholds as this ACK left them: a late ACK for a lost packet raises them.
          const lossDelay = Math.max(
            detector.timeThreshold * Math.max(rtt.latest, rtt.smoothed),
            1,
          );
          let lossTime = Number.POSITIVE_INFINITY;
          times.forEach((timeSent, p) => {
            if (resolved.has(p) || p >= detector.largestAcked) return;
            const due =
              detector.largestAcked - p >= detector.packetThreshold || timeSent + lossDelay <= now;
            // Only an ACK with something new runs loss detection.
            if (report.acked.length > 0) expect(lost.has(p)).toBe(due);
            if (lost.has(p)) resolved.add(p);
            else lossTime = Math.min(lossTime, timeSent + lossDelay);
          });
          if (report.acked.length > 0) expect(detector.lossTime ?? Infinity).toBe(lossTime);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a loss an ACK later disproves raises the packet threshold past it, and that reordering is not lost again', () => {
    const detector = new LossDetector<number>();
    for (let pn = 0; pn < 40; pn++) detector.onPacketSent(pn, 0, SIZE, true, true, pn);
    // Packet 0 arrives five places late: declared lost at first...
    expect(pnsOf(acked(detector.onAck([[1, 5]], 0, 0.5)).lost)).toEqual([0]);
    // ...then acknowledged: the path reorders by 5, so the threshold becomes 6, and the ACK
    // reports the loss disproved, with when it was declared, for the congestion response.
    const disproving = acked(detector.onAck([[0, 5]], 0, 0.7));
    expect(disproving.disproved.map(({ packet, lostAt }) => [packet.pn, lostAt])).toEqual([
      [0, 0.5],
    ]);
    expect(disproving.acked).toEqual([]);
    expect(detector.spuriousLosses).toBe(1);
    expect(detector.packetThreshold).toBe(6);
    // The same reordering again: packet 10 five places late is not declared lost.
    expect(
      pnsOf(
        acked(
          detector.onAck(
            [
              [11, 15],
              [0, 9],
            ],
            0,
            0.5,
          ),
        ).lost,
      ),
    ).toEqual([]);
    expect(
      pnsOf(
        acked(
          detector.onAck(
            [
              [11, 16],
              [0, 9],
            ],
            0,
            0.5,
          ),
        ).lost,
      ),
    ).toEqual([10]);
  });

  it('a loss too far below the largest acknowledged to be disproved now is reported settled, once', () => {
    const detector = new LossDetector<number>();
    for (let pn = 0; pn < 300; pn++) detector.onPacketSent(pn, 0, SIZE, true, true, pn);
    expect(pnsOf(acked(detector.onAck([[1, 5]], 0, 0.5)).lost)).toEqual([0]);
    expect(detector.takeSettledLosses()).toEqual([]);
    detector.onAck([[1, 299]], 0, 0.6);
    const settled = detector.takeSettledLosses();
    expect(settled.map(({ packet, lostAt }) => [packet.pn, lostAt])).toEqual([[0, 0.5]]);
    expect(detector.takeSettledLosses()).toEqual([]);
    // Too late: an ACK naming it now disproves nothing.
    expect(acked(detector.onAck([[0, 299]], 0, 0.7)).disproved).toEqual([]);
  });

  it('a loss by time an ACK later disproves lengthens the time threshold, up to two round trips', () => {
    const detector = new LossDetector<number>();
    let now = 0;
    for (let round = 0; round < 20; round++) {
      const first = round * 2;
      detector.onPacketSent(first, now, SIZE, true, true, first);
      detector.onPacketSent(first + 1, now, SIZE, true, true, first + 1);
      now += 100;
      // The second packet overtakes the first by a whole round trip: lost by time, then acked.
      detector.onAck(
        [[first + 1, first + 1], ...(first > 0 ? [[0, first - 1] as AckedRange] : [])],
        0,
        now,
      );
      detector.onLossTimeout(now + 1000);
      detector.onAck([[0, first + 1]], 0, now + 1000);
      now += 1000;
    }
    expect(detector.spuriousLosses).toBeGreaterThan(0);
    expect(detector.timeThreshold).toBe(MAX_TIME_THRESHOLD);
  });
});
