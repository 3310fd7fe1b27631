import { describe, expect, it } from 'vitest';
import type { LinkState } from '../../src/channel/channel-core.js';
import { presetLinks } from '../../src/net/sim/presets.js';
import { channelPair } from './fixtures/channel-pair.js';

/**
 * 3,000 chunks over 10 ms each way that lose nothing but hold one packet in twenty back
 * `holdMs`; the sending channel's core once every chunk has arrived.
 */
async function reorderedTransfer(holdMs: number) {
  const { net, serverSource, clientChannel } = await channelPair({
    chunks: 3000,
    seed: 4,
    net: { defaultLink: { delayMs: 10, reorder: 0.05, reorderDelayMs: holdMs } },
  });
  net.runFor(60_000);
  expect(serverSource.chunksReceived.size).toBe(3000);
  return clientChannel.core;
}

describe('channel on the simulator', () => {
  it('carries bulk data: every chunk arrives', async () => {
    const { net, clientSource, serverSource } = await channelPair({ chunks: 500 });
    net.runFor(20_000);
    expect(serverSource.chunksReceived.size).toBe(500);
    expect(clientSource.pending).toBe(0);
  });

  it('the RTT estimate converges to the path RTT within 10 %', async () => {
    const { net, clientChannel } = await channelPair({
      chunks: 3000,
      net: { defaultLink: { delayMs: 40 } },
    });
    net.runFor(10_000);
    const { smoothed, min } = clientChannel.core.recovery.rtt;
    expect(min).toBeCloseTo(80, 6);
    expect(Math.abs(smoothed - 80) / 80).toBeLessThan(0.1);
  });

  it('every transmission the network dropped is declared lost, and none that arrived is', async () => {
    const { net, clientSource, serverSource, clientChannel } = await channelPair({
      chunks: 2000,
      seed: 3,
      net: { defaultLink: { delayMs: 20, loss: 0.05 } },
    });
    net.runFor(60_000);
    expect(serverSource.chunksReceived.size).toBe(2000);
    const sent = new Set([...clientSource.acked, ...clientSource.lost]);
    for (const transmission of clientSource.lost) {
      expect(serverSource.arrived.has(transmission)).toBe(false);
    }
    for (const transmission of sent) {
      if (!serverSource.arrived.has(transmission)) {
        expect(clientSource.lost.has(transmission)).toBe(true);
      }
    }
    expect(clientSource.lost.size).toBeGreaterThan(0);
    expect(clientChannel.core.stats.packetsLost).toBeGreaterThanOrEqual(clientSource.lost.size);
  });

  it('on a path that reorders and loses nothing, every congestion cut is undone once its losses turn up', async () => {
    // One packet in twenty held back 8 ms: later ones overtake it by many places.
    const core = await reorderedTransfer(8);
    expect(core.stats.packetsLost).toBeGreaterThan(0);
    expect(core.stats.congestionUndos).toBeGreaterThan(0);
    // Nothing was lost, so no cut stands: the sender never left slow start.
    expect(core.congestion.slowStartThreshold).toBe(Number.POSITIVE_INFINITY);
  });

  it('a packet held back longer than a round trip is still reported when it comes, and its loss disproved', async () => {
    // 30 ms late on a 20 ms round trip: the receiver has stopped reporting the packets around
    // it (their ACK was acknowledged), yet reports it, once.
    const { stats, recovery } = await reorderedTransfer(30);
    expect(stats.packetsLost).toBeGreaterThan(20);
    expect(recovery.spuriousLosses).toBeGreaterThanOrEqual(0.9 * stats.packetsLost);
    expect(stats.congestionUndos).toBeGreaterThan(0);
  });

  it('link state under a partition: up, stalled, down, and up again soon after healing', async () => {
    const { net, client, server, clientChannel } = await channelPair({
      chunks: 100_000,
      net: { defaultLink: { delayMs: 10, bandwidthBps: 2_000_000, queueBytes: 30_000 } },
    });
    const seen: { state: LinkState; at: number }[] = [];
    clientChannel.linkState$.subscribe((state) => seen.push({ state, at: net.now() }));
    net.runFor(1000);
    const cut = net.now();
    net.partition([client.host], [server.host]);
    net.runFor(30_000);
    const healed = net.now();
    net.heal([client.host], [server.host]);
    net.runFor(10_000);
    expect(
      seen.map((s) => s.state),
      JSON.stringify(seen),
    ).toEqual(['up', 'stalled', 'down', 'up']);
    const [, stalled, down, up] = seen;
    expect((stalled?.at ?? 0) - cut).toBeLessThan(2000);
    // Down 20 s after the last packet heard, which left the peer at most one RTT before the cut.
    expect((down?.at ?? 0) - cut).toBeGreaterThan(19_900);
    expect((down?.at ?? 0) - cut).toBeLessThanOrEqual(20_000);
    expect((up?.at ?? 0) - healed).toBeLessThan(6000);
    expect(clientChannel.actor.getSnapshot().matches({ open: { link: 'up' } })).toBe(true);
  });

  it('replayed and tampered packets are dropped and counted, and the data still arrives', async () => {
    const { net, serverChannel, serverSource } = await channelPair({ chunks: 200 });
    const delivered: Uint8Array[] = [];
    const handle = serverChannel.handle.bind(serverChannel);
    let arrivals = 0;
    let tampered = 0;
    serverChannel.handle = (datagram) => {
      // Every tenth datagram is damaged on the way: a fresh packet number that fails to open.
      if (++arrivals % 10 === 0) {
        const damaged = Uint8Array.from(datagram);
        damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 1;
        tampered++;
        handle(damaged);
        return;
      }
      delivered.push(Uint8Array.from(datagram));
      handle(datagram);
    };
    net.runFor(10_000);
    expect(serverSource.chunksReceived.size).toBe(200);
    expect(serverChannel.core.stats.authFailed).toBe(tampered);
    const before = { ...serverChannel.core.stats };
    for (const datagram of delivered) handle(datagram);
    const after = serverChannel.core.stats;
    // A replay recent enough to decode to its own packet number is caught by the replay window;
    // an older one decodes (truncated number) to a number it was not sealed under and fails to
    // open. Either way it is dropped and counted.
    expect(after.replayed - before.replayed).toBeGreaterThan(0);
    expect(after.replayed - before.replayed + after.authFailed - before.authFailed).toBe(
      delivered.length,
    );
    expect(after.packetsReceived).toBe(before.packetsReceived);
    expect(serverChannel.core.closed).toBe(false);
  });
});

describe('goodput on the presets', () => {
  it.each([
    ['dsl_15', 'up'],
    ['dsl_15', 'down'],
    ['cable_5', 'up'],
    ['cable_5', 'down'],
  ] as const)(
    'a bulk transfer on %s, %s, uses at least 90 percent of the link (1000-byte chunks, headers counted as overhead)',
    async (preset, direction) => {
      const links = presetLinks(preset);
      const upload = direction === 'up';
      const { net, client, server, serverSource, clientSource } = await channelPair({
        chunks: upload ? 1_000_000 : 0,
        serverChunks: upload ? 0 : 1_000_000,
      });
      // The client is the subscriber: it sends on the preset's `up` link, receives on `down`.
      net.setLinks(client.host, server.host, links);
      const receiver = upload ? serverSource : clientSource;
      net.runFor(5000);
      const before = receiver.bytesReceived;
      net.runFor(10_000);
      const goodput = ((receiver.bytesReceived - before) * 8) / 10;
      expect(goodput / (links[direction].bandwidthBps as number)).toBeGreaterThan(0.9);
    },
  );
});
