import { describe, expect, it } from 'vitest';
import { Channel } from '../../src/channel/channel.js';
import { HandshakeEndpoint } from '../../src/channel/handshake/endpoint.js';
import type { HandshakeResult } from '../../src/channel/handshake/result.js';
import { readHeader } from '../../src/channel/packet-codec.js';
import { createNativeSuite } from '../../src/crypto/native-suite.js';
import { seededRandom } from '../../src/net/random.js';
import { SimNetwork } from '../../src/net/sim/network.js';
import type { SimHost } from '../../src/net/sim/sim-host.js';
import { BulkSource } from './fixtures/bulk-source.js';

/** A channel between `client` and `server` on its own pair of ports, sending bulk data. */
async function bulkChannel(
  net: SimNetwork,
  client: SimHost,
  server: SimHost,
  port: number,
  congestionControl: 'newreno' | 'cubic',
) {
  const side = (host: SimHost, seed: number) => {
    const suite = createNativeSuite(seededRandom(seed));
    const identity = suite.generateKeyPair();
    const socket = host.bind(port);
    const sessions: HandshakeResult[] = [];
    const endpoint = new HandshakeEndpoint({
      suite,
      clock: host.clock,
      identity,
      socket,
      wallClockMs: () => 1_790_000_000_000 + net.now(),
      onSession: (session) => {
        sessions.push(session.result);
        session.confirm();
      },
    });
    return { host, suite, identity, socket, endpoint, sessions };
  };
  const a = side(client, port);
  const b = side(server, port + 1);
  const initiator = a.endpoint.connect(b.identity.publicKey, b.socket.localAddress);
  let result: HandshakeResult | undefined;
  void initiator.outcome.then((o) => {
    if (o.state === 'established') result = o.result;
  });
  for (let i = 0; i < 100 && result === undefined; i++) {
    net.runFor(50);
    await Promise.resolve();
  }
  const responder = b.sessions[0];
  if (result === undefined || responder === undefined) throw new Error('no handshake');
  const sender = new BulkSource(1_000_000);
  const receiver = new BulkSource(0);
  const make = (s: typeof a, handshake: HandshakeResult, source: BulkSource) => {
    const channel = new Channel({
      suite: s.suite,
      clock: s.host.clock,
      socket: s.socket,
      handshake,
      source,
      congestionControl,
    });
    s.socket.onReceive((packet, from) => {
      if (readHeader(packet) === null) s.endpoint.handle(packet, from);
      else channel.handle(packet);
    });
    return channel;
  };
  const out = make(a, result, sender);
  make(b, responder, receiver);
  out.flush();
  return receiver;
}

describe('congestion control on a shared bottleneck', () => {
  it.each(['newreno', 'cubic'] as const)(
    'two %s channels through one 4 Mbit/s drop-tail link converge to a fair share',
    async (congestionControl) => {
      const net = new SimNetwork({
        seed: 7,
        defaultLink: { delayMs: 15, bandwidthBps: 4_000_000, queueBytes: 40_000 },
      });
      const client = net.addHost({ name: 'client', addresses: ['10.0.0.1'] });
      const server = net.addHost({ name: 'server', addresses: ['10.0.0.2'] });
      const first = await bulkChannel(net, client, server, 1000, congestionControl);
      net.runFor(3000);
      const second = await bulkChannel(net, client, server, 2000, congestionControl);
      net.runFor(10_000);
      const [a0, b0] = [first.bytesReceived, second.bytesReceived];
      net.runFor(30_000);
      const a = first.bytesReceived - a0;
      const b = second.bytesReceived - b0;
      const share = Math.min(a, b) / (a + b);
      expect(share, `share of the smaller: ${share.toFixed(3)}`).toBeGreaterThanOrEqual(0.45);
      // Together they still fill the link (1000-byte chunks in ~1050-byte datagrams).
      expect(((a + b) * 8) / 30 / 4_000_000).toBeGreaterThan(0.85);
    },
  );
});
