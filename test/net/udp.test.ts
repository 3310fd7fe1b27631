import { afterEach, describe, expect, it } from 'vitest';
import {
  MAX_UDP_PAYLOAD_IPV4,
  MAX_UDP_PAYLOAD_IPV6,
  type SocketAddress,
} from '../../src/net/datagram-socket.js';
import {
  DatagramTooLargeError,
  InvalidParameterError,
  SocketBindError,
  SocketClosedError,
} from '../../src/net/errors.js';
import { type UdpBindOptions, UdpSocket } from '../../src/net/udp.js';

const open: UdpSocket[] = [];

async function bind(options: UdpBindOptions = {}): Promise<UdpSocket> {
  const socket = await UdpSocket.bind(options);
  open.push(socket);
  return socket;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((socket) => socket.close()));
});

interface Arrival {
  readonly data: Uint8Array;
  readonly from: SocketAddress;
}

/**
 * Resolves with the first `count` datagrams `socket` receives, or rejects after `timeoutMs` so
 * that a lost loopback datagram fails the test instead of hanging it.
 */
function receive(socket: UdpSocket, count: number, timeoutMs = 2000): Promise<Arrival[]> {
  return new Promise((resolve, reject) => {
    const arrivals: Arrival[] = [];
    const timer = setTimeout(
      () => reject(new Error(`received ${arrivals.length} of ${count} datagrams`)),
      timeoutMs,
    );
    socket.onReceive((data, from) => {
      arrivals.push({ data: Uint8Array.from(data), from });
      if (arrivals.length === count) {
        clearTimeout(timer);
        resolve(arrivals);
      }
    });
  });
}

function pattern(size: number, salt = 0): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + salt) & 0xff;
  return data;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

describe.each([
  { family: 'IPv4', host: '127.0.0.1', limit: MAX_UDP_PAYLOAD_IPV4 },
  { family: 'IPv6', host: '::1', limit: MAX_UDP_PAYLOAD_IPV6 },
])('UdpSocket on $host ($family)', ({ host, limit }) => {
  it('binds an ephemeral port and reports it as its local address', async () => {
    const socket = await bind({ host });
    expect(socket.localAddress.host).toBe(host);
    expect(socket.localAddress.port).toBeGreaterThan(0);
  });

  it('echoes a datagram between two sockets, with the sender address as seen by the peer', async () => {
    const a = await bind({ host });
    const b = await bind({ host });
    b.onReceive((data, from) => b.send(Uint8Array.from(data), from));
    const arrivals = receive(a, 1);
    a.send(pattern(1200), b.localAddress);
    const [echo] = await arrivals;
    expect(echo?.data).toEqual(pattern(1200));
    expect(echo?.from).toEqual(b.localAddress);
    expect(a.stats).toMatchObject({ datagramsSent: 1, bytesSent: 1200, datagramsReceived: 1 });
    expect(b.stats).toMatchObject({ datagramsSent: 1, datagramsReceived: 1, bytesReceived: 1200 });
  });

  it(`carries the largest datagram of its family (${limit} bytes) intact`, async () => {
    const a = await bind({ host, sendBufferSize: 1 << 18 });
    const b = await bind({ host, recvBufferSize: 1 << 18 });
    const arrivals = receive(b, 1);
    a.send(pattern(limit, 7), b.localAddress);
    const [arrival] = await arrivals;
    expect(arrival?.data).toEqual(pattern(limit, 7));
  });

  it(`rejects a datagram of ${limit + 1} bytes with a typed error, before sending`, async () => {
    const a = await bind({ host });
    const b = await bind({ host });
    const error = (() => {
      try {
        a.send(new Uint8Array(limit + 1), b.localAddress);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(DatagramTooLargeError);
    expect(error).toMatchObject({ code: 'datagram-too-large', size: limit + 1, limit });
    expect(a.stats.datagramsSent).toBe(0);
  });

  it('hands a datagram to the system within send: one sent just before close still leaves', async () => {
    const a = await UdpSocket.bind({ host });
    const b = await bind({ host });
    const arrivals = receive(b, 1);
    a.send(pattern(300, 3), b.localAddress);
    // Nothing waits in the socket's queue: the caller's buffer is its own again.
    expect(a.sendQueueEmpty).toBe(true);
    const closing = a.close();
    expect(a.sendQueueEmpty).toBe(true);
    const [arrival] = await arrivals;
    expect(arrival?.data).toEqual(pattern(300, 3));
    await closing;
    expect(a.sendQueueEmpty).toBe(true);
  });

  it('delivers 200 datagrams sent back to back, each intact', async () => {
    const a = await bind({ host });
    const b = await bind({ host, recvBufferSize: 1 << 20 });
    const arrivals = receive(b, 200, 5000);
    for (let i = 0; i < 200; i++) a.send(pattern(500, i), b.localAddress);
    const received = await arrivals;
    const salts = received.map((arrival) => arrival.data[0] as number).sort((x, y) => x - y);
    expect(salts).toEqual(Array.from({ length: 200 }, (_, i) => i & 0xff).sort((x, y) => x - y));
    for (const arrival of received) {
      expect(arrival.data).toEqual(pattern(500, arrival.data[0]));
    }
  });

  it('runs afterDeliveries tasks, each once, after the last datagram of a burst read in one go', async () => {
    const a = await bind({ host });
    const b = await bind({ host, recvBufferSize: 1 << 20 });
    const seen: number[] = [];
    let tasks = 0;
    const after = new Promise<number[]>((resolve) => {
      b.onReceive((data) => {
        seen.push(data[0] as number);
        // Every delivery queues a task; the first to run already sees the whole burst.
        b.afterDeliveries(() => {
          tasks++;
          resolve([...seen]);
        });
      });
    });
    // Sent within one turn, the whole burst waits in the system before the receiver reads.
    for (let i = 0; i < 20; i++) a.send(pattern(100, i), b.localAddress);
    expect(await after).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(tasks).toBe(20);
    await new Promise((resolve) => setImmediate(resolve));
    expect(tasks).toBe(20);
  });

  it('fails with EADDRINUSE when the port is taken', async () => {
    const first = await bind({ host });
    const error = await rejection(UdpSocket.bind({ host, port: first.localAddress.port }));
    expect(error).toBeInstanceOf(SocketBindError);
    expect(error).toMatchObject({
      code: 'bind-failed',
      reason: 'EADDRINUSE',
      host,
      port: first.localAddress.port,
    });
  });
});

describe('UdpSocket binding', () => {
  it('fails with EADDRNOTAVAIL for an address no interface has', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a host.
    const error = await rejection(UdpSocket.bind({ host: '192.0.2.1' }));
    expect(error).toBeInstanceOf(SocketBindError);
    expect(error).toMatchObject({ reason: 'EADDRNOTAVAIL', host: '192.0.2.1', port: 0 });
  });

  it.each([
    [{ host: 'localhost' }, 'host'],
    [{ host: '' }, 'host'],
    [{ port: -1 }, 'port'],
    [{ port: 65536 }, 'port'],
    [{ port: 1.5 }, 'port'],
    [{ recvBufferSize: 0 }, 'recvBufferSize'],
    [{ sendBufferSize: -4096 }, 'sendBufferSize'],
    [{ sendBufferSize: Number.NaN }, 'sendBufferSize'],
  ] as const)('rejects %o naming parameter %s', async (options, parameter) => {
    const error = await rejection(UdpSocket.bind(options));
    expect(error).toBeInstanceOf(InvalidParameterError);
    expect(error).toMatchObject({ code: 'invalid-parameter', parameter });
  });

  it('grants at least the requested kernel buffer sizes', async () => {
    const requested = 64 * 1024;
    const socket = await bind({ recvBufferSize: requested, sendBufferSize: requested });
    expect(socket.recvBufferSize).toBeGreaterThanOrEqual(requested);
    expect(socket.sendBufferSize).toBeGreaterThanOrEqual(requested);
  });

  it('accepts IPv4-mapped peers on a dual-stack socket and refuses them with ipv6Only', async () => {
    const dual = await bind({ host: '::' });
    const v4 = await bind({ host: '127.0.0.1' });
    const arrivals = receive(dual, 1);
    v4.send(pattern(10), { host: '127.0.0.1', port: dual.localAddress.port });
    const [arrival] = await arrivals;
    expect(arrival?.from).toEqual({ host: '::ffff:127.0.0.1', port: v4.localAddress.port });

    const v6only = await bind({ host: '::', ipv6Only: true });
    const mapped = await bind({ host: '127.0.0.1', port: v6only.localAddress.port });
    expect(mapped.localAddress.port).toBe(v6only.localAddress.port);
  });
});

describe('UdpSocket send validation', () => {
  it.each([
    [{ host: 'example.com', port: 9 }, 'to.host'],
    [{ host: '::1', port: 9 }, 'to.host'],
    [{ host: '127.0.0.1', port: 0 }, 'to.port'],
    [{ host: '127.0.0.1', port: 70000 }, 'to.port'],
  ] as const)('an IPv4 socket rejects destination %o naming %s', async (to, parameter) => {
    const socket = await bind();
    expect(() => socket.send(new Uint8Array(1), to)).toThrow(
      expect.objectContaining({ code: 'invalid-parameter', parameter }),
    );
    expect(socket.stats.datagramsSent).toBe(0);
  });
});

describe('UdpSocket close', () => {
  it('is idempotent, refuses later sends and releases the port', async () => {
    const socket = await UdpSocket.bind();
    const { port } = socket.localAddress;
    const first = socket.close();
    expect(socket.closed).toBe(true);
    expect(socket.close()).toBe(first);
    await first;
    expect(() => socket.send(new Uint8Array(1), { host: '127.0.0.1', port })).toThrow(
      SocketClosedError,
    );
    const again = await bind({ port });
    expect(again.localAddress.port).toBe(port);
  });

  it('stops delivering to the handler once closed', async () => {
    const receiver = await UdpSocket.bind();
    const sender = await bind();
    let delivered = 0;
    receiver.onReceive(() => delivered++);
    await receiver.close();
    sender.send(pattern(10), receiver.localAddress);
    // Give a stray datagram a chance to arrive on a live event loop before checking.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(delivered).toBe(0);
  });

  it('stops calling a handler that was cleared with onReceive(null)', async () => {
    const a = await bind();
    const b = await bind();
    let calls = 0;
    b.onReceive(() => calls++);
    b.onReceive(null);
    const witness = await bind();
    const arrived = receive(witness, 1);
    a.send(pattern(10), b.localAddress);
    a.send(pattern(10), witness.localAddress);
    await arrived;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toBe(0);
    expect(b.stats.datagramsReceived).toBe(1);
  });
});
