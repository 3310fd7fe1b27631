import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../fixtures.js';
import { faultPlanArb } from '../../../src/net/sim/arbitraries.js';
import { applyPlan, type FaultEvent, type FaultPlan } from '../../../src/net/sim/faults.js';
import { SimNetwork } from '../../../src/net/sim/network.js';
import { collect, numbered } from './fixtures.js';

/** Hosts a, b, c (c behind a NAT); a sends to b every 10 ms for `durationMs`. */
function world(seed = 1, durationMs = 1000) {
  const net = new SimNetwork({ seed, defaultLink: { delayMs: 5 } });
  const a = net.addHost({ name: 'a', addresses: ['10.0.0.1'] });
  const b = net.addHost({ name: 'b', addresses: ['10.0.0.2'] });
  const c = net.addHost({
    name: 'c',
    addresses: ['192.168.0.3'],
    nat: { publicAddress: '203.0.113.3' },
  });
  let sa = a.bind(1);
  const sb = b.bind(2);
  a.onRestart(() => {
    sa = a.bind(1);
  });
  const received = collect(sb, () => net.now());
  const tick = () => {
    if (a.up) sa.send(numbered(Math.round(net.now())), sb.localAddress);
    if (net.now() < durationMs) net.clock.setTimer(10, tick);
  };
  net.clock.setTimer(0, tick);
  return { net, a, b, c, received };
}

describe('applyPlan', () => {
  it('applies each event at its time', () => {
    const { net, received } = world();
    applyPlan(net, [
      { at: 300, type: 'partition', a: ['a'], b: ['b'] },
      { at: 600, type: 'heal', a: ['a'], b: ['b'] },
    ]);
    net.runUntilIdle();
    const sentAt = received.map((r) => r.at - 5);
    expect(sentAt.filter((t) => t >= 300 && t < 600)).toEqual([]);
    expect(sentAt.filter((t) => t < 300)).toHaveLength(30);
    expect(sentAt.filter((t) => t >= 600)).toHaveLength(41);
  });

  it('an impairment lasts until heal-all restores the configured link', () => {
    const { net, received } = world();
    applyPlan(net, [
      { at: 200, type: 'impair', from: 'a', to: 'b', params: { blackhole: true } },
      { at: 400, type: 'heal-all' },
    ]);
    net.runUntilIdle();
    expect(net.stats.dropped.blackhole).toBe(20);
    expect(received.filter((r) => r.at > 400)).toHaveLength(61);
    expect(net.linkParams('10.0.0.1', '10.0.0.2').blackhole).toBe(false);
  });

  it('crash and heal-all: the host is down in between and its program restarts', () => {
    const { net, a, received } = world();
    applyPlan(net, [
      { at: 100, type: 'crash', host: 'a' },
      { at: 500, type: 'heal-all' },
    ]);
    net.runFor(300);
    expect(a.up).toBe(false);
    net.runUntilIdle();
    expect(a.up).toBe(true);
    expect(received.filter((r) => r.at > 100 && r.at < 500)).toHaveLength(0);
    expect(received.filter((r) => r.at > 500)).toHaveLength(51);
  });

  it('a plan read back from JSON replays to the same trace', () => {
    const plan: FaultPlan = [
      {
        at: 100,
        type: 'impair',
        from: 'a',
        to: 'b',
        params: { loss: 0.3, jitterMs: 4 },
        bothWays: true,
      },
      { at: 150, type: 'nat-rebind', host: 'c' },
      { at: 200, type: 'partition', a: ['a'], b: ['b', 'c'], oneWay: true },
      { at: 250, type: 'crash', host: 'b' },
      { at: 300, type: 'restart', host: 'b' },
      { at: 350, type: 'address-change', host: 'b', from: '10.0.0.2', to: '10.0.0.20' },
      { at: 900, type: 'heal-all' },
    ];
    const run = (p: FaultPlan) => {
      const { net } = world(7);
      applyPlan(net, p);
      net.runUntilIdle();
      return net.trace.hash;
    };
    expect(run(JSON.parse(JSON.stringify(plan)) as FaultPlan)).toBe(run(plan));
  });

  it('the returned function cancels events not yet applied', () => {
    const { net, received } = world();
    const cancel = applyPlan(net, [{ at: 500, type: 'partition', a: ['a'], b: ['b'] }]);
    net.runFor(400);
    cancel();
    net.runUntilIdle();
    expect(net.stats.dropped.partition).toBe(0);
    expect(received).toHaveLength(101);
  });

  it('rejects a bad plan before applying anything, naming the event and field', () => {
    const { net } = world();
    const bad = (event: unknown) =>
      parameterOf(() => applyPlan(net, [{ at: 1, type: 'heal-all' }, event as FaultEvent]));
    expect(bad({ at: -1, type: 'heal-all' })).toBe('plan[1].at');
    expect(bad({ at: 5, type: 'crash', host: 'nobody' })).toBe('plan[1].host');
    expect(bad({ at: 5, type: 'partition', a: ['a'], b: ['x'] })).toBe('plan[1].b[0]');
    expect(bad({ at: 5, type: 'impair', from: 'a', to: 'b', params: { loss: 2 } })).toBe(
      'plan[1].params.loss',
    );
    expect(bad({ at: 5, type: 'nat-rebind', host: 'a' })).toBe('plan[1].host');
    expect(bad({ at: 5, type: 'meteor' })).toBe('plan[1].type');
    expect(parameterOf(() => applyPlan(net, {} as FaultPlan))).toBe('plan');
    net.runUntilIdle();
    expect(net.stats.dropped.partition).toBe(0);
  });
});

describe('faultPlanArb', () => {
  it('shrinks a failing plan to the one fault that matters', () => {
    // A property that only a partition between a and b breaks; every other fault is noise.
    const noPartitionDrops = (plan: FaultPlan) => {
      const { net } = world(3);
      applyPlan(net, plan);
      net.runUntilIdle();
      return net.stats.dropped.partition === 0;
    };
    const result = fc.check(
      fc.property(
        faultPlanArb({ hosts: ['a', 'b', 'c'], natHosts: ['c'], durationMs: 1000, maxEvents: 12 }),
        noPartitionDrops,
      ),
      { seed: 20261123, numRuns: 200 },
    );
    expect(result.failed).toBe(true);
    const plan = result.counterexample?.[0] as FaultPlan;
    expect(plan.filter((e) => e.type !== 'heal-all')).toHaveLength(1);
    expect(plan[0]?.type).toBe('partition');
    expect(plan.at(-1)?.type).toBe('heal-all');
  });
});
