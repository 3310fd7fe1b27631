import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../fixtures.js';
import {
  faultPlanArb,
  gilbertElliottArb,
  linkParamsArb,
} from '../../../src/net/sim/arbitraries.js';
import { applyPlan, type FaultKind, type FaultPlan } from '../../../src/net/sim/faults.js';
import { IDEAL_LINK, linkParams } from '../../../src/net/sim/link.js';
import { SimNetwork } from '../../../src/net/sim/network.js';
import { numbered } from './fixtures.js';

const HOSTS = ['a', 'b', 'c'];
const DURATION = 500;

/**
 * Hosts a, b and c (c behind a NAT), each sending to the next every 10 ms and rebinding its
 * socket when restarted; the a -> b link is configured, so that heal-all has something to restore.
 */
function world(seed: number) {
  const net = new SimNetwork({ seed, defaultLink: { delayMs: 3, jitterMs: 2 } });
  const hosts = [
    net.addHost({ name: 'a', addresses: ['10.0.0.1'] }),
    net.addHost({ name: 'b', addresses: ['10.0.0.2'] }),
    net.addHost({ name: 'c', addresses: ['192.168.0.3'], nat: { publicAddress: '203.0.113.3' } }),
  ];
  net.setLink('10.0.0.1', '10.0.0.2', { delayMs: 7, loss: 0.01 });
  const sockets = hosts.map((h) => h.bind(5000));
  hosts.forEach((h, i) => h.onRestart(() => (sockets[i] = h.bind(5000))));
  const targets = [
    { host: '10.0.0.2', port: 5000 },
    { host: '203.0.113.3', port: 5000 },
    { host: '10.0.0.1', port: 5000 },
  ];
  let n = 0;
  const tick = () => {
    hosts.forEach((h, i) => {
      if (h.up) sockets[i]?.send(numbered(n++), targets[i] as (typeof targets)[number]);
    });
    if (net.now() < DURATION + 100) net.clock.setTimer(10, tick);
  };
  net.clock.setTimer(0, tick);
  return { net, hosts };
}

const planArb = (heal?: boolean) =>
  faultPlanArb({
    hosts: HOSTS,
    natHosts: ['c'],
    durationMs: DURATION,
    ...(heal === undefined ? {} : { heal }),
  });

describe('linkParamsArb', () => {
  it('property: every generated value passes linkParams() validation unchanged', () => {
    fc.assert(
      fc.property(linkParamsArb({ blackhole: true }), (params) => {
        expect(linkParams(params)).toEqual(params);
        expect(linkParams(params, IDEAL_LINK, 'x')).toEqual(params);
      }),
      { numRuns: 100 },
    );
  });

  it('property: respects maxDelayMs and maxLoss; no blackholes unless asked', () => {
    const bounded = fc
      .tuple(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 1, noNaN: true }))
      .chain(([maxDelayMs, maxLoss]) =>
        linkParamsArb({ maxDelayMs, maxLoss }).map((params) => ({ maxDelayMs, maxLoss, params })),
      );
    fc.assert(
      fc.property(bounded, ({ maxDelayMs, maxLoss, params }) => {
        expect(params.delayMs).toBeLessThanOrEqual(maxDelayMs);
        expect(params.jitterMs).toBeLessThanOrEqual(maxDelayMs);
        expect(params.reorderDelayMs).toBeLessThanOrEqual(maxDelayMs);
        expect(params.loss).toBeLessThanOrEqual(maxLoss);
        expect(params.blackhole).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('generates blackholes when asked to', () => {
    const samples = fc.sample(linkParamsArb({ blackhole: true }), { numRuns: 200, seed: 1 });
    expect(samples.some((p) => p.blackhole)).toBe(true);
    expect(samples.some((p) => !p.blackhole)).toBe(true);
  });

  it('property: Gilbert-Elliott parameters are valid and their bursts end (pBadToGood > 0)', () => {
    fc.assert(
      fc.property(gilbertElliottArb, (burst) => {
        expect(linkParams({ burst }).burst).toEqual(burst);
        expect(burst.pBadToGood).toBeGreaterThan(0);
      }),
      { numRuns: 100 },
    );
  });
});

describe('faultPlanArb', () => {
  it('property: plans are sorted by time, within [0, durationMs), and end with one heal-all', () => {
    fc.assert(
      fc.property(planArb(), (plan) => {
        const times = plan.map((e) => e.at);
        expect(times).toEqual([...times].sort((x, y) => x - y));
        expect(plan.at(-1)).toEqual({ at: DURATION, type: 'heal-all' });
        const faults = plan.slice(0, -1);
        expect(faults.length).toBeLessThanOrEqual(8);
        for (const event of faults) {
          expect(event.type).not.toBe('heal-all');
          expect(event.at).toBeGreaterThanOrEqual(0);
          expect(event.at).toBeLessThan(DURATION);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('property: events name only the given hosts, in well-formed groups and pairs', () => {
    fc.assert(
      fc.property(planArb(), (plan) => {
        for (const event of plan) {
          switch (event.type) {
            case 'partition':
            case 'heal':
              expect(event.a.length).toBeGreaterThan(0);
              expect(event.b.length).toBeGreaterThan(0);
              expect([...event.a, ...event.b].sort()).toEqual(HOSTS);
              break;
            case 'impair':
              expect(HOSTS).toContain(event.from);
              expect(HOSTS).toContain(event.to);
              expect(event.from).not.toBe(event.to);
              break;
            case 'crash':
            case 'restart':
              expect(HOSTS).toContain(event.host);
              break;
            case 'nat-rebind':
              expect(event.host).toBe('c');
              break;
            case 'heal-all':
              break;
            default:
              throw new Error(`unexpected event ${JSON.stringify(event)}`);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('property: a plan survives a JSON round trip unchanged (no Infinity, NaN or -0)', () => {
    fc.assert(
      fc.property(planArb(), (plan) => {
        // toEqual tells -0 from 0, and NaN or Infinity from the null JSON makes of them. Not
        // toStrictEqual: impairments may be null-prototype objects, which JSON makes plain.
        expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
      }),
      { numRuns: 100 },
    );
  });

  it('property: any plan applies without throwing, its JSON copy replays to the same trace, and heal-all heals', () => {
    fc.assert(
      fc.property(planArb(), fc.nat(1000), (plan, seed) => {
        const run = (p: FaultPlan) => {
          const w = world(seed);
          applyPlan(w.net, p);
          w.net.runUntilIdle();
          return w;
        };
        const { net, hosts } = run(plan);
        expect(run(JSON.parse(JSON.stringify(plan)) as FaultPlan).net.trace.hash).toBe(
          net.trace.hash,
        );
        // After the final heal-all: everyone is up, nothing is cut, links are as configured.
        for (const x of hosts) {
          expect(x.up).toBe(true);
          for (const y of hosts) expect(net.isPartitioned(x, y)).toBe(false);
        }
        expect(net.linkParams('10.0.0.1', '10.0.0.2')).toMatchObject({ delayMs: 7, loss: 0.01 });
        expect(net.linkParams('10.0.0.2', '10.0.0.1')).toMatchObject({ delayMs: 3, jitterMs: 2 });
      }),
      { numRuns: 40 },
    );
  });

  it('property: with heal: false there is no heal-all', () => {
    fc.assert(
      fc.property(planArb(false), (plan) => {
        expect(plan.filter((e) => e.type === 'heal-all')).toEqual([]);
        expect(plan.length).toBeLessThanOrEqual(8);
        const w = world(1);
        expect(() => applyPlan(w.net, plan)).not.toThrow();
      }),
      { numRuns: 50 },
    );
  });

  it('property: draws only the kinds asked for, and at most maxEvents of them', () => {
    const kindsArb = fc.subarray<FaultKind>(['partition', 'heal', 'impair', 'crash', 'restart'], {
      minLength: 1,
    });
    fc.assert(
      fc.property(kindsArb, fc.integer({ min: 0, max: 20 }), fc.nat(), (kinds, maxEvents, seed) => {
        const arb = faultPlanArb({ hosts: HOSTS, durationMs: DURATION, kinds, maxEvents });
        for (const plan of fc.sample(arb, { numRuns: 5, seed })) {
          const faults = plan.filter((e) => e.type !== 'heal-all');
          expect(faults.length).toBeLessThanOrEqual(maxEvents);
          for (const event of faults) expect(kinds).toContain(event.type);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('never draws nat-rebind without NAT hosts', () => {
    const plans = fc.sample(faultPlanArb({ hosts: HOSTS, durationMs: DURATION, maxEvents: 20 }), {
      numRuns: 200,
      seed: 3,
    });
    const types = new Set(plans.flat().map((e) => e.type));
    expect(types.has('nat-rebind')).toBe(false);
    expect(types.has('partition') && types.has('crash') && types.has('impair')).toBe(true);
  });

  it('rejects bad constraints with an error naming the parameter', () => {
    expect(parameterOf(() => faultPlanArb({ hosts: ['a'], durationMs: 100 }))).toBe('hosts');
    expect(parameterOf(() => faultPlanArb({ hosts: [], durationMs: 100 }))).toBe('hosts');
    expect(parameterOf(() => faultPlanArb({ hosts: HOSTS, durationMs: 0 }))).toBe('durationMs');
    expect(parameterOf(() => faultPlanArb({ hosts: HOSTS, durationMs: Number.NaN }))).toBe(
      'durationMs',
    );
    expect(
      parameterOf(() => faultPlanArb({ hosts: HOSTS, durationMs: 100, kinds: ['address-change'] })),
    ).toBe('kinds');
    expect(
      parameterOf(() => faultPlanArb({ hosts: HOSTS, durationMs: 100, kinds: ['nat-rebind'] })),
    ).toBe('kinds');
    expect(parameterOf(() => faultPlanArb({ hosts: HOSTS, durationMs: 100, kinds: [] }))).toBe(
      'kinds',
    );
  });
});
