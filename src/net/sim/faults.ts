import type { TimerHandle } from '../clock.js';
import { InvalidParameterError } from '../errors.js';
import { type LinkParams, linkParams } from './link.js';
import type { LinkEnd, SimNetwork } from './network.js';
import type { SimHost } from './sim-host.js';
import type { JsonValue } from './trace.js';

/** Fields every fault event has: when it happens, in virtual ms since the network started. */
interface At {
  readonly at: number;
}

/** Host groups by name; `oneWay` cuts only `a` -> `b`. */
interface Groups {
  readonly a: readonly string[];
  readonly b: readonly string[];
  readonly oneWay?: boolean;
}

/**
 * One timed fault. Plain JSON, so that a plan can be saved, replayed, and shrunk by fast-check.
 * Hosts are named; link ends are host names or addresses.
 */
export type FaultEvent =
  | (At & Groups & { readonly type: 'partition' })
  | (At & Groups & { readonly type: 'heal' })
  | (At & {
      readonly type: 'impair';
      readonly from: string;
      readonly to: string;
      readonly params: Partial<LinkParams>;
      readonly bothWays?: boolean;
    })
  | (At & { readonly type: 'crash' | 'restart'; readonly host: string })
  | (At & { readonly type: 'nat-rebind'; readonly host: string; readonly address?: string })
  | (At & {
      readonly type: 'address-change';
      readonly host: string;
      readonly from: string;
      readonly to: string;
    })
  /** The network is healthy again: partitions healed, impairments cleared, crashed hosts restarted. */
  | (At & { readonly type: 'heal-all' });

/** A fault plan: events in any order; equal times run in plan order. */
export type FaultPlan = readonly FaultEvent[];

/** The kinds of fault a plan may hold. */
export type FaultKind = FaultEvent['type'];

function hostsOf(net: SimNetwork, names: unknown, name: string): SimHost[] {
  if (!Array.isArray(names)) throw new InvalidParameterError(name, 'must be a list of host names');
  return names.map((n, i) => hostOf(net, n, `${name}[${i}]`));
}

function hostOf(net: SimNetwork, hostName: unknown, name: string): SimHost {
  const host = net.hosts.find((h) => h.name === hostName);
  if (host === undefined)
    throw new InvalidParameterError(name, `no host named ${String(hostName)}`);
  return host;
}

function endOf(net: SimNetwork, end: unknown, name: string): LinkEnd {
  if (typeof end !== 'string')
    throw new InvalidParameterError(name, 'must be a host name or address');
  return net.hosts.find((h) => h.name === end) ?? end;
}

/** Checks one event and turns it into the action that applies it. */
function compile(net: SimNetwork, event: FaultEvent, name: string): () => void {
  switch (event.type) {
    case 'partition':
    case 'heal': {
      const a = hostsOf(net, event.a, `${name}.a`);
      const b = hostsOf(net, event.b, `${name}.b`);
      const options = { oneWay: event.oneWay === true };
      return event.type === 'partition'
        ? () => net.partition(a, b, options)
        : () => net.heal(a, b, options);
    }
    case 'impair': {
      const from = endOf(net, event.from, `${name}.from`);
      const to = endOf(net, event.to, `${name}.to`);
      linkParams(event.params, undefined, `${name}.params`);
      return () => {
        net.impairLink(from, to, event.params);
        if (event.bothWays === true) net.impairLink(to, from, event.params);
      };
    }
    case 'crash':
    case 'restart': {
      const host = hostOf(net, event.host, `${name}.host`);
      return event.type === 'crash' ? () => net.crash(host) : () => net.restart(host);
    }
    case 'nat-rebind': {
      const host = hostOf(net, event.host, `${name}.host`);
      if (host.nat === null)
        throw new InvalidParameterError(`${name}.host`, `${host.name} has no NAT`);
      return () => net.natRebind(host, event.address);
    }
    case 'address-change': {
      const host = hostOf(net, event.host, `${name}.host`);
      return () => net.changeAddress(host, event.from, event.to);
    }
    case 'heal-all':
      return () => {
        net.healAll();
        net.clearLinkFaults();
        for (const host of net.hosts) net.restart(host);
      };
    default:
      throw new InvalidParameterError(
        `${name}.type`,
        `unknown fault type ${JSON.stringify((event as { type: unknown }).type)}`,
      );
  }
}

/**
 * Schedules every event of `plan` on the network's clock at its `at`. The whole plan is checked
 * first, so a bad event fails here, naming it (`plan[3].host`), before anything runs.
 * @returns a function that cancels the events not yet applied.
 */
export function applyPlan(net: SimNetwork, plan: FaultPlan): () => void {
  if (!Array.isArray(plan))
    throw new InvalidParameterError('plan', 'must be a list of fault events');
  const now = net.now();
  const actions = plan.map((event, i) => {
    const name = `plan[${i}]`;
    if (typeof event !== 'object' || event === null) {
      throw new InvalidParameterError(name, 'must be a fault event object');
    }
    if (typeof event.at !== 'number' || !Number.isFinite(event.at) || event.at < now) {
      throw new InvalidParameterError(
        `${name}.at`,
        `must be a time >= ${now} ms, got ${String(event.at)}`,
      );
    }
    return { at: event.at, action: compile(net, event, name), event };
  });
  const handles: TimerHandle[] = actions.map(({ at, action, event }) =>
    net.clock.setTimer(at - now, () => {
      net.trace.record('fault', event.type, event as unknown as JsonValue);
      action();
    }),
  );
  return () => {
    for (const handle of handles) net.clock.clearTimer(handle);
  };
}
