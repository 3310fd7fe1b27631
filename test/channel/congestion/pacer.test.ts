import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../../net/fixtures.js';
import { DEFAULT_PACING_BURST, Pacer } from '../../../src/channel/congestion/pacer.js';
import { MDS } from './fixtures.js';

/** Sends `count` datagrams as soon as the pacer allows from `start`; returns the send times. */
function sendPaced(pacer: Pacer, start: number, count: number, size = MDS): number[] {
  const times: number[] = [];
  let now = start;
  for (let i = 0; i < count; i++) {
    now += pacer.delayUntilSend(size, now);
    pacer.onSent(size, now);
    times.push(now);
  }
  return times;
}

describe('Pacer', () => {
  it('does not pace until given a rate', () => {
    const pacer = new Pacer();
    expect(pacer.rate).toBe(Number.POSITIVE_INFINITY);
    expect(new Set(sendPaced(pacer, 0, 1000))).toEqual(new Set([0]));
  });

  it('holds the long-run rate to the configured one within 2 %', () => {
    for (const rate of [0.5, 12.5, 150, 4000]) {
      const pacer = new Pacer();
      pacer.setRate(rate, 0);
      const count = 5000;
      const times = sendPaced(pacer, 0, count);
      const elapsed = times[count - 1] as number;
      // The first burst leaves at once; after it, one datagram per MDS/rate.
      const measured = ((count - DEFAULT_PACING_BURST) * MDS) / elapsed;
      expect(Math.abs(measured - rate) / rate).toBeLessThan(0.02);
    }
  });

  it('lets at most a burst of 10 datagrams out back to back, even after a long idle', () => {
    const pacer = new Pacer();
    pacer.setRate(10, 0);
    sendPaced(pacer, 0, 50);
    const times = sendPaced(pacer, 1e6, 30);
    expect(times.filter((t) => t === 1e6)).toHaveLength(DEFAULT_PACING_BURST);
    expect(pacer.capacity).toBe(DEFAULT_PACING_BURST * MDS);
  });

  it('says exactly how long to wait for the missing tokens', () => {
    const pacer = new Pacer({ burstDatagrams: 2 });
    pacer.setRate(100, 0); // 12 ms per datagram
    pacer.onSent(MDS, 0);
    pacer.onSent(MDS, 0);
    expect(pacer.delayUntilSend(MDS, 0)).toBe(12);
    expect(pacer.delayUntilSend(MDS, 5)).toBe(7);
    expect(pacer.delayUntilSend(MDS, 12)).toBe(0);
    expect(pacer.delayUntilSend(600, 6)).toBe(0);
  });

  it('charges packets sent without asking (probes), and makes later sends wait for them', () => {
    const pacer = new Pacer({ burstDatagrams: 1 });
    pacer.setRate(100, 0);
    pacer.onSent(MDS, 0);
    pacer.onSent(MDS, 0); // a probe, over the budget
    expect(pacer.delayUntilSend(MDS, 0)).toBe(24);
  });

  it('accrues tokens at the old rate up to a rate change', () => {
    const pacer = new Pacer({ burstDatagrams: 1 });
    pacer.setRate(100, 0);
    pacer.onSent(MDS, 0);
    pacer.setRate(10, 6); // 600 bytes earned at the old rate
    expect(pacer.delayUntilSend(MDS, 6)).toBe(60);
  });

  it('follows the datagram size, and never waits for more than a full bucket', () => {
    const pacer = new Pacer({ burstDatagrams: 2 });
    pacer.setMaxDatagramSize(1500);
    expect(pacer.capacity).toBe(3000);
    pacer.setRate(1, 0);
    // The bucket grew, its tokens did not: 2400 held, 3000 (a full bucket) needed.
    expect(pacer.delayUntilSend(5000, 0)).toBe(600);
    expect(pacer.delayUntilSend(5000, 600)).toBe(0);
    pacer.onSent(3000, 600);
    expect(pacer.delayUntilSend(5000, 600)).toBe(3000);
  });

  it('rejects bad rates and options', () => {
    const pacer = new Pacer();
    for (const rate of [0, -1, Number.NaN]) {
      expect(parameterOf(() => pacer.setRate(rate, 0))).toBe('rate');
    }
    expect(parameterOf(() => new Pacer({ burstDatagrams: 0 }))).toBe('burstDatagrams');
    expect(parameterOf(() => new Pacer({ maxDatagramSize: 0 }))).toBe('maxDatagramSize');
  });

  it('property: no interval carries more than a burst plus rate × its length', () => {
    const schedule = fc.record({
      rate: fc.double({ min: 1, max: 1000, noNaN: true }),
      burst: fc.integer({ min: 1, max: 10 }),
      // Each send: how long the application waited beyond what the pacer asked, and its size.
      sends: fc.array(
        fc.record({
          extra: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 50, noNaN: true })),
          size: fc.integer({ min: 50, max: MDS }),
        }),
        { minLength: 1, maxLength: 60 },
      ),
    });
    fc.assert(
      fc.property(schedule, ({ rate, burst, sends }) => {
        const pacer = new Pacer({ burstDatagrams: burst });
        pacer.setRate(rate, 0);
        const log: { time: number; size: number }[] = [];
        let now = 0;
        for (const { extra, size } of sends) {
          now += extra;
          now += pacer.delayUntilSend(size, now);
          pacer.onSent(size, now);
          log.push({ time: now, size });
        }
        for (let i = 0; i < log.length; i++) {
          let bytes = 0;
          for (let j = i; j < log.length; j++) {
            const last = log[j] as { time: number; size: number };
            bytes += last.size;
            const span = last.time - (log[i] as { time: number }).time;
            expect(bytes).toBeLessThanOrEqual(burst * MDS + rate * span + 1e-3);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
