import { afterEach, describe, expect, it } from 'vitest';
import { HandshakeEndpoint } from '../../../src/channel/handshake/endpoint.js';
import type { ResponderSession } from '../../../src/channel/handshake/responder.js';
import { Identity } from '../../../src/crypto/identity.js';
import { createNativeSuite } from '../../../src/crypto/native-suite.js';
import { RealClock } from '../../../src/net/clock.js';
import { UdpSocket } from '../../../src/net/udp.js';

const sockets: UdpSocket[] = [];
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
});

describe.each(['127.0.0.1', '::1'])('IK handshake over real UDP on %s', (host) => {
  it('establishes with production parts: node:dgram, real clock, platform randomness', async () => {
    const suite = createNativeSuite();
    const clock = new RealClock();
    const make = async (onSession?: (session: ResponderSession) => void) => {
      const socket = await UdpSocket.bind({ host });
      sockets.push(socket);
      const identity = Identity.generate(suite);
      const endpoint = new HandshakeEndpoint({
        suite,
        clock,
        identity: identity.keyPair(),
        socket,
        wallClockMs: Date.now,
        onSession,
      });
      return { socket, identity, endpoint };
    };
    const sessions: ResponderSession[] = [];
    const server = await make((session) => sessions.push(session));
    const client = await make();
    const initiator = client.endpoint.connect(
      server.identity.publicKey,
      server.socket.localAddress,
      { timeoutMs: 5000 },
    );
    const outcome = await initiator.outcome;
    expect(outcome.state).toBe('established');
    if (outcome.state !== 'established') return;
    expect(outcome.result.peerEid.equals(server.identity.eid)).toBe(true);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.result.peerEid.equals(client.identity.eid)).toBe(true);
    expect(outcome.result.sendKey).toEqual(sessions[0]?.result.receiveKey);
    sessions[0]?.close();
  });
});
