import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../../net/fixtures.js';
import {
  type CongestionController,
  type ControllerOptions,
  initialWindow,
  minimumWindow,
} from '../../../src/channel/congestion/controller.js';
import { CUBIC_ALPHA, CUBIC_BETA, Cubic } from '../../../src/channel/congestion/cubic.js';
import { NewReno } from '../../../src/channel/congestion/new-reno.js';
import { MDS, ackClockedFlow, fullRound, steadyRtt } from './fixtures.js';

const controllers: [string, (options?: ControllerOptions) => CongestionController][] = [
  ['NewReno', (options) => new NewReno(options)],
  ['Cubic', (options) => new Cubic(options)],
];

/** Fills the window at `now`, then loses one of those packets, detected at `detectedAt`. */
function loseOne(cc: CongestionController, now: number, detectedAt: number): void {
  while (cc.canSend(MDS)) cc.onPacketSent(MDS, now);
  cc.onLoss(now, MDS, detectedAt, false);
}

/** Acknowledges everything still in flight as sent at `timeSent`. */
function drain(cc: CongestionController, timeSent: number, now: number): void {
  while (cc.bytesInFlight >= MDS) cc.onAck(MDS, timeSent, now, steadyRtt(100));
}

describe('initial and minimum windows (RFC 9002 §7.2)', () => {
  it('start at min(10·mds, max(14720, 2·mds)) and floor at 2·mds', () => {
    expect(initialWindow(1200)).toBe(12_000);
    expect(initialWindow(1500)).toBe(14_720);
    expect(initialWindow(9000)).toBe(18_000);
    expect(minimumWindow(1200)).toBe(2400);
  });
});

describe.each(controllers)('%s', (_name, make) => {
  it('starts with the initial window and lets exactly that much out', () => {
    const cc = make();
    expect(cc.window).toBe(12_000);
    expect(cc.slowStartThreshold).toBe(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 10; i++) {
      expect(cc.canSend(MDS)).toBe(true);
      cc.onPacketSent(MDS, 0);
    }
    expect(cc.canSend(1)).toBe(false);
    expect(cc.bytesInFlight).toBe(12_000);
  });

  it('doubles the window every RTT in slow start', () => {
    const cc = make();
    let now = 0;
    for (let round = 1; round <= 6; round++) {
      now = fullRound(cc, now, 50);
      expect(cc.window).toBe(12_000 * 2 ** round);
      expect(cc.bytesInFlight).toBe(0);
    }
  });

  it('cuts once per recovery period', () => {
    const cc = make({ initialWindow: 100 * MDS });
    const factor = cc instanceof Cubic ? CUBIC_BETA : 0.5;
    loseOne(cc, 0, 100);
    expect(cc.window).toBeCloseTo(100 * MDS * factor, 6);
    expect(cc.slowStartThreshold).toBeCloseTo(100 * MDS * factor, 6);
    expect(cc.inRecovery).toBe(true);
    // More losses from the same window, detected later: no further cut.
    cc.onLoss(0, MDS, 120, false);
    cc.onLoss(100, MDS, 130, false); // sent exactly at the start of recovery: still before it
    expect(cc.window).toBeCloseTo(100 * MDS * factor, 6);
    // Acknowledgements of packets sent before recovery grow nothing and do not end it.
    cc.onAck(MDS, 50, 150, steadyRtt(100));
    expect(cc.window).toBeCloseTo(100 * MDS * factor, 6);
    expect(cc.inRecovery).toBe(true);
    // A loss of a packet sent after recovery began is a new congestion event.
    cc.onPacketSent(MDS, 101);
    cc.onLoss(101, MDS, 250, false);
    expect(cc.window).toBeCloseTo(100 * MDS * factor * factor, 6);
  });

  it('undoes a cut once every loss that drew it is disproved, and only then (RFC 4015 §3.2)', () => {
    const cc = make({ initialWindow: 100 * MDS });
    const before = { window: cc.window, threshold: cc.slowStartThreshold };
    while (cc.canSend(MDS)) cc.onPacketSent(MDS, 0);
    cc.onLoss(0, 2 * MDS, 100, false); // two packets of the window declared lost
    cc.onLoss(0, MDS, 120, false); // and a third, later, in the same recovery
    const cut = cc.window;
    expect(cut).toBeLessThan(before.window);
    // Two of the three turn up: the cut stands.
    expect(cc.onSpuriousLoss(100, MDS)).toBe(false);
    expect(cc.onSpuriousLoss(120, MDS)).toBe(false);
    expect(cc.window).toBe(cut);
    expect(cc.inRecovery).toBe(true);
    // The last one too: nothing was lost, and the window is back.
    expect(cc.onSpuriousLoss(100, MDS)).toBe(true);
    expect(cc.window).toBe(before.window);
    expect(cc.slowStartThreshold).toBe(before.threshold);
    expect(cc.inRecovery).toBe(false);
    // Nothing left to undo.
    expect(cc.onSpuriousLoss(100, MDS)).toBe(false);
  });

  it('undoes a run of cuts as one, back to the state before the first', () => {
    const cc = make({ initialWindow: 100 * MDS });
    const before = { window: cc.window, threshold: cc.slowStartThreshold };
    loseOne(cc, 0, 100);
    const first = cc.window;
    cc.onPacketSent(MDS, 150);
    cc.onLoss(150, MDS, 200, false); // a second cut before the first loss turned up
    expect(cc.window).toBeLessThan(first);
    expect(cc.onSpuriousLoss(100, MDS)).toBe(false);
    expect(cc.onSpuriousLoss(200, MDS)).toBe(true);
    expect(cc.window).toBe(before.window);
    expect(cc.slowStartThreshold).toBe(before.threshold);
  });

  it('a settled loss ends its run: the cuts stand, and only losses of a later run undo a later cut', () => {
    const cc = make({ initialWindow: 100 * MDS });
    loseOne(cc, 0, 100);
    const cut = cc.window;
    cc.onLossSettled(100);
    expect(cc.onSpuriousLoss(100, MDS)).toBe(false);
    expect(cc.window).toBe(cut);
    cc.onPacketSent(MDS, 150);
    cc.onLoss(150, MDS, 200, false);
    expect(cc.window).toBeLessThan(cut);
    expect(cc.onSpuriousLoss(100, MDS)).toBe(false); // declared before this run began
    expect(cc.onSpuriousLoss(200, MDS)).toBe(true);
    expect(cc.window).toBe(cut);
  });

  it('does not undo persistent congestion or what came before a path change', () => {
    const collapsed = make({ initialWindow: 100 * MDS });
    while (collapsed.canSend(MDS)) collapsed.onPacketSent(MDS, 0);
    collapsed.onLoss(0, collapsed.bytesInFlight, 100, true);
    expect(collapsed.onSpuriousLoss(100, 100 * MDS)).toBe(false);
    expect(collapsed.window).toBe(2 * MDS);

    const moved = make({ initialWindow: 100 * MDS });
    loseOne(moved, 0, 100);
    moved.onPathChange(110);
    const fresh = moved.window;
    expect(moved.onSpuriousLoss(100, MDS)).toBe(false);
    expect(moved.window).toBe(fresh);
  });

  it('leaves recovery when a packet sent after its start is acknowledged', () => {
    const cc = make({ initialWindow: 20 * MDS });
    loseOne(cc, 0, 100);
    drain(cc, 0, 150);
    cc.onPacketSent(MDS, 150);
    cc.onAck(MDS, 150, 250, steadyRtt(100));
    expect(cc.inRecovery).toBe(false);
  });

  it('never lets the window below 2 datagrams', () => {
    const cc = make();
    for (let i = 0; i < 20; i++) {
      cc.onPacketSent(MDS, i * 100);
      cc.onLoss(i * 100, MDS, i * 100 + 50, false);
      expect(cc.window).toBeGreaterThanOrEqual(2 * MDS);
    }
    expect(cc.window).toBe(2 * MDS);
  });

  it('collapses to the minimum window on persistent congestion and slow-starts again', () => {
    const cc = make({ initialWindow: 100 * MDS });
    // The whole window is lost, spanning persistent congestion.
    while (cc.canSend(MDS)) cc.onPacketSent(MDS, 0);
    cc.onLoss(0, cc.bytesInFlight, 100, true);
    expect(cc.window).toBe(2 * MDS);
    expect(cc.inRecovery).toBe(false);
    expect(cc.bytesInFlight).toBe(0);
    // The threshold survives, so the window doubles from the minimum up to it.
    const now = fullRound(cc, 200, 100);
    expect(cc.window).toBe(4 * MDS);
    fullRound(cc, now, 100);
    expect(cc.window).toBe(8 * MDS);
  });

  it('starts over on a path change as a new controller would, untouched by what the old path had in flight (RFC 9000 §9.4)', () => {
    const cc = make({ maxDatagramSize: MDS });
    loseOne(cc, 0, 50);
    drain(cc, 0, 100);
    let now = fullRound(cc, 100, 100);
    expect(cc.slowStartThreshold).toBeLessThan(Number.POSITIVE_INFINITY);
    while (cc.canSend(MDS)) cc.onPacketSent(MDS, now);
    const oldFlight = cc.bytesInFlight;
    cc.onPathChange(now + 10);
    const fresh = make({ maxDatagramSize: MDS });
    expect(cc.window).toBe(fresh.window);
    expect(cc.slowStartThreshold).toBe(Number.POSITIVE_INFINITY);
    expect(cc.bytesInFlight).toBe(oldFlight);
    // What was in flight on the old path neither cuts nor grows the new window.
    cc.onLoss(now, MDS, now + 20, false);
    expect(cc.window).toBe(fresh.window);
    expect(cc.inRecovery).toBe(false);
    drain(cc, now, now + 30);
    expect(cc.window).toBe(fresh.window);
    expect(cc.bytesInFlight).toBe(0);
    // Then it slow-starts from the initial window with no threshold, as a new controller does.
    now = fullRound(cc, now + 30, 100);
    expect(cc.window).toBe(2 * fresh.window);
    fullRound(cc, now, 100);
    expect(cc.window).toBe(4 * fresh.window);
  });

  it('does not grow while the application leaves most of the window unused (RFC 9002 §7.8)', () => {
    const cc = make();
    for (let round = 0; round < 20; round++) {
      cc.onPacketSent(MDS, round * 100);
      cc.onPacketSent(MDS, round * 100);
      cc.onAck(MDS, round * 100, round * 100 + 50, steadyRtt(50));
      cc.onAck(MDS, round * 100, round * 100 + 50, steadyRtt(50));
    }
    expect(cc.window).toBe(12_000);
  });

  it('keeps bytes in flight: sends in, acknowledgements, losses and discards out', () => {
    const cc = make();
    for (let i = 0; i < 5; i++) cc.onPacketSent(MDS, 0);
    cc.onAck(MDS, 0, 10, steadyRtt(10));
    cc.onLoss(0, 2 * MDS, 10, false);
    cc.onDiscard(MDS);
    expect(cc.bytesInFlight).toBe(MDS);
    cc.onDiscard(10 * MDS); // more than there is: clamped, not negative
    expect(cc.bytesInFlight).toBe(0);
  });

  it('paces at 1.25 · window / smoothed RTT (RFC 9002 §7.7)', () => {
    const cc = make();
    expect(cc.pacingRate(steadyRtt(100))).toBe((1.25 * 12_000) / 100);
    expect(cc.pacingRate(steadyRtt(0))).toBe(Number.POSITIVE_INFINITY);
  });

  it('follows the datagram size: initial window recomputed, minimum raised', () => {
    const cc = make();
    cc.setMaxDatagramSize(1500);
    expect([cc.maxDatagramSize, cc.window, cc.minimumWindow]).toEqual([1500, 14_720, 3000]);
    fullRound(cc, 0, 50);
    const before = cc.window;
    cc.setMaxDatagramSize(1400);
    expect(cc.window).toBe(before); // no longer the initial window: kept
    cc.onPacketSent(1400, 100);
    cc.onLoss(100, 1400, 100, true);
    cc.setMaxDatagramSize(2000);
    expect(cc.window).toBe(4000);
    expect(parameterOf(() => cc.setMaxDatagramSize(0))).toBe('maxDatagramSize');
  });

  it('rejects bad options', () => {
    expect(parameterOf(() => make({ maxDatagramSize: 1.5 }))).toBe('maxDatagramSize');
    expect(parameterOf(() => make({ initialWindow: MDS }))).toBe('initialWindow');
  });

  it('property: the window stays at or above the minimum whatever happens', () => {
    const event = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), count: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ kind: fc.constant('ack' as const), count: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ kind: fc.constant('loss' as const), persistent: fc.boolean() }),
      fc.record({ kind: fc.constant('idle' as const) }),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 80 }), (events) => {
        const cc = make();
        const sent: number[] = [];
        let now = 0;
        for (const e of events) {
          now += 7;
          if (e.kind === 'send') {
            for (let i = 0; i < e.count && cc.canSend(MDS); i++) {
              cc.onPacketSent(MDS, now);
              sent.push(now);
            }
          } else if (e.kind === 'ack') {
            for (const timeSent of sent.splice(0, e.count)) {
              cc.onAck(MDS, timeSent, now, steadyRtt(40));
            }
          } else if (e.kind === 'loss') {
            const timeSent = sent.shift();
            if (timeSent !== undefined) cc.onLoss(timeSent, MDS, now, e.persistent);
          } else {
            now += 500;
          }
          expect(cc.window).toBeGreaterThanOrEqual(cc.minimumWindow);
          expect(cc.bytesInFlight).toBe(sent.length * MDS);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('NewReno', () => {
  it('halves the window and grows it by one datagram per RTT in congestion avoidance', () => {
    const cc = new NewReno({ initialWindow: 40 * MDS });
    loseOne(cc, 0, 100);
    expect(cc.window).toBe(20 * MDS);
    drain(cc, 0, 100);
    let now = 101; // sent after recovery began at 100
    for (let round = 1; round <= 10; round++) {
      now = fullRound(cc, now, 100);
      expect(cc.window).toBe((20 + round) * MDS);
    }
  });
});

describe('Cubic (RFC 9438)', () => {
  const C = 0.4;

  /**
   * A flow that filled its window at 0 and lost a packet of it, detected one RTT later, with
   * the rest acknowledged then. Returns the first time after the recovery period began.
   */
  function afterLoss(cc: Cubic, rtt: number): number {
    loseOne(cc, 0, rtt);
    drain(cc, 0, rtt);
    return rtt + 1;
  }

  it('multiplies the window by 0.7 and plateaus at the old window', () => {
    const cc = new Cubic({ initialWindow: 100 * MDS });
    afterLoss(cc, 100);
    expect(cc.window).toBeCloseTo(70 * MDS, 6);
    expect(cc.maxWindow).toBe(100 * MDS);
  });

  it('plateaus lower after a loss below the last plateau (fast convergence, §4.7)', () => {
    const cc = new Cubic({ initialWindow: 100 * MDS });
    afterLoss(cc, 100);
    cc.onPacketSent(MDS, 200);
    cc.onLoss(200, MDS, 300, false); // at 70 datagrams, below W_max = 100
    expect(cc.maxWindow).toBeCloseTo((70 * MDS * (1 + CUBIC_BETA)) / 2, 6);
    expect(cc.window).toBeCloseTo(49 * MDS, 6);
  });

  it('follows W_cubic(t) = C·(t − K)³ + W_max through the concave and convex regions', () => {
    // W_max = 1000 datagrams on a 100 ms path: K = ∛(300 / 0.4) ≈ 9.09 s, and the cubic
    // function outruns Reno's estimate throughout.
    const cc = new Cubic({ initialWindow: 1000 * MDS });
    const start = afterLoss(cc, 100);
    const k = Math.cbrt((1000 - 700) / C) * 1000;
    let checked = 0;
    let worst = 0;
    ackClockedFlow(cc, start, 100, start + 1.4 * k, (now) => {
      const t = (now - (cc.epochStart as number)) / 1000;
      const expected = (C * (t - k / 1000) ** 3 + 1000) * MDS;
      worst = Math.max(worst, Math.abs(cc.window - expected));
      checked++;
    });
    expect(cc.k).toBeCloseTo(k, 6);
    expect(checked).toBeGreaterThan(50_000);
    // Within one datagram at every acknowledgement: the window closes on the curve each RTT.
    expect(worst).toBeLessThan(MDS);
    expect(cc.window).toBeGreaterThan(1000 * MDS); // convex probing past the old plateau
  });

  it('is at least Reno-friendly where Reno would grow faster (short RTT, small window)', () => {
    // W_max = 20 datagrams on a 10 ms path: K ≈ 2.5 s, so the cubic curve is nearly flat for
    // hundreds of RTTs while W_est adds α = 0.53 datagrams per RTT (1 past W_max).
    const cc = new Cubic({ initialWindow: 20 * MDS });
    const start = afterLoss(cc, 10);
    let renoFloor = 14;
    let now = start;
    for (let round = 1; round <= 100; round++) {
      now = fullRound(cc, now, 10);
      renoFloor += renoFloor >= 20 ? 1 : CUBIC_ALPHA;
      // Two datagrams of slack: a round sends whole datagrams only, so a little less than the
      // window is acknowledged each RTT, and the α → 1 switch falls inside a round.
      expect(cc.window).toBeGreaterThanOrEqual((renoFloor - 2) * MDS);
      expect(cc.window).toBeGreaterThanOrEqual(cc.cubicWindow(now - (cc.epochStart as number)));
    }
    expect(cc.window / MDS).toBeGreaterThan(90);
  });

  it('holds the curve still while the application is idle (§5.8)', () => {
    const cc = new Cubic({ initialWindow: 100 * MDS });
    let now = afterLoss(cc, 100);
    now = fullRound(cc, now, 100); // epoch starts
    const epoch = cc.epochStart as number;
    const window = cc.window;
    // Ten seconds of a trickle: one datagram per RTT.
    for (let i = 0; i < 100; i++) {
      cc.onPacketSent(MDS, now);
      now += 100;
      cc.onAck(MDS, now - 100, now, steadyRtt(100));
    }
    expect(cc.window).toBe(window);
    expect(cc.epochStart).toBeCloseTo(epoch + 10_000, 6);
  });
});
