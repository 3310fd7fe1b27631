import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../fixtures.js';
import { MAX_UDP_PAYLOAD_IPV6 } from '../../../src/net/datagram-socket.js';
import { Prng } from '../../../src/net/prng.js';
import { linkParamsArb } from '../../../src/net/sim/arbitraries.js';
import {
  type GilbertElliott,
  IDEAL_LINK,
  Link,
  type LinkParams,
  linkParams,
} from '../../../src/net/sim/link.js';
import { SimNetwork } from '../../../src/net/sim/network.js';
import type { TraceRecord } from '../../../src/net/sim/trace.js';
import { collect, numbered, sequenceOf } from './fixtures.js';

/** Hosts a -> b over one configured direction; every trace record is kept. */
function line(params: Partial<LinkParams>, seed = 1) {
  const records: TraceRecord[] = [];
  const net = new SimNetwork({ seed, onTrace: (r) => records.push(r) });
  const a = net.addHost({ name: 'a', addresses: ['10.0.0.1'] });
  const b = net.addHost({ name: 'b', addresses: ['10.0.0.2'] });
  net.setLink(a, b, params);
  const sa = a.bind(1000);
  const sb = b.bind(2000);
  const received = collect(sb, () => net.now());
  const send = (data: Uint8Array) => sa.send(data, sb.localAddress);
  /** Sends `data` at virtual time `at` (absolute, ms). */
  const sendAt = (at: number, data: Uint8Array) =>
    net.clock.setTimer(at - net.now(), () => send(data));
  return { net, send, sendAt, received, records };
}

/** Admits `count` packets on a bare link and returns which were lost (by loss or burst loss). */
function losses(params: Partial<LinkParams>, count: number, seed: number): boolean[] {
  const link = new Link(linkParams(params), new Prng(seed));
  return Array.from({ length: count }, () => link.admit(100, 0) !== null);
}

/** Mean length of the runs of consecutive lost packets. */
function meanBurst(lost: readonly boolean[]): number {
  let runs = 0;
  let total = 0;
  let current = 0;
  for (const l of [...lost, false]) {
    if (l) current++;
    else if (current > 0) {
      runs++;
      total += current;
      current = 0;
    }
  }
  return runs === 0 ? 0 : total / runs;
}

function countTrue(values: readonly boolean[]): number {
  return values.filter(Boolean).length;
}

function popcount(byte: number): number {
  let n = 0;
  for (let b = byte; b !== 0; b >>= 1) n += b & 1;
  return n;
}

describe('linkParams validation', () => {
  it('rejects out-of-range values with an error naming the parameter', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ loss: -0.1 }, 'link.loss'],
      [{ loss: 1.5 }, 'link.loss'],
      [{ loss: Number.NaN }, 'link.loss'],
      [{ loss: '0.1' }, 'link.loss'],
      [{ duplicate: 2 }, 'link.duplicate'],
      [{ reorder: -1 }, 'link.reorder'],
      [{ corrupt: 1.01 }, 'link.corrupt'],
      [{ truncate: Number.NaN }, 'link.truncate'],
      [{ delayMs: -1 }, 'link.delayMs'],
      [{ delayMs: Number.POSITIVE_INFINITY }, 'link.delayMs'],
      [{ jitterMs: Number.NaN }, 'link.jitterMs'],
      [{ reorderDelayMs: -5 }, 'link.reorderDelayMs'],
      [{ burst: 'bursty' }, 'link.burst'],
      [{ burst: undefined }, 'link.burst'],
      [
        { burst: { pGoodToBad: 2, pBadToGood: 0.1, lossGood: 0, lossBad: 1 } },
        'link.burst.pGoodToBad',
      ],
      [{ burst: { pGoodToBad: 0.1, pBadToGood: 0.1, lossGood: 0 } }, 'link.burst.lossBad'],
      [
        { burst: { pGoodToBad: 0.1, pBadToGood: 0.1, lossGood: 0, lossBad: 1, extra: 0 } },
        'link.burst.extra',
      ],
      [{ queueBytes: -1 }, 'link.queueBytes'],
      [{ queueBytes: Number.NaN }, 'link.queueBytes'],
      [{ bandwidthBps: 0 }, 'link.bandwidthBps'],
      [{ bandwidthBps: -1000 }, 'link.bandwidthBps'],
      [{ bandwidthBps: Number.NaN }, 'link.bandwidthBps'],
      [{ mtu: 0 }, 'link.mtu'],
      [{ mtu: 1000.5 }, 'link.mtu'],
      [{ mtu: MAX_UDP_PAYLOAD_IPV6 + 1 }, 'link.mtu'],
      [{ blackhole: 'yes' }, 'link.blackhole'],
      [{ lossy: 0.1 }, 'link.lossy'],
    ];
    for (const [spec, parameter] of cases) {
      expect({ spec, parameter: parameterOf(() => linkParams(spec)) }).toEqual({ spec, parameter });
    }
  });

  it('names the parameter under the caller-given prefix, through the network too', () => {
    expect(parameterOf(() => linkParams({ loss: 2 }, IDEAL_LINK, 'defaultLink'))).toBe(
      'defaultLink.loss',
    );
    expect(
      parameterOf(
        () =>
          new SimNetwork({
            seed: 1,
            defaultLink: { burst: { pGoodToBad: 0, pBadToGood: 1, lossGood: 0, lossBad: 2 } },
          }),
      ),
    ).toBe('defaultLink.burst.lossBad');
    const net = new SimNetwork({ seed: 1 });
    expect(parameterOf(() => net.setLink('10.0.0.1', '10.0.0.2', { loss: -1 }))).toBe('link.loss');
  });

  it('accepts the boundary values and returns a frozen set merged over the base', () => {
    const params = linkParams({
      loss: 1,
      duplicate: 0,
      delayMs: 0,
      bandwidthBps: Number.POSITIVE_INFINITY,
      queueBytes: Number.POSITIVE_INFINITY,
      mtu: 1,
      burst: { pGoodToBad: 0, pBadToGood: 1, lossGood: 0, lossBad: 1 },
    });
    expect(params).toMatchObject({ loss: 1, mtu: 1, jitterMs: IDEAL_LINK.jitterMs });
    expect(Object.isFrozen(params)).toBe(true);
    expect(linkParams({ mtu: MAX_UDP_PAYLOAD_IPV6, queueBytes: 0 }).mtu).toBe(MAX_UDP_PAYLOAD_IPV6);
    expect(linkParams({}, linkParams({ delayMs: 7 })).delayMs).toBe(7);
  });
});

describe('Link randomness', () => {
  it('a link draws from its PRNG only for the impairments it has', () => {
    const run = (params: Partial<LinkParams>) => {
      const prng = new Prng(1);
      const before = prng.save().join();
      const link = new Link(linkParams(params), prng);
      for (let i = 0; i < 100; i++) {
        link.admit(100, i);
        link.arrivalTime();
        link.duplicates();
        link.damage();
      }
      return prng.save().join() !== before;
    };
    expect(run({})).toBe(false);
    expect(run({ bandwidthBps: 1_000_000, queueBytes: 1_000_000, delayMs: 30, mtu: 1472 })).toBe(
      false,
    );
    expect(run({ loss: 0.1 })).toBe(true);
    expect(run({ jitterMs: 1 })).toBe(true);
  });
});

describe('Link independent loss', () => {
  it('measured loss is within 5 standard deviations of the setting (20,000 packets)', () => {
    const n = 20_000;
    for (const [i, p] of [0.001, 0.01, 0.1, 0.3, 0.5, 0.9].entries()) {
      const lost = countTrue(losses({ loss: p }, n, 100 + i));
      const sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(lost - n * p), `loss ${p}: ${lost} of ${n}`).toBeLessThanOrEqual(5 * sd);
    }
  });

  it('loss 0 loses nothing and loss 1 loses everything, as reason `loss`', () => {
    expect(countTrue(losses({ loss: 0 }, 1000, 1))).toBe(0);
    const link = new Link(linkParams({ loss: 1 }), new Prng(1));
    for (let i = 0; i < 100; i++) expect(link.admit(10, 0)).toBe('loss');
  });

  it('property: for loss in [0, 0.5], measured loss is within 5 standard deviations', () => {
    const n = 2000;
    fc.assert(
      fc.property(fc.double({ min: 0, max: 0.5, noNaN: true }), fc.integer(), (p, seed) => {
        const lost = countTrue(losses({ loss: p }, n, seed));
        // +1 absorbs the discreteness of a count when n * p is far below 1.
        expect(Math.abs(lost - n * p)).toBeLessThanOrEqual(5 * Math.sqrt(n * p * (1 - p)) + 1);
      }),
      { numRuns: 30, seed: 20260601 },
    );
  });

  it('through the network, every lost packet is traced with reason `loss`', () => {
    const { net, send, received, records } = line({ loss: 0.2 }, 4);
    for (let i = 0; i < 500; i++) send(numbered(i));
    net.runUntilIdle();
    const dropped = records.filter((r) => r.ev === 'dropped');
    expect(dropped.length + received.length).toBe(500);
    expect(dropped.every((r) => r.ev === 'dropped' && r.reason === 'loss')).toBe(true);
    expect(net.stats.dropped.loss).toBe(dropped.length);
    expect(dropped.length).toBeGreaterThan(50);
    expect(dropped.length).toBeLessThan(150);
  });
});

describe('Link Gilbert-Elliott burst loss', () => {
  const ge: GilbertElliott = { pGoodToBad: 0.01, pBadToGood: 0.2, lossGood: 0, lossBad: 0.9 };
  const stationary = (g: GilbertElliott) =>
    (g.pBadToGood * g.lossGood + g.pGoodToBad * g.lossBad) / (g.pGoodToBad + g.pBadToGood);

  it('long-run loss is near the stationary rate (r * lossGood + p * lossBad) / (p + r)', () => {
    const n = 200_000;
    for (const [i, g] of [
      ge,
      { pGoodToBad: 0.005, pBadToGood: 0.25, lossGood: 0.005, lossBad: 0.5 },
      { pGoodToBad: 0.05, pBadToGood: 0.5, lossGood: 0.01, lossBad: 0.3 },
    ].entries()) {
      const rate = countTrue(losses({ burst: g }, n, 300 + i)) / n;
      // Bursts correlate the draws, so the tolerance is relative (10 %), not binomial.
      expect(Math.abs(rate - stationary(g)) / stationary(g), JSON.stringify(g)).toBeLessThan(0.1);
    }
  });

  it('losses are burstier than independent loss of the same rate', () => {
    const n = 200_000;
    const bursty = losses({ burst: ge }, n, 7);
    const independent = losses({ loss: stationary(ge) }, n, 8);
    // Same rate within 10 %, ...
    expect(countTrue(bursty) / countTrue(independent)).toBeGreaterThan(0.9);
    expect(countTrue(bursty) / countTrue(independent)).toBeLessThan(1.1);
    // ... but runs of consecutive losses much longer: about 1.05 packets for independent loss
    // at ~4 %, several packets inside a bad state that loses 90 % and lasts 5 on average.
    expect(meanBurst(independent)).toBeLessThan(1.1);
    expect(meanBurst(bursty)).toBeGreaterThan(2 * meanBurst(independent));
  });

  it('burst losses are reported as `burst-loss`, independent ones as `loss`', () => {
    const link = new Link(
      linkParams({ burst: { pGoodToBad: 1, pBadToGood: 0, lossGood: 0, lossBad: 1 } }),
      new Prng(1),
    );
    expect(link.admit(10, 0)).toBe('burst-loss');
    const both = new Link(
      linkParams({ loss: 1, burst: { pGoodToBad: 0, pBadToGood: 1, lossGood: 0, lossBad: 1 } }),
      new Prng(1),
    );
    expect(both.admit(10, 0)).toBe('loss');
  });
});

describe('Link ordering and delay', () => {
  it('property: without jitter, reordering, duplication or damage a link is FIFO', () => {
    const fifoLink = linkParamsArb({ maxDelayMs: 50 }).map((p) => ({
      ...p,
      jitterMs: 0,
      reorder: 0,
      duplicate: 0,
      corrupt: 0,
      truncate: 0,
    }));
    const sends = fc.array(
      fc.record({ gap: fc.integer({ min: 0, max: 20 }), size: fc.integer({ min: 4, max: 1472 }) }),
      { minLength: 1, maxLength: 60 },
    );
    fc.assert(
      fc.property(fifoLink, sends, fc.nat(1000), (params, list, seed) => {
        const { net, sendAt, received } = line(params, seed);
        let at = 0;
        list.forEach(({ gap, size }, i) => {
          at += gap;
          sendAt(at, numbered(i, size));
        });
        net.runUntilIdle();
        const order = received.map((r) => sequenceOf(r.data));
        for (let i = 1; i < order.length; i++) {
          expect(order[i]).toBeGreaterThan(order[i - 1] as number);
        }
        for (const r of received) expect(r.data.length).toBe(list[sequenceOf(r.data)]?.size);
        const ideal =
          params.loss === 0 && params.burst === null && params.bandwidthBps === Infinity;
        if (ideal && params.mtu === MAX_UDP_PAYLOAD_IPV6) expect(order).toHaveLength(list.length);
      }),
      { numRuns: 60 },
    );
  });

  it('jitter delays each packet by [delay, delay + jitter] and lets later packets overtake', () => {
    const { net, sendAt, received } = line({ delayMs: 10, jitterMs: 20 }, 2);
    for (let i = 0; i < 200; i++) sendAt(i, numbered(i));
    net.runUntilIdle();
    expect(received).toHaveLength(200);
    for (const r of received) {
      const delay = r.at - sequenceOf(r.data);
      expect(delay).toBeGreaterThanOrEqual(10);
      expect(delay).toBeLessThanOrEqual(30);
    }
    const order = received.map((r) => sequenceOf(r.data));
    const inversions = order.filter((s, i) => i > 0 && s < (order[i - 1] as number)).length;
    expect(inversions).toBeGreaterThan(10);
  });

  it('reordering holds a fraction of packets back by reorderDelayMs, and they are overtaken', () => {
    const { net, sendAt, received } = line({ delayMs: 10, reorder: 0.3, reorderDelayMs: 50 }, 3);
    for (let i = 0; i < 1000; i++) sendAt(i, numbered(i));
    net.runUntilIdle();
    const delays = received.map((r) => r.at - sequenceOf(r.data));
    expect(delays.every((d) => d === 10 || d === 60)).toBe(true);
    const held = delays.filter((d) => d === 60).length;
    expect(Math.abs(held - 300)).toBeLessThanOrEqual(5 * Math.sqrt(1000 * 0.3 * 0.7));
    const order = received.map((r) => sequenceOf(r.data));
    expect(order).not.toEqual([...order].sort((x, y) => x - y));
  });
});

describe('Link bandwidth and queue', () => {
  it('back-to-back packets leave size * 8 / bandwidth apart', () => {
    const { net, send, received } = line({ delayMs: 5, bandwidthBps: 1_000_000 });
    for (let i = 0; i < 10; i++) send(numbered(i, 1000));
    net.runUntilIdle();
    // 1000 bytes at 1 Mbit/s occupy the wire 8 ms; the first arrives after 8 + 5 ms.
    received.forEach((r, i) => expect(r.at).toBeCloseTo(5 + 8 * (i + 1), 9));
  });

  it('property: a burst of random sizes arrives at delay + cumulative size * 8 / bandwidth', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 4, max: 1472 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 50 }),
        (sizes, j, delayMs) => {
          // 8000 * 2^j bit/s is 2^j bytes per ms: transmission times are exact binary fractions.
          const bytesPerMs = 2 ** j;
          const { net, send, received } = line({ delayMs, bandwidthBps: 8000 * bytesPerMs });
          sizes.forEach((size, i) => send(numbered(i, size)));
          net.runUntilIdle();
          let wire = 0;
          const expected = sizes.map((size) => {
            wire += size / bytesPerMs;
            return wire + delayMs;
          });
          expect(received.map((r) => r.at)).toEqual(expected);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('an idle link adds only its own transmission time', () => {
    const { net, sendAt, received } = line({ delayMs: 5, bandwidthBps: 1_024_000 });
    sendAt(0, numbered(0, 1280));
    sendAt(100, numbered(1, 1280));
    net.runUntilIdle();
    expect(received.map((r) => r.at)).toEqual([15, 115]);
  });

  it('drop-tail: a burst beyond the queue loses exactly the packets that do not fit', () => {
    // 1,024,000 bit/s = 128 bytes/ms; a 10,000-byte queue holds floor(10000 / 1000) = 10 packets.
    const { net, send, received, records } = line({
      bandwidthBps: 1_024_000,
      queueBytes: 10_000,
    });
    for (let i = 0; i < 25; i++) send(numbered(i, 1000));
    net.runUntilIdle();
    expect(received.map((r) => sequenceOf(r.data))).toEqual([...Array(10).keys()]);
    expect(net.stats.dropped['queue-full']).toBe(15);
    const dropped = records.filter((r) => r.ev === 'dropped');
    expect(dropped.map((r) => r.ev === 'dropped' && r.reason)).toEqual(
      Array(15).fill('queue-full'),
    );
  });

  it('property: a burst of n packets of s bytes into a q-byte queue drops max(0, n - floor(q / s))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 1472 }),
        fc.integer({ min: 64_000, max: 1_000_000_000 }),
        fc.integer({ min: 1, max: 80 }),
        // Queues of exactly k packets are the edge case; arbitrary byte counts the general one.
        fc.oneof(
          fc.record({ packets: fc.integer({ min: 0, max: 60 }) }),
          fc.record({ bytes: fc.integer({ min: 0, max: 60_000 }) }),
        ),
        (size, bandwidthBps, n, queue) => {
          const queueBytes = 'packets' in queue ? queue.packets * size : queue.bytes;
          const { net, send, received } = line({ bandwidthBps, queueBytes });
          for (let i = 0; i < n; i++) send(numbered(i, size));
          net.runUntilIdle();
          const fits = Math.min(n, Math.floor(queueBytes / size));
          expect(received).toHaveLength(fits);
          expect(net.stats.dropped['queue-full']).toBe(n - fits);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a queue of exactly 100 full packets at 100 Mbit/s holds 100 packets', () => {
    // 1472 / 12,500 bytes per ms is not a binary fraction: the backlog must not round past it.
    const { net, send, received } = line({ bandwidthBps: 100_000_000, queueBytes: 147_200 });
    for (let i = 0; i < 101; i++) send(numbered(i, 1472));
    net.runUntilIdle();
    expect(received).toHaveLength(100);
    expect(net.stats.dropped['queue-full']).toBe(1);
  });

  it('the queue drains: once transmitted, the same burst fits again', () => {
    const { net, sendAt, received } = line({ bandwidthBps: 1_024_000, queueBytes: 5_000 });
    for (let i = 0; i < 8; i++) sendAt(0, numbered(i, 1000));
    // 5 packets of 1000 bytes at 128 bytes/ms leave by 39.0625 ms.
    for (let i = 8; i < 16; i++) sendAt(40, numbered(i, 1000));
    net.runUntilIdle();
    expect(received.map((r) => sequenceOf(r.data))).toEqual([0, 1, 2, 3, 4, 8, 9, 10, 11, 12]);
    expect(net.stats.dropped['queue-full']).toBe(6);
  });

  it('a lost packet still occupies the wire and the queue: loss comes after the queue', () => {
    const { net, send } = line({ bandwidthBps: 1_024_000, queueBytes: 1_000, loss: 1 });
    for (let i = 0; i < 20; i++) send(numbered(i, 100));
    net.runUntilIdle();
    expect(net.stats.dropped.loss).toBe(10);
    expect(net.stats.dropped['queue-full']).toBe(10);
  });

  it('with an infinite rate the queue size is ignored', () => {
    const { net, send, received } = line({ queueBytes: 100 });
    for (let i = 0; i < 50; i++) send(numbered(i, 1000));
    net.runUntilIdle();
    expect(received).toHaveLength(50);
  });
});

describe('Link MTU and blackhole', () => {
  it('drops datagrams larger than the MTU, traced with reason `mtu`', () => {
    const { net, send, received, records } = line({ mtu: 1000 });
    for (const [i, size] of [999, 1000, 1001, 1472, 4].entries()) send(numbered(i, size));
    net.runUntilIdle();
    expect(received.map((r) => r.data.length)).toEqual([999, 1000, 4]);
    const dropped = records.filter((r) => r.ev === 'dropped');
    expect(dropped.map((r) => r.ev === 'dropped' && [r.reason, r.len])).toEqual([
      ['mtu', 1001],
      ['mtu', 1472],
    ]);
    expect(net.stats.dropped.mtu).toBe(2);
  });

  it('a blackhole drops everything, oversize packets included, as `blackhole`', () => {
    const { net, send, received } = line({ blackhole: true, mtu: 100, loss: 0.5 });
    for (let i = 0; i < 50; i++) send(numbered(i, i % 2 === 0 ? 50 : 500));
    net.runUntilIdle();
    expect(received).toHaveLength(0);
    expect(net.stats.dropped).toMatchObject({ blackhole: 50, mtu: 0, loss: 0 });
  });
});

describe('Link duplication and damage', () => {
  it('duplicates are independent copies: changing one changes neither the other nor the sender', () => {
    const { net, send, received, records } = line({ duplicate: 1, delayMs: 3 });
    const data = numbered(42, 64);
    send(data);
    data.fill(0xee);
    net.runUntilIdle();
    expect(received).toHaveLength(2);
    const [first, second] = received.map((r) => r.data) as [Uint8Array, Uint8Array];
    expect(first).not.toBe(second);
    first.fill(0x11);
    expect(sequenceOf(second)).toBe(42);
    expect([...second.subarray(4)].every((b) => b === 0)).toBe(true);
    expect(net.stats.duplicated).toBe(1);
    const ids = records.flatMap((r) => (r.ev === 'record' ? [] : [r.id]));
    expect(new Set(ids)).toEqual(new Set([1]));
  });

  it('duplicate probability p yields about p * n extra copies', () => {
    const { net, send, received } = line({ duplicate: 0.2 }, 9);
    for (let i = 0; i < 1000; i++) send(numbered(i));
    net.runUntilIdle();
    const extra = received.length - 1000;
    expect(extra).toBe(net.stats.duplicated);
    expect(Math.abs(extra - 200)).toBeLessThanOrEqual(5 * Math.sqrt(1000 * 0.2 * 0.8));
  });

  it('property: bit-flip corruption changes exactly one bit, the one the trace names', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.nat(1000),
        (payload, seed) => {
          const { net, send, received, records } = line({ corrupt: 1 }, seed);
          send(payload);
          net.runUntilIdle();
          const got = received[0]?.data as Uint8Array;
          expect(got).toHaveLength(payload.length);
          const flipped = payload.reduce((n, b, i) => n + popcount(b ^ (got[i] as number)), 0);
          expect(flipped).toBe(1);
          const record = records.find((r) => r.ev === 'corrupted');
          expect(record).toMatchObject({ damage: 'bit-flip' });
          const bit = record?.ev === 'corrupted' ? record.detail : -1;
          expect((got[bit >> 3] as number) ^ (payload[bit >> 3] as number)).toBe(1 << (bit & 7));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('property: truncation delivers a strict prefix, of the length the trace names', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.nat(1000),
        (payload, seed) => {
          const { net, send, received, records } = line({ truncate: 1 }, seed);
          send(payload);
          net.runUntilIdle();
          const got = received[0]?.data as Uint8Array;
          expect(got.length).toBeLessThan(payload.length);
          expect([...got]).toEqual([...payload.subarray(0, got.length)]);
          expect(records.find((r) => r.ev === 'corrupted')).toMatchObject({
            damage: 'truncate',
            detail: got.length,
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('each duplicate copy is damaged independently', () => {
    const { net, send, received } = line({ duplicate: 1, corrupt: 0.5 }, 12);
    const payload = numbered(0, 200);
    for (let i = 0; i < 200; i++) send(payload);
    net.runUntilIdle();
    expect(received).toHaveLength(400);
    const damaged = received.map((r) => r.data.some((b, i) => b !== payload[i]));
    // Pairs arrive together (same delay, no jitter): count pairs where only one copy was hit.
    let mixed = 0;
    for (let i = 0; i < 400; i += 2) if (damaged[i] !== damaged[i + 1]) mixed++;
    expect(mixed).toBeGreaterThan(60);
    expect(net.stats.corrupted).toBe(countTrue(damaged));
  });
});
