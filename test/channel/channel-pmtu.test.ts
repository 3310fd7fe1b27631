import { describe, expect, it } from 'vitest';
import { SimNetwork } from '../../src/net/sim/network.js';
import { presetLinks } from '../../src/net/sim/presets.js';
import { BulkSource } from './fixtures/bulk-source.js';
import { connectBulk, hostSide } from './fixtures/channel-pair.js';
import type { HostChannelOptions } from '../../src/channel/channel-host.js';
import type { LinkParams } from '../../src/net/sim/link.js';

/** A client sending `chunks` packet-filling chunks to a server over links of `link`. */
async function fillPair(chunks: number, link: Partial<LinkParams>, channel?: HostChannelOptions) {
  const net = new SimNetwork({ seed: 21, defaultLink: link });
  const clientHost = net.addHost({ name: 'client', addresses: ['10.0.0.1'] });
  const serverHost = net.addHost({ name: 'server', addresses: ['10.0.0.2'] });
  const client = hostSide(
    net,
    clientHost,
    5000,
    2101,
    () => new BulkSource(chunks, 60_000, { fill: true }),
    channel,
  );
  const server = hostSide(net, serverHost, 443, 2102, () => new BulkSource(0), channel);
  return { net, ...(await connectBulk(net, client, server, 443)) };
}

const UP_TO_64K: HostChannelOptions = { pmtuCeiling: () => 65_527 };

describe('path MTU discovery on a channel (RFC 8899)', () => {
  it('rises to within 32 bytes below what the path carries, with no congestion response to lost probes', async () => {
    const { net, clientChannel, serverSource } = await fillPair(
      2000,
      { delayMs: 10, mtu: 9000 },
      UP_TO_64K,
    );
    net.runFor(20_000);
    const core = clientChannel.core;
    expect(serverSource.chunksReceived.size).toBe(2000);
    expect(core.maxDatagramSize).toBeLessThanOrEqual(9000);
    expect(core.maxDatagramSize).toBeGreaterThan(9000 - 32);
    expect(core.stats.mtuProbesSent - core.stats.mtuProbesAcked).toBeGreaterThan(0);
    // Probes the path dropped were declared lost, but they are no congestion signal.
    expect(core.congestion.slowStartThreshold).toBe(Infinity);
  });

  it('off loopback the default ceiling is a 1500-byte Ethernet frame: 1472 bytes on a preset link', async () => {
    const { net, clientChannel } = await fillPair(500, presetLinks('eth_100').up);
    net.runFor(5000);
    expect(clientChannel.core.maxDatagramSize).toBe(1472);
    expect(clientChannel.core.stats.mtuProbesSent).toBe(1);
  });

  it('on a path narrower than the ceiling it settles between the base and the path MTU', async () => {
    const { net, clientChannel, serverSource } = await fillPair(500, { delayMs: 5, mtu: 1300 });
    net.runFor(10_000);
    expect(serverSource.chunksReceived.size).toBe(500);
    expect(clientChannel.core.maxDatagramSize).toBeLessThanOrEqual(1300);
    expect(clientChannel.core.maxDatagramSize).toBeGreaterThanOrEqual(1200);
  });

  it('detects a black hole when the path MTU shrinks mid-transfer, falls back and finishes', async () => {
    const { net, clientChannel, serverSource } = await fillPair(
      6000,
      { delayMs: 10, mtu: 9000, bandwidthBps: 50_000_000, queueBytes: 200_000 },
      UP_TO_64K,
    );
    net.runFor(3000);
    expect(clientChannel.core.maxDatagramSize).toBeGreaterThan(8000);
    expect(serverSource.chunksReceived.size).toBeLessThan(6000);
    net.impairLink('10.0.0.1', '10.0.0.2', { mtu: 1400 });
    net.runFor(60_000);
    expect(serverSource.chunksReceived.size).toBe(6000);
    expect(clientChannel.core.maxDatagramSize).toBeLessThanOrEqual(1400);
    expect(clientChannel.core.maxDatagramSize).toBeGreaterThanOrEqual(1200);
  });
});
