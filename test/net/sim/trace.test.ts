import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linkParamsArb } from '../../../src/net/sim/arbitraries.js';
import { assertDeterministic, NondeterminismError } from '../../../src/net/sim/determinism.js';
import { applyPlan, type FaultPlan } from '../../../src/net/sim/faults.js';
import { SimNetwork } from '../../../src/net/sim/network.js';
import { formatTraceRecord, hashBytes, type TraceRecord } from '../../../src/net/sim/trace.js';
import { numbered } from './fixtures.js';

const PLAN: FaultPlan = [
  { at: 200, type: 'partition', a: ['a'], b: ['b'] },
  { at: 300, type: 'impair', from: 'b', to: 'a', params: { loss: 0.5, duplicate: 0.2 } },
  { at: 400, type: 'heal', a: ['a'], b: ['b'] },
  { at: 700, type: 'heal-all' },
];

/** Two hosts exchanging numbered datagrams every millisecond over a lossy, jittery, damaging link. */
function chatter(net: SimNetwork, plan: FaultPlan = PLAN, payload = numbered): void {
  const a = net.addHost({ name: 'a', addresses: ['10.0.0.1'] }).bind(1);
  const b = net.addHost({ name: 'b', addresses: ['10.0.0.2'] }).bind(2);
  net.setLinks('10.0.0.1', '10.0.0.2', {
    delayMs: 10,
    jitterMs: 8,
    loss: 0.05,
    corrupt: 0.02,
    truncate: 0.02,
    duplicate: 0.02,
  });
  b.onReceive((data, from) => b.send(data, from));
  applyPlan(net, plan);
  let n = 0;
  const tick = () => {
    a.send(payload(n++), b.localAddress);
    if (n < 800) net.clock.setTimer(1, tick);
  };
  tick();
  net.runUntilIdle();
}

function hashOf(seed: number, plan: FaultPlan = PLAN): string {
  const net = new SimNetwork({ seed });
  chatter(net, plan);
  return net.trace.hash;
}

describe('Trace hash', () => {
  it('is the same for the same seed and plan', async () => {
    expect(hashOf(42)).toBe(hashOf(42));
    expect(await assertDeterministic({ seed: 42 }, (net) => chatter(net))).toBe(hashOf(42));
  });

  it('differs between seeds', () => {
    const hashes = new Set(Array.from({ length: 20 }, (_, seed) => hashOf(seed)));
    expect(hashes.size).toBe(20);
  });

  it('differs when the plan differs', () => {
    const shifted = PLAN.map((e) => (e.type === 'partition' ? { ...e, at: 201 } : e));
    expect(hashOf(42, shifted)).not.toBe(hashOf(42));
  });

  it('depends on payload bytes, not only sizes and times', () => {
    const run = (flip: boolean) => {
      const net = new SimNetwork({ seed: 1 });
      chatter(net, [], (n) => {
        const data = numbered(n);
        if (flip && n === 500) data[50] = 1;
        return data;
      });
      return net.trace.hash;
    };
    expect(run(true)).not.toBe(run(false));
  });

  it('hashBytes does not depend on where the bytes sit in their buffer', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.integer({ min: 0, max: 7 }),
        (bytes, pad) => {
          const shifted = new Uint8Array(bytes.length + pad);
          shifted.set(bytes, pad);
          expect(hashBytes(shifted.subarray(pad))).toBe(hashBytes(bytes));
        },
      ),
    );
  });
});

describe('Trace records', () => {
  it('writes JSONL lines that parse back to the records', () => {
    const records: TraceRecord[] = [];
    const net = new SimNetwork({ seed: 9, onTrace: (r) => records.push(r) });
    chatter(net);
    const lines = records.map(formatTraceRecord);
    expect(lines.map((line) => JSON.parse(line))).toEqual(records);
    const kinds = new Set(records.map((r) => r.ev));
    for (const ev of ['sent', 'delivered', 'dropped', 'duplicated', 'corrupted', 'record']) {
      expect(kinds).toContain(ev);
    }
    const reasons = new Set(records.flatMap((r) => (r.ev === 'dropped' ? [r.reason] : [])));
    expect(reasons).toEqual(new Set(['loss', 'partition']));
    expect(records.filter((r) => r.ev === 'sent')).toHaveLength(net.stats.sent);
  });

  it('keeps upper-layer records, in time order with packets, and they count in the hash', () => {
    const run = (data: string) => {
      const records: TraceRecord[] = [];
      const net = new SimNetwork({ seed: 3, onTrace: (r) => records.push(r) });
      net.clock.setTimer(5, () => net.trace.record('channel:1', 'transition', { to: data }));
      net.runUntilIdle();
      return { records, hash: net.trace.hash };
    };
    const up = run('up');
    expect(up.records).toEqual([
      { t: 5, ev: 'record', source: 'channel:1', type: 'transition', data: { to: 'up' } },
    ]);
    expect(run('down').hash).not.toBe(up.hash);
  });

  it('property: every copy of every packet ends exactly once, delivered or dropped', () => {
    fc.assert(
      fc.property(linkParamsArb({ maxDelayMs: 20, blackhole: true }), fc.nat(), (params, seed) => {
        const ends = new Map<number, number>();
        const copies = new Map<number, number>();
        const net = new SimNetwork({
          seed,
          onTrace: (r) => {
            if (r.ev === 'sent' || r.ev === 'duplicated')
              copies.set(r.id, (copies.get(r.id) ?? 0) + 1);
            if (r.ev === 'delivered' || r.ev === 'dropped')
              ends.set(r.id, (ends.get(r.id) ?? 0) + 1);
          },
        });
        const a = net.addHost({ addresses: ['10.0.0.1'] }).bind(1);
        const b = net.addHost({ addresses: ['10.0.0.2'] }).bind(2);
        net.setLink('10.0.0.1', '10.0.0.2', params);
        for (let i = 0; i < 200; i++) a.send(numbered(i, 4 + (i % 1400)), b.localAddress);
        net.runUntilIdle();
        expect(ends).toEqual(copies);
        const { sent, delivered, duplicated, dropped } = net.stats;
        const drops = Object.values(dropped).reduce((x, y) => x + y, 0);
        expect(delivered + drops).toBe(sent + duplicated);
      }),
      { numRuns: 60 },
    );
  });
});

describe('assertDeterministic', () => {
  /** A payload carrying 8 bytes of `leak` at position 4, from datagram 300 on. */
  const leaking = (leak: () => number) => (net: SimNetwork) =>
    chatter(net, [], (n) => {
      const data = numbered(n);
      if (n >= 300) new DataView(data.buffer).setFloat64(4, leak());
      return data;
    });

  it('catches a scenario that draws from Math.random, and shows where the runs part', async () => {
    const error = await assertDeterministic({ seed: 1 }, leaking(Math.random)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NondeterminismError);
    const { divergence, code } = error as NondeterminismError;
    expect(code).toBe('nondeterministic');
    expect(divergence?.first).toContain('"ev":"sent"');
    expect(divergence?.first).toContain('"t":300,');
  });

  it('catches a scenario that reads the wall clock', async () => {
    // performance.now() only grows, so the second run always sees other values than the first.
    await expect(
      assertDeterministic(
        { seed: 1 },
        leaking(() => performance.now()),
      ),
    ).rejects.toThrow(NondeterminismError);
  });
});
