import { describe, expect, it } from 'vitest';
import { channelPair } from './fixtures/channel-pair.js';

describe('key update on a channel', () => {
  it('keys change every 200 packets on a lossy, reordering link, and every chunk still arrives', async () => {
    const { net, clientChannel, serverChannel, serverSource } = await channelPair({
      chunks: 3000,
      seed: 5,
      net: {
        defaultLink: {
          delayMs: 15,
          jitterMs: 10,
          loss: 0.02,
          reorder: 0.05,
          reorderDelayMs: 30,
          bandwidthBps: 20_000_000,
          queueBytes: 100_000,
        },
      },
      channel: { keyUpdateAfterPackets: 200 },
    });
    net.runFor(60_000);
    expect(serverSource.chunksReceived.size).toBe(3000);
    const client = clientChannel.core;
    const server = serverChannel.core;
    expect(client.keys.stats.updatesStarted).toBeGreaterThanOrEqual(5);
    expect(server.keys.stats.updatesFollowed).toBeGreaterThanOrEqual(5);
    // Packets sealed before a change and overtaken by later ones open under the kept old key.
    expect(server.keys.stats.oldKeyUsed).toBeGreaterThan(0);
    expect(server.stats.authFailed).toBe(0);
    expect(client.stats.authFailed).toBe(0);
    const { keyUpdates } = clientChannel.actor.getSnapshot().context;
    expect(keyUpdates).toBe(client.keys.stats.updatesStarted + client.keys.stats.updatesFollowed);
  });

  it('an idle channel updates its keys when they reach the configured age', async () => {
    const { net, clientChannel, serverChannel } = await channelPair({
      channel: { keyUpdateAfterMs: 10_000 },
    });
    net.runFor(65_000);
    // Keepalives every 5 s carry the update and its acknowledgement.
    expect(clientChannel.core.keys.stats.updatesStarted).toBeGreaterThanOrEqual(5);
    expect(clientChannel.core.linkState).toBe('up');
    expect(serverChannel.core.stats.authFailed).toBe(0);
  });
});
