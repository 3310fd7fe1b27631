import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../../src/net/errors.js';
import { SimNetwork } from '../../../src/net/sim/network.js';
import { type LinkPreset, PRESET_NAMES, presetLinks } from '../../../src/net/sim/presets.js';
import { collect, numbered, sequenceOf } from './fixtures.js';

/** The presets table of docs/SIMULATOR.md, copied by hand: the code must match the docs. */
const DOCUMENTED: Record<
  LinkPreset,
  {
    readonly downBps: number;
    readonly upBps: number;
    readonly delayMs: number;
    readonly jitterMs: number;
    readonly queueDown: number;
    readonly queueUp: number;
  }
> = {
  dsl_15: {
    downBps: 1_536_000,
    upBps: 384_000,
    delayMs: 6.5,
    jitterMs: 0,
    queueDown: 57_600,
    queueUp: 36_000,
  },
  cable_5: {
    downBps: 5_000_000,
    upBps: 384_000,
    delayMs: 3.5,
    jitterMs: 0,
    queueDown: 187_500,
    queueUp: 36_000,
  },
  sat_10: {
    downBps: 10_000_000,
    upBps: 10_000_000,
    delayMs: 250,
    jitterMs: 0,
    queueDown: 625_000,
    queueUp: 625_000,
  },
  eth_100: {
    downBps: 100_000_000,
    upBps: 100_000_000,
    delayMs: 0.1,
    jitterMs: 0,
    queueDown: 147_200,
    queueUp: 147_200,
  },
  eth_1000: {
    downBps: 1_000_000_000,
    upBps: 1_000_000_000,
    delayMs: 0.05,
    jitterMs: 0,
    queueDown: 1_472_000,
    queueUp: 1_472_000,
  },
  wifi_lossy: {
    downBps: 18_000_000,
    upBps: 18_000_000,
    delayMs: 2,
    jitterMs: 3,
    queueDown: 225_000,
    queueUp: 225_000,
  },
};

const MTU = 1472;
const DIRECTIONS = ['up', 'down'] as const;
type Direction = (typeof DIRECTIONS)[number];

/** A client and a server joined by `preset`; `up` sends client -> server, `down` the reverse. */
function joined(preset: LinkPreset, direction: Direction, seed = 1) {
  const net = new SimNetwork({ seed });
  const client = net.addHost({ name: 'client', addresses: ['10.0.0.1'] });
  const server = net.addHost({ name: 'server', addresses: ['10.0.0.2'] });
  net.setLinks(client, server, preset);
  const [from, to] =
    direction === 'up'
      ? [client.bind(1000), server.bind(2000)]
      : [server.bind(2000), client.bind(1000)];
  const received = collect(to, () => net.now());
  const doc = DOCUMENTED[preset];
  return {
    net,
    received,
    bandwidthBps: direction === 'up' ? doc.upBps : doc.downBps,
    queueBytes: direction === 'up' ? doc.queueUp : doc.queueDown,
    send: (data: Uint8Array) => from.send(data, to.localAddress),
  };
}

const cases = PRESET_NAMES.flatMap((preset) =>
  DIRECTIONS.map((direction) => ({ preset, direction })),
);

describe('link presets', () => {
  it('the presets are exactly those the docs tabulate', () => {
    expect([...PRESET_NAMES].sort()).toEqual(Object.keys(DOCUMENTED).sort());
  });

  it.each(cases)(
    '$preset $direction: a saturating transfer delivers within 2 % of the documented rate',
    ({ preset, direction }) => {
      const { net, send, received, bandwidthBps } = joined(preset, direction);
      // Offer 125 % of the rate in full-MTU datagrams: the transmitter never idles.
      const packets = 1000;
      const interval = (MTU * 8 * 1000) / bandwidthBps / 1.25;
      let sent = 0;
      const tick = () => {
        send(numbered(sent++, MTU));
        if (sent < packets) net.clock.setTimer(interval, tick);
      };
      tick();
      net.runUntilIdle();
      const times = received.map((r) => r.at);
      const window = Math.max(...times) - Math.min(...times);
      // Packets lost on the wire (wifi_lossy's bursts) used it too: count them as carried.
      const carried = received.length + net.stats.dropped['burst-loss'] + net.stats.dropped.loss;
      const measuredBps = ((carried - 1) * MTU * 8 * 1000) / window;
      expect(received.length).toBeGreaterThan(packets / 2);
      expect(Math.abs(measuredBps / bandwidthBps - 1)).toBeLessThan(0.02);
    },
  );

  it.each(cases)(
    '$preset $direction: one-way delay is the documented delay plus transmission',
    ({ preset, direction }) => {
      const { net, send, received, bandwidthBps } = joined(preset, direction);
      const doc = DOCUMENTED[preset];
      const size = 100;
      const transmission = (size * 8 * 1000) / bandwidthBps;
      // Spaced 100 ms apart, so that no packet queues behind another.
      for (let i = 0; i < 100; i++) net.clock.setTimer(100 * i, () => send(numbered(i, size)));
      net.runUntilIdle();
      expect(received).toHaveLength(100 - net.stats.dropped['burst-loss']);
      const delays = received.map((r) => r.at - 100 * sequenceOf(r.data) - transmission);
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(doc.delayMs - 1e-9);
      expect(Math.max(...delays)).toBeLessThanOrEqual(doc.delayMs + doc.jitterMs + 1e-9);
      if (doc.jitterMs === 0) {
        for (const d of delays) expect(d).toBeCloseTo(doc.delayMs, 9);
      } else {
        // Uniform jitter: 100 draws come near both ends of [delay, delay + jitter].
        expect(Math.min(...delays)).toBeLessThan(doc.delayMs + 0.2 * doc.jitterMs);
        expect(Math.max(...delays)).toBeGreaterThan(doc.delayMs + 0.8 * doc.jitterMs);
      }
    },
  );

  it.each(cases)(
    '$preset $direction: the drop-tail queue holds the documented bytes, the MTU is 1472',
    ({ preset, direction }) => {
      const { net, send, received, queueBytes } = joined(preset, direction);
      const fits = Math.floor(queueBytes / MTU);
      for (let i = 0; i < fits + 10; i++) send(numbered(i, MTU));
      send(numbered(fits + 10, MTU + 1));
      net.runUntilIdle();
      expect(net.stats.dropped['queue-full']).toBe(10);
      expect(net.stats.dropped.mtu).toBe(1);
      expect(received.length + net.stats.dropped['burst-loss']).toBe(fits);
    },
  );

  it.each(DIRECTIONS)(
    'wifi_lossy %s: measured loss is between 0.8 % and 2.5 % (documented ≈1.5 %)',
    (direction) => {
      const { net, send, received } = joined('wifi_lossy', direction, 2026);
      // 8 Mbit/s offered to an 18 Mbit/s link: no queue drops, only wire loss.
      const packets = 20_000;
      for (let i = 0; i < packets; i++) net.clock.setTimer(i, () => send(numbered(i, 1000)));
      net.runUntilIdle();
      expect(net.stats.dropped['queue-full']).toBe(0);
      const loss = (packets - received.length) / packets;
      expect(net.stats.dropped['burst-loss']).toBe(packets - received.length);
      expect(loss).toBeGreaterThanOrEqual(0.008);
      expect(loss).toBeLessThanOrEqual(0.025);
    },
  );

  it('an unknown preset name is an InvalidParameterError naming `preset`', () => {
    const net = new SimNetwork({ seed: 1 });
    const a = net.addHost({ addresses: ['10.0.0.1'] });
    const b = net.addHost({ addresses: ['10.0.0.2'] });
    for (const name of ['dsl_16', '', 'DSL_15', 'toString', '__proto__', 'constructor']) {
      for (const attempt of [
        () => presetLinks(name),
        () => net.setLinks(a, b, name as LinkPreset),
      ]) {
        expect(attempt).toThrow(InvalidParameterError);
        expect(attempt).toThrow(/known: dsl_15/);
        try {
          attempt();
        } catch (error) {
          expect((error as InvalidParameterError).parameter).toBe('preset');
        }
      }
    }
  });

  it('presetLinks returns the pair that setLinks applies: up client -> server, down back', () => {
    const net = new SimNetwork({ seed: 1 });
    const client = net.addHost({ addresses: ['10.0.0.1'] });
    const server = net.addHost({ addresses: ['10.0.0.2'] });
    net.setLinks(client, server, 'cable_5');
    const { up, down } = presetLinks('cable_5');
    expect(net.linkParams('10.0.0.1', '10.0.0.2')).toMatchObject(up);
    expect(net.linkParams('10.0.0.2', '10.0.0.1')).toMatchObject(down);
  });
});
