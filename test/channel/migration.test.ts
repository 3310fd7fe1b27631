import { describe, expect, it } from 'vitest';
import type { LinkState } from '../../src/channel/channel-core.js';
import { AMPLIFICATION_FACTOR } from '../../src/channel/paths.js';
import { isTransportPacketType } from '../../src/channel/packet-codec.js';
import type { SocketAddress } from '../../src/net/datagram-socket.js';
import { SimNetwork } from '../../src/net/sim/network.js';
import type { TraceRecord } from '../../src/net/sim/trace.js';
import { BulkSource } from './fixtures/bulk-source.js';
import { connectBulk, hostSide } from './fixtures/channel-pair.js';

/** A client behind a NAT and a server, the client's source sending `up` chunks, the server's `down`. */
async function natPair(up: number, down: number, onTrace?: (record: TraceRecord) => void) {
  const net = new SimNetwork({
    seed: 7,
    defaultLink: { delayMs: 10, bandwidthBps: 10_000_000, queueBytes: 100_000 },
    onTrace,
  });
  const clientHost = net.addHost({
    name: 'client',
    addresses: ['192.168.1.2'],
    nat: { publicAddress: '203.0.113.7' },
  });
  const serverHost = net.addHost({ name: 'server', addresses: ['10.0.0.2'] });
  const client = hostSide(net, clientHost, 5000, 701, () => new BulkSource(up));
  const server = hostSide(net, serverHost, 443, 702, () => new BulkSource(down));
  return { net, client, server, ...(await connectBulk(net, client, server, 443)) };
}

describe('migration: a channel follows its peer to a new address', () => {
  it('NAT rebinding mid-upload keeps the channel: every chunk arrives on the same channel', async () => {
    const { net, client, server, serverChannel, serverSource } = await natPair(3000, 0);
    net.runFor(300);
    const before = serverChannel.path.address;
    net.natRebind(client.host);
    net.runFor(20_000);
    expect(serverSource.chunksReceived.size).toBe(3000);
    expect(serverChannel.path.address.host).toBe(before.host);
    expect(serverChannel.path.address.port).not.toBe(before.port);
    expect(serverChannel.core.stats).toMatchObject({ migrations: 1, pathsValidated: 1 });
    const machine = serverChannel.actor.getSnapshot();
    expect(machine.matches({ open: { path: 'settled' } })).toBe(true);
    expect(machine.context.path).toBe(`${before.host}:${serverChannel.path.address.port}`);
    expect([...server.channelHost.channels.values()]).toEqual([serverChannel]);
  });

  it('NAT rebinding mid-download: the sender validates the new address and finishes', async () => {
    const { net, client, serverChannel, clientSource } = await natPair(0, 3000);
    net.runFor(300);
    net.natRebind(client.host);
    net.runFor(20_000);
    expect(clientSource.chunksReceived.size).toBe(3000);
    expect(serverChannel.core.stats.migrations).toBe(1);
    expect(serverChannel.core.stats.pathsValidated).toBe(1);
    expect(serverChannel.core.stats.pathValidationsFailed).toBe(0);
  });

  it('a genuine packet replayed from a forged address moves the channel only while the peer proves nothing: at most 3x its size goes there, then the channel is back', async () => {
    const victim: SocketAddress = { host: '198.51.100.9', port: 9 };
    let bytesToVictim = 0;
    const { net, client, server, serverChannel, serverSource } = await natPair(
      2000,
      0,
      (record) => {
        if (record.ev === 'sent' && record.dst === `${victim.host}:${victim.port}`) {
          bytesToVictim += record.len;
        }
      },
    );
    net.runFor(300);
    const socket = client.host.socketAt('192.168.1.2', 5000);
    if (socket === undefined) throw new Error('no client socket');
    const send = socket.send.bind(socket);
    let stolen: Uint8Array | undefined;
    socket.send = (data, to) => {
      // The attacker takes one packet off the wire and replays it from the victim's address.
      if (stolen === undefined && isTransportPacketType(data[0] as number)) stolen = data;
      else send(data, to);
    };
    net.runUntil(() => stolen !== undefined, 1000);
    socket.send = send;
    const real = serverChannel.path;
    server.channelHost.handle(stolen as Uint8Array, victim);
    expect(serverChannel.path.address).toEqual(victim);
    net.runFor(20_000);
    expect(bytesToVictim).toBeGreaterThan(0);
    expect(bytesToVictim).toBeLessThanOrEqual(AMPLIFICATION_FACTOR * (stolen as Uint8Array).length);
    expect(serverChannel.path).toBe(real);
    expect(serverSource.chunksReceived.size).toBe(2000);
    expect(serverChannel.core.stats.pathsValidated).toBe(0);
  });

  it('replays from a forged address, recent or old, are dropped and counted and move nothing', async () => {
    const { net, server, serverChannel } = await natPair(500, 0);
    const seen: Uint8Array[] = [];
    const original = serverChannel.handle.bind(serverChannel);
    serverChannel.handle = (datagram, from, socket) => {
      seen.push(datagram);
      original(datagram, from, socket);
    };
    net.runFor(300);
    const path = serverChannel.path;
    const before = { ...serverChannel.core.stats };
    const forged = { host: '198.51.100.9', port: 9 };
    // The recent one is in the replay window; the old one's truncated number now decodes to
    // another packet number, so it fails authentication instead.
    server.channelHost.handle(seen.at(-1) as Uint8Array, forged);
    server.channelHost.handle(seen[0] as Uint8Array, forged);
    expect(serverChannel.core.stats).toMatchObject({
      replayed: before.replayed + 1,
      authFailed: before.authFailed + 1,
      packetsReceived: before.packetsReceived,
    });
    expect(serverChannel.path).toBe(path);
  });
});

/**
 * A client sending `chunks` to a server with a second address, 10.0.1.2, which the client
 * knows as an alternate endpoint; links of 10 ms each way (`secondDelayMs` to the second).
 */
async function twoAddressServer(options: {
  seed: number;
  chunks: number;
  queueBytes: number;
  secondDelayMs?: number;
}) {
  const { seed, chunks, queueBytes, secondDelayMs = 10 } = options;
  const net = new SimNetwork({
    seed,
    defaultLink: { delayMs: 10, bandwidthBps: 10_000_000, queueBytes },
  });
  const clientHost = net.addHost({ name: 'client', addresses: ['10.0.0.1'] });
  const serverHost = net.addHost({ name: 'server', addresses: ['10.0.0.2', '10.0.1.2'] });
  net.setLink('10.0.0.1', '10.0.1.2', { delayMs: secondDelayMs });
  net.setLink('10.0.1.2', '10.0.0.1', { delayMs: secondDelayMs });
  const client = hostSide(net, clientHost, 5000, seed * 100 + 1, () => new BulkSource(chunks));
  const server = hostSide(
    net,
    serverHost,
    443,
    seed * 100 + 2,
    () => new BulkSource(0),
    undefined,
    [serverHost.bind(443, '10.0.1.2')],
  );
  const pair = await connectBulk(net, client, server, 443, {
    peerEndpoints: [{ host: '10.0.1.2', port: 443 }],
  });
  return { net, ...pair };
}

describe('failover: a channel moves to another endpoint of its peer', () => {
  it('when the path to one server address goes black, the client probes the other and finishes there', async () => {
    const second = { host: '10.0.1.2', port: 443 };
    const { net, clientChannel, serverChannel, serverSource } = await twoAddressServer({
      seed: 11,
      chunks: 4000,
      queueBytes: 100_000,
    });
    const states: LinkState[] = [];
    clientChannel.linkState$.subscribe((state) => states.push(state));
    net.runFor(500);
    net.impairLink('10.0.0.1', '10.0.0.2', { blackhole: true });
    net.impairLink('10.0.0.2', '10.0.0.1', { blackhole: true });
    const cut = net.now();
    net.runUntil(() => clientChannel.core.stats.failovers > 0, 30_000);
    const movedAfter = net.now() - cut;
    net.runFor(30_000);
    expect(serverSource.chunksReceived.size).toBe(4000);
    expect(clientChannel.path.address).toEqual(second);
    expect(serverChannel.path.socket.localAddress).toEqual(second);
    expect(clientChannel.core.stats.failovers).toBe(1);
    expect(states).toEqual(['up', 'stalled', 'up']);
    // Three backed-off probe timeouts at a 20 ms RTT, then one round trip to the other address.
    expect(movedAfter).toBeLessThan(5000);
  });

  it('failing over to another host, the channel learns the new path from scratch: RTT, window and threshold (RFC 9000 §9.4)', async () => {
    const { net, clientChannel, serverSource } = await twoAddressServer({
      seed: 13,
      chunks: 6000,
      queueBytes: 60_000,
      // The second address is far away: 100 ms each way instead of 10.
      secondDelayMs: 100,
    });
    const core = clientChannel.core;
    net.runUntil(() => core.congestion.slowStartThreshold < Number.POSITIVE_INFINITY, 20_000);
    expect(core.recovery.rtt.min).toBeLessThan(30);
    net.impairLink('10.0.0.1', '10.0.0.2', { blackhole: true });
    net.impairLink('10.0.0.2', '10.0.0.1', { blackhole: true });
    net.runUntil(() => core.stats.failovers > 0, 30_000);
    // The old path's queue-filling window and its threshold are gone.
    expect(core.congestion.slowStartThreshold).toBe(Number.POSITIVE_INFINITY);
    expect(core.congestion.window).toBeLessThanOrEqual(10 * core.congestion.maxDatagramSize);
    net.runFor(2000);
    // Its 20 ms minimum would have stayed forever (a minimum never rises): now it is the new
    // path's 200 ms.
    expect(core.recovery.rtt.min).toBeGreaterThanOrEqual(200);
    net.runFor(60_000);
    expect(serverSource.chunksReceived.size).toBe(6000);
  });

  it('with no alternate endpoint the channel stays on its path and reports the link down', async () => {
    const net = new SimNetwork({ seed: 12, defaultLink: { delayMs: 10 } });
    const clientHost = net.addHost({ name: 'client', addresses: ['10.0.0.1'] });
    const serverHost = net.addHost({ name: 'server', addresses: ['10.0.0.2'] });
    const client = hostSide(net, clientHost, 5000, 903, () => new BulkSource(4000));
    const server = hostSide(net, serverHost, 443, 904, () => new BulkSource(0));
    const { clientChannel } = await connectBulk(net, client, server, 443);
    net.runFor(500);
    net.impairLink('10.0.0.1', '10.0.0.2', { blackhole: true });
    net.impairLink('10.0.0.2', '10.0.0.1', { blackhole: true });
    net.runFor(25_000);
    expect(clientChannel.core.linkState).toBe('down');
    expect(clientChannel.core.stats.failovers).toBe(0);
    expect(clientChannel.core.stats.pathChallengesSent).toBe(0);
  });
});
