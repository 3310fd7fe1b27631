import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../../net/fixtures.js';
import {
  INITIAL_RTT_MS,
  RttEstimator,
  TIMER_GRANULARITY_MS,
} from '../../../src/channel/recovery/rtt-estimator.js';

describe('RttEstimator before any sample', () => {
  it('assumes the initial RTT of 333 ms, with half of it as variance (RFC 9002 §6.2.2)', () => {
    const rtt = new RttEstimator();
    expect(rtt.smoothed).toBe(INITIAL_RTT_MS);
    expect(rtt.variance).toBe(INITIAL_RTT_MS / 2);
    expect(rtt.hasSample).toBe(false);
    expect(rtt.min).toBe(Number.POSITIVE_INFINITY);
    // PTO = 333 + 4·166.5 + 25
    expect(rtt.pto(25)).toBe(333 + 666 + 25);
  });

  it('takes a configured initial RTT and rejects one that is not positive', () => {
    expect(new RttEstimator(100).smoothed).toBe(100);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(parameterOf(() => new RttEstimator(bad))).toBe('initialRtt');
    }
  });
});

describe('RttEstimator sampling (RFC 9002 §5)', () => {
  it('takes the first sample as it is, ignoring its ack delay', () => {
    const rtt = new RttEstimator();
    rtt.update(80, 20, 25);
    expect(rtt.hasSample).toBe(true);
    expect(rtt.smoothed).toBe(80);
    expect(rtt.variance).toBe(40);
    expect(rtt.min).toBe(80);
    expect(rtt.latest).toBe(80);
  });

  it('converges to a constant path RTT within 1 % once (7/8)^N of the first error is below it', () => {
    // From a first sample of 500 ms on a 50 ms path the error is 450·(7/8)^N: N = 51 gets it
    // under 0.5 ms, N = 50 does not.
    const rtt = new RttEstimator();
    rtt.update(500, 0);
    for (let i = 0; i < 50; i++) rtt.update(50, 0);
    expect(Math.abs(rtt.smoothed - 50) / 50).toBeGreaterThan(0.01);
    rtt.update(50, 0);
    expect(Math.abs(rtt.smoothed - 50) / 50).toBeLessThan(0.01);
  });

  it('property: converges within 1 % of any constant path RTT after N samples', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 2000, noNaN: true }),
        fc.double({ min: 0.5, max: 2000, noNaN: true }),
        (first, path) => {
          const rtt = new RttEstimator();
          rtt.update(first, 0);
          const error = Math.abs(first - path) / path;
          const n = error <= 0.01 ? 0 : Math.ceil(Math.log(0.01 / error) / Math.log(7 / 8));
          for (let i = 0; i < n; i++) rtt.update(path, 0);
          expect(Math.abs(rtt.smoothed - path) / path).toBeLessThanOrEqual(0.01 + 1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('subtracts the ack delay when what remains is at least min RTT', () => {
    const rtt = new RttEstimator();
    rtt.update(50, 0);
    rtt.update(70, 15, 25); // 70 - 15 = 55 >= 50: adjusted sample 55
    expect(rtt.smoothed).toBe(0.875 * 50 + 0.125 * 55);
    expect(rtt.variance).toBe(0.75 * 25 + 0.25 * 5);
  });

  it('ignores the ack delay when subtracting it would go below min RTT', () => {
    const rtt = new RttEstimator();
    rtt.update(50, 0);
    rtt.update(60, 15, 25); // 60 - 15 = 45 < 50: the sample stays 60
    expect(rtt.smoothed).toBe(0.875 * 50 + 0.125 * 60);
  });

  it('caps the ack delay at maxAckDelay, and does not without one (before the handshake)', () => {
    const capped = new RttEstimator();
    capped.update(50, 0);
    capped.update(200, 120, 25); // only 25 of the claimed 120 is subtracted
    expect(capped.smoothed).toBe(0.875 * 50 + 0.125 * 175);

    const uncapped = new RttEstimator();
    uncapped.update(50, 0);
    uncapped.update(200, 120);
    expect(uncapped.smoothed).toBe(0.875 * 50 + 0.125 * 80);
  });

  it('keeps min RTT free of ack-delay adjustment', () => {
    const rtt = new RttEstimator();
    rtt.update(50, 0);
    rtt.update(54, 10, 25);
    expect(rtt.min).toBe(50);
    rtt.update(40, 30, 25);
    expect(rtt.min).toBe(40);
  });

  it('floors the variance term of the PTO at the timer granularity', () => {
    const rtt = new RttEstimator();
    for (let i = 0; i < 100; i++) rtt.update(10, 0);
    expect(4 * rtt.variance).toBeLessThan(TIMER_GRANULARITY_MS);
    expect(rtt.pto(0)).toBeCloseTo(10 + TIMER_GRANULARITY_MS, 9);
    expect(rtt.pto(25)).toBeCloseTo(10 + TIMER_GRANULARITY_MS + 25, 9);
  });

  it('reset forgets every sample', () => {
    const rtt = new RttEstimator(200);
    rtt.update(20, 0);
    rtt.reset();
    expect([rtt.hasSample, rtt.smoothed, rtt.variance, rtt.min]).toEqual([
      false,
      200,
      100,
      Number.POSITIVE_INFINITY,
    ]);
  });
});

const samples = fc.array(
  fc.record({
    latest: fc.double({ min: 0.1, max: 5000, noNaN: true }),
    ackDelay: fc.double({ min: 0, max: 100, noNaN: true }),
  }),
  { minLength: 1, maxLength: 60 },
);

describe('RttEstimator properties', () => {
  it('property: min RTT never exceeds any sample and equals the smallest', () => {
    fc.assert(
      fc.property(samples, (list) => {
        const rtt = new RttEstimator();
        for (const { latest, ackDelay } of list) {
          rtt.update(latest, ackDelay, 25);
          expect(rtt.min).toBeLessThanOrEqual(latest);
        }
        expect(rtt.min).toBe(Math.min(...list.map((s) => s.latest)));
      }),
      { numRuns: 200 },
    );
  });

  it('property: smoothed RTT stays within [min sample, max sample]', () => {
    fc.assert(
      fc.property(samples, (list) => {
        const rtt = new RttEstimator();
        let low = Number.POSITIVE_INFINITY;
        let high = 0;
        for (const { latest, ackDelay } of list) {
          rtt.update(latest, ackDelay, 25);
          low = Math.min(low, latest);
          high = Math.max(high, latest);
          // Adjusted samples lie in [min RTT, latest], so the mean cannot leave the range.
          expect(rtt.smoothed).toBeGreaterThanOrEqual(low * (1 - 1e-12));
          expect(rtt.smoothed).toBeLessThanOrEqual(high * (1 + 1e-12));
          expect(rtt.variance).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 200 },
    );
  });
});
