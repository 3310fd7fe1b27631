import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { InitiatorOutcome } from '../../../src/channel/handshake/initiator.js';
import type { HandshakeResult } from '../../../src/channel/handshake/result.js';
import { PacketType } from '../../../src/channel/handshake/wire.js';
import { Eid } from '../../../src/crypto/eid.js';
import { createNobleSuite } from '../../../src/crypto/noble-suite.js';
import { faultPlanArb } from '../../../src/net/sim/arbitraries.js';
import { applyPlan } from '../../../src/net/sim/faults.js';
import { handshakePair } from './fixtures.js';

function established(outcome: InitiatorOutcome | undefined): HandshakeResult {
  if (outcome?.state !== 'established') {
    throw new Error(`expected established, got ${JSON.stringify(outcome)}`);
  }
  return outcome.result;
}

/** Runs the network until `promise` settles (it settles on virtual time), then returns its value. */
async function settle<T>(net: { runFor(ms: number): void }, promise: Promise<T>, limitMs = 60_000) {
  let value: { v: T } | undefined;
  void promise.then((v) => {
    value = { v };
  });
  for (let elapsed = 0; value === undefined && elapsed < limitMs; elapsed += 50) {
    net.runFor(50);
    await Promise.resolve();
    await Promise.resolve();
  }
  return value?.v;
}

describe('IK handshake on the simulator', () => {
  it('establishes matching keys, crossed channel ids, one handshake hash and both identities', async () => {
    const { net, client, server } = handshakePair({
      server: { accept: () => ({ accept: true, response: new TextEncoder().encode('welcome') }) },
    });
    const request = new TextEncoder().encode('echo/1');
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
      {
        request,
      },
    );
    const mine = established(await settle(net, initiator.outcome));
    expect(server.sessions).toHaveLength(1);
    const theirs = server.sessions[0]?.result as HandshakeResult;
    expect(mine.sendKey).toEqual(theirs.receiveKey);
    expect(mine.receiveKey).toEqual(theirs.sendKey);
    expect(mine.sendKey).not.toEqual(mine.receiveKey);
    expect(mine.localChannelId).toBe(theirs.remoteChannelId);
    expect(mine.remoteChannelId).toBe(theirs.localChannelId);
    expect(mine.handshakeHash).toEqual(theirs.handshakeHash);
    expect(mine.peerPublicKey).toEqual(server.identity.publicKey);
    expect(theirs.peerPublicKey).toEqual(client.identity.publicKey);
    expect(mine.peerEid.equals(Eid.fromPublicKey(server.identity.publicKey))).toBe(true);
    expect(theirs.peerEid.equals(Eid.fromPublicKey(client.identity.publicKey))).toBe(true);
    expect(theirs.peerAddress).toEqual(client.socket.localAddress);
    expect(theirs.request).toEqual(request);
    expect(new TextDecoder().decode(mine.response)).toBe('welcome');
    expect(initiator.actor.getSnapshot().value).toBe('established');
    expect(server.sessions[0]?.actor.getSnapshot().value).toBe('halfOpen');
    server.sessions[0]?.confirm();
    expect(server.sessions[0]?.actor.getSnapshot().value).toBe('established');
  });

  it('cancel before the end cancels; after it, as when an endpoint closes, it changes nothing', async () => {
    const { net, client, server } = handshakePair();
    const pending = client.endpoint.connect(server.identity.publicKey, {
      host: '10.0.0.9',
      port: 1,
    });
    pending.cancel();
    expect((await settle(net, pending.outcome))?.state).toBe('cancelled');
    const done = client.endpoint.connect(server.identity.publicKey, server.socket.localAddress);
    established(await settle(net, done.outcome));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      done.cancel();
      pending.cancel();
      expect(done.actor.getSnapshot().value).toBe('established');
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it('the keys work: what one side seals under its send key the other opens', async () => {
    const { net, client, server } = handshakePair();
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
    );
    const mine = established(await settle(net, initiator.outcome));
    const theirs = server.sessions[0]?.result as HandshakeResult;
    const nonce = new Uint8Array(12);
    const sealed = client.suite.seal(
      mine.sendKey,
      nonce,
      new Uint8Array(0),
      Uint8Array.of(1, 2, 3),
    );
    expect(server.suite.open(theirs.receiveKey, nonce, new Uint8Array(0), sealed)).toEqual(
      Uint8Array.of(1, 2, 3),
    );
  });

  it('a noble initiator and a native responder agree byte for byte', async () => {
    const { net, client, server } = handshakePair({ suites: { client: createNobleSuite } });
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
    );
    const mine = established(await settle(net, initiator.outcome));
    expect(mine.handshakeHash).toEqual(server.sessions[0]?.result.handshakeHash);
    expect(mine.sendKey).toEqual(server.sessions[0]?.result.receiveKey);
  });

  it('pads the INITIATE to 1200 bytes and never answers with more bytes than it received', async () => {
    const { net, client, server } = handshakePair();
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
    );
    established(await settle(net, initiator.outcome));
    expect(client.sent.map((s) => s.packet.length)).toEqual([1200]);
    expect(server.sent.every((s) => s.packet.length <= 1200)).toBe(true);
  });

  it('refuses to answer an acceptance larger than the INITIATE (anti-amplification)', async () => {
    const { net, client, server } = handshakePair({
      server: { accept: () => ({ accept: true, response: new Uint8Array(1000) }) },
    });
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
      { padTo: 0, timeoutMs: 1000 },
    );
    expect(await settle(net, initiator.outcome)).toEqual({ state: 'timedOut' });
    expect(server.sent).toHaveLength(0);
    expect(server.endpoint.responder.stats.tooLarge).toBeGreaterThan(0);
    expect(server.sessions).toHaveLength(0);
  });

  it('an authenticated refusal ends the initiator in rejected, with the reason', async () => {
    const { net, client, server } = handshakePair({
      server: { accept: () => ({ accept: false, reason: 'unknown-service' }) },
    });
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
    );
    expect(await settle(net, initiator.outcome)).toEqual({
      state: 'rejected',
      reason: 'unknown-service',
    });
    expect(server.sessions).toHaveLength(0);
    expect(server.endpoint.responder.stats.rejected).toBe(1);
  });

  it('retransmits with backoff 250, 500, 1000, 2000, 2000 ms and times out at 10 s', async () => {
    const { net, client, server } = handshakePair();
    net.partition([client.host], [server.host]);
    const sendTimes: number[] = [];
    const send = client.socket.send.bind(client.socket);
    client.socket.send = (packet, to) => {
      sendTimes.push(net.now());
      send(packet, to);
    };
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
    );
    const outcome = await settle(net, initiator.outcome);
    expect(outcome).toEqual({ state: 'timedOut' });
    expect(sendTimes).toEqual([0, 250, 750, 1750, 3750, 5750, 7750, 9750]);
    expect(initiator.stats.initiatesSent).toBe(8);
  });

  it('a retransmitted INITIATE gets the cached reply and opens no second session', async () => {
    // The first RESPONSE is lost: the client retransmits the same INITIATE.
    const { net, client, server } = handshakePair();
    net.partition([server.host], [client.host], { oneWay: true });
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
    );
    net.runFor(100);
    expect(server.sessions).toHaveLength(1);
    net.heal([server.host], [client.host]);
    const mine = established(await settle(net, initiator.outcome));
    expect(server.sessions).toHaveLength(1);
    expect(server.endpoint.responder.stats.retransmissions).toBe(1);
    expect(server.sent[1]?.packet).toEqual(server.sent[0]?.packet);
    expect(mine.handshakeHash).toEqual(server.sessions[0]?.result.handshakeHash);
  });

  it('a fresh INITIATE every 5 s completes even after the responder forgot the first session', async () => {
    const { net, client, server } = handshakePair({ server: { halfOpenTimeoutMs: 1000 } });
    net.partition([server.host], [client.host], { oneWay: true });
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
      {
        timeoutMs: 30_000,
      },
    );
    net.runFor(8000);
    net.heal([server.host], [client.host]);
    const mine = established(await settle(net, initiator.outcome));
    const distinct = new Set(client.sent.map((s) => s.packet.subarray(8, 40).join()));
    expect(distinct.size).toBeGreaterThan(1);
    expect(server.sessions.map((s) => s.result.handshakeHash)).toContainEqual(mine.handshakeHash);
    // Resends of an INITIATE whose session had expired were refused as stale, as they must be.
    expect(server.endpoint.responder.stats.replayed).toBeGreaterThan(0);
  });

  it('a captured INITIATE replayed later opens no second session', async () => {
    const { net, client, server } = handshakePair();
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
    );
    established(await settle(net, initiator.outcome));
    server.sessions[0]?.confirm();
    const captured = client.sent[0]?.packet as Uint8Array;
    const attacker = net.addHost({ name: 'attacker', addresses: ['10.0.0.66'] }).bind(9);
    attacker.send(captured, server.socket.localAddress);
    net.runFor(1000);
    expect(server.sessions).toHaveLength(1);
    expect(server.endpoint.responder.stats.replayed).toBe(1);
    expect(server.sent).toHaveLength(1);
  });

  it('a later handshake from the same identity is fresh and opens a new session', async () => {
    const { net, client, server } = handshakePair();
    const first = client.endpoint.connect(server.identity.publicKey, server.socket.localAddress);
    established(await settle(net, first.outcome));
    const second = client.endpoint.connect(server.identity.publicKey, server.socket.localAddress);
    established(await settle(net, second.outcome));
    expect(server.sessions).toHaveLength(2);
    expect(first.channelId).not.toBe(second.channelId);
  });

  it('a wrong responder key never establishes: the responder drops it at mac1', async () => {
    const { net, client, server } = handshakePair();
    const wrong = client.suite.generateKeyPair().publicKey;
    const initiator = client.endpoint.connect(wrong, server.socket.localAddress, {
      timeoutMs: 3000,
    });
    expect(await settle(net, initiator.outcome)).toEqual({ state: 'timedOut' });
    expect(server.sessions).toHaveLength(0);
    expect(server.endpoint.responder.stats.badMac1).toBe(initiator.stats.initiatesSent);
  });

  it('responses that fail authentication end in authenticationFailed, not timedOut', async () => {
    // Something at the server's address answers with RESPONSEs that do not authenticate.
    const { net, client, server } = handshakePair();
    server.socket.onReceive((packet, from) => {
      const reply = new Uint8Array(72);
      reply.set(packet.subarray(0, 8));
      reply[0] = PacketType.response;
      reply.fill(7, 8);
      server.socket.send(reply, from);
    });
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
      {
        timeoutMs: 2000,
      },
    );
    expect(await settle(net, initiator.outcome)).toEqual({ state: 'authenticationFailed' });
    expect(initiator.stats.dropped).toBeGreaterThan(0);
  });

  it('property: any bit flipped in an INITIATE is dropped and opens no session', () => {
    const { net, client, server } = handshakePair();
    client.endpoint.connect(server.identity.publicKey, server.socket.localAddress, {
      timeoutMs: 100_000,
    });
    net.partition([client.host], [server.host]);
    const original = client.sent[0]?.packet as Uint8Array;
    fc.assert(
      fc.property(fc.nat(original.length * 8 - 1), (bit) => {
        const flipped = original.slice();
        flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
        const before = server.sessions.length;
        server.endpoint.handle(flipped, client.socket.localAddress);
        expect(server.sessions.length).toBe(before);
      }),
      { numRuns: 300 },
    );
    const { stats } = server.endpoint.responder;
    expect(stats.accepted).toBe(0);
    // A damaged mac2 earns a cookie reply (it looks like a stale cookie) and nothing more.
    expect(stats.malformed + stats.badMac1 + stats.authFailed + stats.cookiesSent).toBe(
      stats.received,
    );
    // The untouched INITIATE still works: nothing was remembered from the forgeries.
    server.endpoint.handle(original, client.socket.localAddress);
    expect(server.sessions).toHaveLength(1);
  });

  it('property: any bit flipped in a RESPONSE is dropped, and the genuine one still completes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), async (pick) => {
        const { net, client, server } = handshakePair();
        net.partition([server.host], [client.host], { oneWay: true });
        const initiator = client.endpoint.connect(
          server.identity.publicKey,
          server.socket.localAddress,
        );
        net.runFor(10);
        const response = server.sent[0]?.packet as Uint8Array;
        const bit = pick % (response.length * 8);
        const flipped = response.slice();
        flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
        initiator.handle(flipped, server.socket.localAddress);
        expect(initiator.actor.getSnapshot().value).not.toBe('established');
        initiator.handle(response, server.socket.localAddress);
        expect(initiator.actor.getSnapshot().value).toBe('established');
        expect(established(await initiator.outcome).handshakeHash).toEqual(
          server.sessions[0]?.result.handshakeHash,
        );
      }),
      { numRuns: 60 },
    );
  });

  it('half-open sessions expire when never confirmed, and release their channel id', async () => {
    const { net, client, server } = handshakePair({ server: { halfOpenTimeoutMs: 2000 } });
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
    );
    established(await settle(net, initiator.outcome));
    expect(server.endpoint.responder.halfOpenCount).toBe(1);
    net.runFor(2000);
    expect(server.sessions[0]?.actor.getSnapshot().value).toBe('expired');
    expect(server.endpoint.responder.halfOpenCount).toBe(0);
  });

  it('garbage from the network is counted, never thrown', () => {
    const { client, server } = handshakePair();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), (junk) => {
        server.endpoint.handle(junk, client.socket.localAddress);
        client.endpoint.handle(junk, server.socket.localAddress);
      }),
      { numRuns: 500 },
    );
    expect(server.sessions).toHaveLength(0);
  });
});

describe('cookies under load', () => {
  it('past the threshold the responder answers with cookies, and every initiator still completes', async () => {
    const { net, client, server } = handshakePair({
      server: { cookieThresholdPerSecond: 3 },
    });
    const initiators = Array.from({ length: 12 }, () =>
      client.endpoint.connect(server.identity.publicKey, server.socket.localAddress),
    );
    const outcomes = await settle(net, Promise.all(initiators.map((i) => i.outcome)));
    expect(outcomes?.map((o) => o.state)).toEqual(Array(12).fill('established'));
    const { stats } = server.endpoint.responder;
    expect(stats.cookiesSent).toBeGreaterThan(0);
    expect(stats.accepted).toBe(12);
    expect(initiators.some((i) => i.stats.cookiesReceived > 0)).toBe(true);
    // A cookie reply is far smaller than the INITIATE that asked for it.
    const cookies = server.sent.filter((s) => s.packet[0] === PacketType.cookie);
    expect(cookies.length).toBe(stats.cookiesSent);
    expect(cookies.every((c) => c.packet.length === 52)).toBe(true);
  });

  it('a cookie is bound to the address: another address must get its own', async () => {
    const { net, client, server } = handshakePair({
      server: { cookieThresholdPerSecond: 1 },
    });
    const first = client.endpoint.connect(server.identity.publicKey, server.socket.localAddress);
    established(await settle(net, first.outcome));
    const second = client.endpoint.connect(server.identity.publicKey, server.socket.localAddress);
    established(await settle(net, second.outcome));
    expect(second.stats.cookiesReceived).toBe(1);
    server.sessions[1]?.close();
    // The second INITIATE, with its valid mac2, from another address earns only a cookie reply;
    // from the right address it passes the cookie check and is refused as a replay.
    const withCookie = client.sent.at(-1)?.packet as Uint8Array;
    const sentBefore = server.sent.length;
    server.endpoint.handle(withCookie, { host: '10.0.0.99', port: 1 });
    expect(server.sent.length).toBe(sentBefore + 1);
    expect(server.sent.at(-1)?.packet[0]).toBe(PacketType.cookie);
    server.endpoint.handle(withCookie, client.socket.localAddress);
    expect(server.endpoint.responder.stats.replayed).toBe(1);
  });

  it('a forged cookie reply is dropped', async () => {
    const { net, client, server } = handshakePair();
    net.partition([client.host], [server.host]);
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
    );
    const forged = new Uint8Array(52);
    forged.set(client.sent[0]?.packet.subarray(0, 8) as Uint8Array);
    forged[0] = PacketType.cookie;
    initiator.handle(forged, server.socket.localAddress);
    expect(initiator.stats).toMatchObject({ cookiesReceived: 0, dropped: 1 });
    net.runFor(100);
  });
});

describe('handshake under faults', () => {
  it('property: completes under any fault plan that heals, with loss below 50 %', async () => {
    await fc.assert(
      fc.asyncProperty(
        faultPlanArb({
          hosts: ['client', 'server'],
          durationMs: 4000,
          kinds: ['partition', 'heal', 'impair'],
          link: { maxLoss: 0.49, maxDelayMs: 100 },
          maxEvents: 6,
        }),
        fc.double({ min: 0, max: 0.49, noNaN: true }),
        fc.integer({ min: 1, max: 1000 }),
        async (plan, loss, seed) => {
          const { net, client, server } = handshakePair({
            seed,
            net: { defaultLink: { delayMs: 20, loss } },
          });
          applyPlan(net, plan);
          const initiator = client.endpoint.connect(
            server.identity.publicKey,
            server.socket.localAddress,
            { timeoutMs: 120_000 },
          );
          const mine = established(await settle(net, initiator.outcome, 130_000));
          expect(server.sessions.map((s) => s.result.handshakeHash)).toContainEqual(
            mine.handshakeHash,
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('handshake determinism', () => {
  it('the same seed gives the same trace, packets and keys included', async () => {
    const scenario = (seed: number) => async () => {
      const { net, client, server } = handshakePair({
        seed,
        net: { defaultLink: { delayMs: 15, jitterMs: 10, loss: 0.3 } },
      });
      const initiator = client.endpoint.connect(
        server.identity.publicKey,
        server.socket.localAddress,
      );
      const outcome = established(await settle(net, initiator.outcome));
      net.trace.record('test', 'established', {
        hash: Buffer.from(outcome.handshakeHash).toString('hex'),
      });
      return net.trace.hash;
    };
    expect(await scenario(4)()).toBe(await scenario(4)());
    expect(await scenario(4)()).not.toBe(await scenario(5)());
  });
});
