import fc from 'fast-check';
import { MAX_UDP_PAYLOAD_IPV6 } from '../datagram-socket.js';
import { InvalidParameterError } from '../errors.js';
import type { FaultEvent, FaultKind, FaultPlan } from './faults.js';
import type { GilbertElliott, LinkParams } from './link.js';

/** Bounds of {@link linkParamsArb}. */
export interface LinkParamsConstraints {
  /** Largest one-way delay and jitter, ms (default 200). */
  readonly maxDelayMs?: number;
  /** Largest independent loss probability (default 0.3). */
  readonly maxLoss?: number;
  /** Whether to generate blackholes (default false: a blackholed link fails most properties). */
  readonly blackhole?: boolean;
}

const probability = (max: number) =>
  fc.double({ min: 0, max, noNaN: true, noDefaultInfinity: true });

/** Gilbert-Elliott parameters whose bursts end (pBadToGood > 0). */
export const gilbertElliottArb: fc.Arbitrary<GilbertElliott> = fc.record({
  pGoodToBad: probability(0.1),
  pBadToGood: fc.double({ min: 0.05, max: 1, noNaN: true }),
  lossGood: probability(0.05),
  lossBad: probability(1),
});

/**
 * Parameters of one link direction. Every field shrinks toward an ideal link (no loss, no
 * damage, no delay, unlimited rate), so a failing case keeps only the impairments it needs.
 */
export function linkParamsArb(constraints: LinkParamsConstraints = {}): fc.Arbitrary<LinkParams> {
  const maxDelay = constraints.maxDelayMs ?? 200;
  const maxLoss = constraints.maxLoss ?? 0.3;
  return fc.record({
    delayMs: fc.integer({ min: 0, max: maxDelay }),
    jitterMs: fc.integer({ min: 0, max: maxDelay }),
    loss: probability(maxLoss),
    burst: fc.option(gilbertElliottArb, { nil: null }),
    duplicate: probability(0.2),
    reorder: probability(0.2),
    reorderDelayMs: fc.integer({ min: 0, max: maxDelay }),
    corrupt: probability(0.1),
    truncate: probability(0.1),
    bandwidthBps: fc.oneof(
      fc.constant(Number.POSITIVE_INFINITY),
      fc.integer({ min: 64_000, max: 1_000_000_000 }),
    ),
    queueBytes: fc.oneof(
      fc.constant(Number.POSITIVE_INFINITY),
      fc.integer({ min: MAX_UDP_PAYLOAD_IPV6, max: 4_000_000 }),
    ),
    mtu: fc.oneof(
      fc.constant(MAX_UDP_PAYLOAD_IPV6),
      fc.integer({ min: 576, max: MAX_UDP_PAYLOAD_IPV6 }),
    ),
    blackhole: constraints.blackhole === true ? fc.boolean() : fc.constant(false),
  });
}

/** What {@link faultPlanArb} may generate. */
export interface FaultPlanConstraints {
  /** Names of the hosts faults may touch; at least two. */
  readonly hosts: readonly string[];
  /** Faults happen in [0, durationMs). */
  readonly durationMs: number;
  /** Most faults in one plan (default 8). */
  readonly maxEvents?: number;
  /** End with a `heal-all` at `durationMs` (default true), so that properties can ask for recovery. */
  readonly heal?: boolean;
  /** Hosts behind a NAT, for `nat-rebind` events. */
  readonly natHosts?: readonly string[];
  /** Kinds to draw from (default: all but `address-change`, which needs spare addresses). */
  readonly kinds?: readonly FaultKind[];
  /** Bounds of impairments (`impair` events). */
  readonly link?: LinkParamsConstraints;
}

const DEFAULT_KINDS: readonly FaultKind[] = [
  'partition',
  'heal',
  'impair',
  'crash',
  'restart',
  'nat-rebind',
];

/** Impairments as a fault applies them: JSON-clean (no `Infinity`), only the keys drawn. */
function impairmentArb(constraints: LinkParamsConstraints): fc.Arbitrary<Partial<LinkParams>> {
  const maxDelay = constraints.maxDelayMs ?? 200;
  return fc.record(
    {
      delayMs: fc.integer({ min: 0, max: maxDelay }),
      jitterMs: fc.integer({ min: 0, max: maxDelay }),
      loss: probability(constraints.maxLoss ?? 0.3),
      burst: gilbertElliottArb,
      duplicate: probability(0.2),
      reorder: probability(0.2),
      reorderDelayMs: fc.integer({ min: 0, max: maxDelay }),
      corrupt: probability(0.1),
      truncate: probability(0.1),
      bandwidthBps: fc.integer({ min: 64_000, max: 100_000_000 }),
      blackhole: fc.constant(true),
    },
    { requiredKeys: [] },
  );
}

/**
 * A fault plan over named hosts, sorted by time. fast-check shrinks it by dropping events and
 * simplifying the rest, so a failing plan comes down to the few faults that matter.
 */
export function faultPlanArb(constraints: FaultPlanConstraints): fc.Arbitrary<FaultPlan> {
  const { hosts, durationMs } = constraints;
  if (hosts.length < 2)
    throw new InvalidParameterError('hosts', 'a fault plan needs at least two hosts');
  if (!(durationMs > 0)) throw new InvalidParameterError('durationMs', 'must be positive');
  const natHosts = constraints.natHosts ?? [];
  const kinds = (constraints.kinds ?? DEFAULT_KINDS).filter(
    (k) => k !== 'nat-rebind' || natHosts.length > 0,
  );
  const at = fc.integer({ min: 0, max: Math.max(0, Math.ceil(durationMs) - 1) });
  const host = fc.constantFrom(...hosts);
  const groups = fc
    .tuple(fc.subarray([...hosts], { minLength: 1, maxLength: hosts.length - 1 }), fc.boolean())
    .map(([a, oneWay]) => ({ a, b: hosts.filter((h) => !a.includes(h)), oneWay }));
  const pair = fc
    .tuple(fc.nat(hosts.length - 1), fc.nat(hosts.length - 2))
    .map(([i, j]) => [hosts[i] as string, hosts[j >= i ? j + 1 : j] as string] as const);
  const byKind: Partial<Record<FaultKind, fc.Arbitrary<FaultEvent>>> = {
    partition: fc.tuple(at, groups).map(([t, g]) => ({ at: t, type: 'partition' as const, ...g })),
    heal: fc.tuple(at, groups).map(([t, g]) => ({ at: t, type: 'heal' as const, ...g })),
    impair: fc
      .tuple(at, pair, impairmentArb(constraints.link ?? {}), fc.boolean())
      .map(([t, [from, to], params, bothWays]) => ({
        at: t,
        type: 'impair' as const,
        from,
        to,
        params,
        bothWays,
      })),
    crash: fc.tuple(at, host).map(([t, h]) => ({ at: t, type: 'crash' as const, host: h })),
    restart: fc.tuple(at, host).map(([t, h]) => ({ at: t, type: 'restart' as const, host: h })),
  };
  if (natHosts.length > 0) {
    byKind['nat-rebind'] = fc
      .tuple(at, fc.constantFrom(...natHosts))
      .map(([t, h]) => ({ at: t, type: 'nat-rebind' as const, host: h }));
  }
  const choices = kinds.map((kind) => {
    const arb = byKind[kind];
    if (arb === undefined)
      throw new InvalidParameterError('kinds', `cannot generate ${kind} events`);
    return arb;
  });
  if (choices.length === 0) {
    throw new InvalidParameterError('kinds', 'no kind to generate (nat-rebind needs natHosts)');
  }
  const events = fc.array(fc.oneof(...choices), { maxLength: constraints.maxEvents ?? 8 });
  return events.map((list) => {
    const sorted = [...list].sort((x, y) => x.at - y.at);
    return constraints.heal === false
      ? sorted
      : [...sorted, { at: durationMs, type: 'heal-all' as const }];
  });
}
