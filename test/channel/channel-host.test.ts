import { describe, expect, it } from 'vitest';
import { ConnectError } from '../../src/channel/channel-host.js';
import { createNativeSuite } from '../../src/crypto/native-suite.js';
import { seededRandom } from '../../src/net/random.js';
import { SimNetwork } from '../../src/net/sim/network.js';
import { BulkSource } from './fixtures/bulk-source.js';
import { hostSide, settle } from './fixtures/channel-pair.js';

function hosts(chunks: number) {
  const net = new SimNetwork({ seed: 11, defaultLink: { delayMs: 10 } });
  const clientHost = net.addHost({ name: 'client', addresses: ['10.0.0.1'] });
  const serverHost = net.addHost({ name: 'server', addresses: ['10.0.0.2'] });
  const client = hostSide(net, clientHost, 4433, 1, () => new BulkSource(chunks));
  const server = hostSide(net, serverHost, 4433, 2, () => new BulkSource(0));
  return { net, client, server: { ...server, identity: { publicKey: server.publicKey } } };
}

describe('ChannelHost', () => {
  it('connects by EID, opens the channel on both sides and confirms the responder at once', async () => {
    const { net, client, server } = hosts(300);
    const channel = await settle(
      net,
      client.channelHost.connect(server.identity.publicKey, { host: '10.0.0.2', port: 4433 }),
    );
    net.runFor(100);
    expect(server.opened).toHaveLength(1);
    expect(server.channelHost.endpoint.responder.halfOpenCount).toBe(0);
    net.runFor(10_000);
    expect(server.sources[0]?.chunksReceived.size).toBe(300);
    expect([...client.channelHost.channels.values()]).toEqual([channel]);
  });

  it('drops and counts datagrams for unknown channels and garbage, per host', async () => {
    const { net, client, server } = hosts(0);
    await settle(
      net,
      client.channelHost.connect(server.identity.publicKey, { host: '10.0.0.2', port: 4433 }),
    );
    const stray = new Uint8Array(64);
    stray[0] = 0x10;
    stray[4] = 0x7f; // channel id 0x0000007f: nobody's
    server.channelHost.handle(stray, { host: '10.0.0.9', port: 1 });
    server.channelHost.handle(Uint8Array.of(0xff, 1, 2), { host: '10.0.0.9', port: 1 });
    expect(server.channelHost.stats).toMatchObject({ unknownChannel: 1, malformed: 1 });
    expect(server.opened[0]?.core.closed).toBe(false);
  });

  it('a failed connect rejects with a typed error naming the final state', async () => {
    const { net, client } = hosts(0);
    const wrong = createNativeSuite(seededRandom(99)).generateKeyPair().publicKey;
    const error = await settle(
      net,
      client.channelHost
        .connect(wrong, { host: '10.0.0.2', port: 4433 }, { timeoutMs: 2000 })
        .catch((e: unknown) => e),
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ code: 'connect-failed', state: 'timedOut' });
  });

  it('a closed channel leaves the table on both sides', async () => {
    const { net, client, server } = hosts(0);
    const channel = await settle(
      net,
      client.channelHost.connect(server.identity.publicKey, { host: '10.0.0.2', port: 4433 }),
    );
    net.runFor(100);
    channel.close();
    net.runFor(1000);
    await Promise.resolve();
    expect(client.channelHost.channels.size).toBe(0);
    expect(server.channelHost.channels.size).toBe(0);
    expect(await server.opened[0]?.closed).toMatchObject({ by: 'peer' });
  });

  it('a channel closed with packets in flight gives every one of them back to its source as lost', async () => {
    const { net, client, server } = hosts(2000);
    const channel = await settle(
      net,
      client.channelHost.connect(server.identity.publicKey, { host: '10.0.0.2', port: 4433 }),
    );
    net.runFor(25);
    const source = client.sources[0] as BulkSource;
    expect(channel.core.recovery.outstanding).toBeGreaterThan(0);
    channel.close();
    const unsettled = Array.from({ length: source.transmissions }, (_, t) => t).filter(
      (t) => !source.acked.has(t) && !source.lost.has(t),
    );
    expect(unsettled).toEqual([]);
    net.runFor(1000);
    expect([...source.acked].filter((t) => source.lost.has(t))).toEqual([]);
  });
});
