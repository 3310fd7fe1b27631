import { createNativeSuite } from '../../../src/crypto/native-suite.js';
import type { CryptoSuite, KeyPair } from '../../../src/crypto/suite.js';
import {
  HandshakeEndpoint,
  type HandshakeEndpointOptions,
} from '../../../src/channel/handshake/endpoint.js';
import type { ResponderSession } from '../../../src/channel/handshake/responder.js';
import type { DatagramSocket, SocketAddress } from '../../../src/net/datagram-socket.js';
import { seededRandom } from '../../../src/net/random.js';
import { SimNetwork, type SimNetworkOptions } from '../../../src/net/sim/network.js';
import type { SimHost } from '../../../src/net/sim/sim-host.js';

/** Wall-clock origin of simulated runs: any fixed instant will do. */
export const EPOCH_MS = 1_790_000_000_000;

export type EndpointOverrides = Partial<
  Omit<HandshakeEndpointOptions, 'suite' | 'clock' | 'identity' | 'socket' | 'wallClockMs'>
>;

export interface Side {
  readonly host: SimHost;
  readonly socket: DatagramSocket;
  readonly suite: CryptoSuite;
  readonly identity: KeyPair;
  readonly endpoint: HandshakeEndpoint;
  readonly sessions: ResponderSession[];
  /** Every datagram this side sent, with its destination. */
  readonly sent: { packet: Uint8Array; to: SocketAddress }[];
}

export interface PairOptions {
  readonly seed?: number;
  readonly net?: Omit<SimNetworkOptions, 'seed'>;
  readonly client?: EndpointOverrides;
  readonly server?: EndpointOverrides;
  /** Suite factory per side (native by default). */
  readonly suites?: { client?: typeof createNativeSuite; server?: typeof createNativeSuite };
}

/** Two hosts, `client` (10.0.0.1) and `server` (10.0.0.2), each with a handshake endpoint. */
export function handshakePair(options: PairOptions = {}) {
  const seed = options.seed ?? 1;
  const net = new SimNetwork({ ...options.net, seed });
  const side = (
    name: string,
    address: string,
    port: number,
    index: number,
    make = createNativeSuite,
    overrides: EndpointOverrides = {},
  ): Side => {
    const host = net.addHost({ name, addresses: [address] });
    const raw = host.bind(port);
    const sent: Side['sent'] = [];
    const socket: DatagramSocket = {
      localAddress: raw.localAddress,
      get closed() {
        return raw.closed;
      },
      send(packet, to) {
        sent.push({ packet: packet.slice(), to });
        raw.send(packet, to);
      },
      onReceive: (handler) => raw.onReceive(handler),
      close: () => raw.close(),
    };
    const suite = make(seededRandom(seed * 100 + index));
    const identity = suite.generateKeyPair();
    const sessions: ResponderSession[] = [];
    const endpoint = new HandshakeEndpoint({
      ...overrides,
      suite,
      clock: host.clock,
      identity,
      socket,
      wallClockMs: () => EPOCH_MS + net.now(),
      onSession: (session) => {
        sessions.push(session);
        overrides.onSession?.(session, socket);
      },
    });
    return { host, socket, suite, identity, endpoint, sessions, sent };
  };
  const client = side('client', '10.0.0.1', 5000, 1, options.suites?.client, options.client);
  const server = side('server', '10.0.0.2', 443, 2, options.suites?.server, options.server);
  return { net, client, server };
}
