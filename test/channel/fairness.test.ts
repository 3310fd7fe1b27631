import { describe, expect, it } from 'vitest';
import { SimNetwork } from '../../src/net/sim/network.js';
import { BulkSource } from './fixtures/bulk-source.js';
import { connectBulk, hostSide } from './fixtures/channel-pair.js';

describe('congestion control on a shared bottleneck', () => {
  it.each(['newreno', 'cubic'] as const)(
    'two %s channels through one 4 Mbit/s drop-tail link each get at least 40 percent of it',
    async (congestionControl) => {
      const net = new SimNetwork({
        seed: 7,
        defaultLink: { delayMs: 15, bandwidthBps: 4_000_000, queueBytes: 40_000 },
      });
      const clientHost = net.addHost({ name: 'client', addresses: ['10.0.0.1'] });
      const serverHost = net.addHost({ name: 'server', addresses: ['10.0.0.2'] });
      // Two host pairs on different ports of the same two machines: one link, one queue.
      const pair = async (port: number) => {
        const options = { congestionControl };
        const client = hostSide(net, clientHost, port, port, () => new BulkSource(1e6), options);
        const server = hostSide(
          net,
          serverHost,
          port + 1,
          port + 1,
          () => new BulkSource(0),
          options,
        );
        return (await connectBulk(net, client, server, port + 1)).serverSource;
      };
      const first = await pair(1000);
      net.runFor(3000);
      const second = await pair(2000);
      net.runFor(20_000);
      const [a0, b0] = [first.bytesReceived, second.bytesReceived];
      net.runFor(60_000);
      const a = first.bytesReceived - a0;
      const b = second.bytesReceived - b0;
      const share = Math.min(a, b) / (a + b);
      expect(share, `share of the smaller: ${share.toFixed(3)}`).toBeGreaterThanOrEqual(0.4);
      // Together they still fill the link (1000-byte chunks in ~1050-byte datagrams).
      expect(((a + b) * 8) / 60 / 4_000_000).toBeGreaterThan(0.85);
    },
  );
});
