import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DatagramTooLargeError,
  InvalidParameterError,
  SocketClosedError,
} from '../../../src/net/errors.js';
import { SimNetwork } from '../../../src/net/sim/network.js';
import { collect, numbered, sequenceOf } from './fixtures.js';

function pair(seed = 1) {
  const net = new SimNetwork({ seed, defaultLink: { delayMs: 10 } });
  const a = net.addHost({ name: 'a', addresses: ['10.0.0.1'] });
  const b = net.addHost({ name: 'b', addresses: ['10.0.0.2'] });
  const sa = a.bind(1000);
  const sb = b.bind(2000);
  return {
    net,
    a,
    b,
    sa,
    sb,
    atA: collect(sa, () => net.now()),
    atB: collect(sb, () => net.now()),
  };
}

describe('SimNetwork delivery', () => {
  it('delivers a private copy after the link delay, from the sender address', () => {
    const { net, sa, sb, atB } = pair();
    const data = numbered(7);
    sa.send(data, sb.localAddress);
    data[0] = 0xff;
    net.runUntilIdle();
    expect(atB).toHaveLength(1);
    expect(atB[0]?.at).toBe(10);
    expect(atB[0]?.from).toEqual({ host: '10.0.0.1', port: 1000 });
    expect(sequenceOf(atB[0]?.data as Uint8Array)).toBe(7);
    expect(net.stats).toMatchObject({ sent: 1, delivered: 1 });
  });

  it('drops and traces a datagram to an address nobody has, as UDP does, without throwing', () => {
    const { net, sa } = pair();
    expect(() => sa.send(numbered(1), { host: '192.0.2.99', port: 9 })).not.toThrow();
    net.runUntilIdle();
    expect(net.stats.dropped['no-route']).toBe(1);
  });

  it('drops and traces a datagram to a port nobody bound', () => {
    const { net, sa } = pair();
    sa.send(numbered(1), { host: '10.0.0.2', port: 9 });
    net.runUntilIdle();
    expect(net.stats.dropped['no-socket']).toBe(1);
  });

  it('rejects at send a datagram larger than UDP carries, per address family', () => {
    const net = new SimNetwork({ seed: 1 });
    const v6 = net.addHost({ addresses: ['fd00::1', '10.9.0.1'] });
    const s = v6.bind(1);
    expect(() => s.send(new Uint8Array(65508), { host: '10.0.0.2', port: 1 })).toThrow(
      DatagramTooLargeError,
    );
    expect(() => s.send(new Uint8Array(65507), { host: '10.0.0.2', port: 1 })).not.toThrow();
    expect(() => s.send(new Uint8Array(65528), { host: 'fd00::2', port: 1 })).toThrow(
      DatagramTooLargeError,
    );
    expect(() => s.send(new Uint8Array(65527), { host: 'fd00::2', port: 1 })).not.toThrow();
    expect(net.stats.sent).toBe(2);
  });

  it('a closed socket refuses to send, receives nothing, and frees its port', async () => {
    const { net, a, sa, sb, atA } = pair();
    await sa.close();
    await sa.close();
    expect(sa.closed).toBe(true);
    expect(() => sa.send(numbered(1), sb.localAddress)).toThrow(SocketClosedError);
    sb.send(numbered(2), { host: '10.0.0.1', port: 1000 });
    net.runUntilIdle();
    expect(atA).toHaveLength(0);
    expect(net.stats.dropped['no-socket']).toBe(1);
    expect(a.bind(1000).localAddress.port).toBe(1000);
  });

  it('gives each socket an ephemeral port when asked for port 0', () => {
    const { a } = pair();
    const ports = [a.bind(), a.bind(0), a.bind()].map((s) => s.localAddress.port);
    expect(new Set(ports).size).toBe(3);
    for (const port of ports) expect(port).toBeGreaterThanOrEqual(49152);
  });

  it('rejects bad hosts and binds with errors that name the parameter', () => {
    const { net, a } = pair();
    const named = (fn: () => unknown, parameter: string) => {
      expect(fn).toThrow(InvalidParameterError);
      try {
        fn();
      } catch (error) {
        expect((error as InvalidParameterError).parameter).toBe(parameter);
      }
    };
    named(() => a.bind(1000), 'port');
    named(() => a.bind(70000), 'port');
    named(() => a.bind(5, '10.0.0.2'), 'address');
    named(() => net.addHost({ addresses: ['not-an-ip'] }), 'addresses[0]');
    named(() => net.addHost({ addresses: ['10.0.0.1'] }), 'addresses[0]');
    named(() => net.addHost({ addresses: [] }), 'addresses');
    named(() => net.addHost({ name: 'a', addresses: ['10.0.0.3'] }), 'name');
    named(() => net.host('nobody'), 'host');
  });

  it('routes by address for a host with several addresses, each with its own links', () => {
    const net = new SimNetwork({ seed: 3 });
    const client = net.addHost({ addresses: ['10.0.0.1'] });
    const server = net.addHost({ addresses: ['10.0.0.2', '10.0.1.2'] });
    const c = client.bind(1);
    const s1 = server.bind(7, '10.0.0.2');
    const s2 = server.bind(7, '10.0.1.2');
    const at1 = collect(s1, () => net.now());
    const at2 = collect(s2, () => net.now());
    net.setLink('10.0.0.1', '10.0.0.2', { blackhole: true });
    net.setLink('10.0.0.1', '10.0.1.2', { delayMs: 40 });
    c.send(numbered(1), s1.localAddress);
    c.send(numbered(2), s2.localAddress);
    net.runUntilIdle();
    expect(at1).toHaveLength(0);
    expect(at2.map((r) => r.at)).toEqual([40]);
    expect(net.stats.dropped.blackhole).toBe(1);
  });

  it('runs a host clock on virtual time', () => {
    const { net, a } = pair();
    const fired: number[] = [];
    a.clock.setTimer(250, () => fired.push(a.clock.now()));
    net.runFor(1000);
    expect(fired).toEqual([250]);
  });
});

describe('SimNetwork partitions', () => {
  it('drops everything across a partition both ways, including packets already in flight', () => {
    const { net, a, b, sa, sb, atA, atB } = pair();
    sa.send(numbered(1), sb.localAddress);
    net.runFor(5);
    net.partition([a], [b]);
    sb.send(numbered(2), sa.localAddress);
    net.runUntilIdle();
    expect(atA).toHaveLength(0);
    expect(atB).toHaveLength(0);
    expect(net.stats.dropped.partition).toBe(2);
    net.heal([a], [b]);
    sa.send(numbered(3), sb.localAddress);
    sb.send(numbered(4), sa.localAddress);
    net.runUntilIdle();
    expect(atA).toHaveLength(1);
    expect(atB).toHaveLength(1);
  });

  it('a one-way partition cuts one direction only', () => {
    const { net, a, b, sa, sb, atA, atB } = pair();
    net.partition([a], [b], { oneWay: true });
    sa.send(numbered(1), sb.localAddress);
    sb.send(numbered(2), sa.localAddress);
    net.runUntilIdle();
    expect(atB).toHaveLength(0);
    expect(atA).toHaveLength(1);
    net.healAll();
    sa.send(numbered(3), sb.localAddress);
    net.runUntilIdle();
    expect(atB).toHaveLength(1);
  });

  it('property: a partition drops everything across it, nothing within a side, and healing restores all', () => {
    fc.assert(
      fc.property(
        fc.subarray([0, 1, 2, 3, 4], { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 1000 }),
        (side, oneWay, seed) => {
          const net = new SimNetwork({ seed, defaultLink: { delayMs: 2, jitterMs: 3 } });
          const hosts = [0, 1, 2, 3, 4].map((i) => net.addHost({ addresses: [`10.0.0.${i + 1}`] }));
          const sockets = hosts.map((h) => h.bind(9));
          const got = sockets.map((s) => collect(s, () => net.now()));
          const inA = (i: number) => side.includes(i);
          const everyone = () => {
            sockets.forEach((from, i) => {
              sockets.forEach((to, j) => {
                if (i !== j) from.send(numbered(i * 10 + j), to.localAddress);
              });
            });
            net.runUntilIdle();
          };
          net.partition(
            hosts.filter((_, i) => inA(i)),
            hosts.filter((_, i) => !inA(i)),
            { oneWay },
          );
          everyone();
          got.forEach((list, j) => {
            const senders = list.map((r) => Math.floor(sequenceOf(r.data) / 10));
            const expected = [0, 1, 2, 3, 4].filter(
              (i) => i !== j && (inA(i) === inA(j) || (oneWay && !inA(i))),
            );
            expect(senders.sort()).toEqual(expected);
          });
          for (const list of got) list.length = 0;
          net.healAll();
          everyone();
          for (const list of got) expect(list).toHaveLength(4);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('SimNetwork NAT', () => {
  function natted() {
    const net = new SimNetwork({ seed: 5, defaultLink: { delayMs: 5 } });
    const home = net.addHost({
      name: 'home',
      addresses: ['192.168.1.10'],
      nat: { publicAddress: '203.0.113.7', mappingTimeoutMs: 30_000 },
    });
    const server = net.addHost({ name: 'server', addresses: ['198.51.100.1'] });
    const client = home.bind(4000);
    const listener = server.bind(443);
    const atClient = collect(client, () => net.now());
    const atServer = collect(listener, () => net.now());
    // The server answers every datagram to the address it came from.
    listener.onReceive((data, from) => {
      atServer.push({ at: net.now(), data, from });
      listener.send(data, from);
    });
    return { net, home, server, client, listener, atClient, atServer };
  }

  it('translates the source to the public address, and replies come back', () => {
    const { net, client, listener, atClient, atServer } = natted();
    client.send(numbered(1), listener.localAddress);
    net.runUntilIdle();
    expect(atServer[0]?.from.host).toBe('203.0.113.7');
    expect(atServer[0]?.from.port).not.toBe(4000);
    expect(atClient).toHaveLength(1);
    expect(atClient[0]?.from).toEqual({ host: '198.51.100.1', port: 443 });
  });

  it('keeps the private address unreachable from outside', () => {
    const { net, listener } = natted();
    listener.send(numbered(1), { host: '192.168.1.10', port: 4000 });
    net.runUntilIdle();
    expect(net.stats.dropped['no-route']).toBe(1);
  });

  it('rebinding moves the mapping to a new port, and the old one stops working', () => {
    const { net, home, client, listener, atClient, atServer } = natted();
    client.send(numbered(1), listener.localAddress);
    net.runUntilIdle();
    const before = atServer[0]?.from;
    net.natRebind(home);
    listener.send(numbered(2), before as { host: string; port: number });
    client.send(numbered(3), listener.localAddress);
    net.runUntilIdle();
    expect(net.stats.dropped.nat).toBe(1);
    const after = atServer[1]?.from;
    expect(after?.host).toBe('203.0.113.7');
    expect(after?.port).not.toBe(before?.port);
    expect(atClient.map((r) => sequenceOf(r.data))).toEqual([1, 3]);
  });

  it('rebinding to a new public address changes the address peers see', () => {
    const { net, home, client, listener, atServer } = natted();
    net.natRebind(home, '203.0.113.99');
    client.send(numbered(1), listener.localAddress);
    net.runUntilIdle();
    expect(atServer[0]?.from.host).toBe('203.0.113.99');
  });

  it('forgets a mapping left idle past its timeout', () => {
    const { net, client, listener, atServer } = natted();
    client.send(numbered(1), listener.localAddress);
    net.runUntilIdle();
    net.runFor(31_000);
    listener.send(numbered(2), atServer[0]?.from as { host: string; port: number });
    net.runUntilIdle();
    expect(net.stats.dropped.nat).toBe(1);
  });

  it('refuses to rebind a host without a NAT', () => {
    const { net, server } = natted();
    expect(() => net.natRebind(server)).toThrow(InvalidParameterError);
  });
});

describe('SimNetwork crash and restart', () => {
  it('a crashed host receives nothing, sends nothing and loses its timers', () => {
    const { net, a, sa, sb, atA, atB } = pair();
    const fired: number[] = [];
    a.clock.setTimer(100, () => fired.push(1));
    sb.send(numbered(1), sa.localAddress);
    net.runFor(5);
    net.crash(a);
    expect(a.up).toBe(false);
    sa.send(numbered(2), sb.localAddress);
    net.runUntilIdle();
    expect(atA).toHaveLength(0);
    expect(atB).toHaveLength(0);
    expect(fired).toEqual([]);
    expect(net.stats.dropped['host-down']).toBe(2);
  });

  it('restart runs the host program again, which can bind its old port', () => {
    const { net, a, sa, sb } = pair();
    const restarted: number[] = [];
    let socket = sa;
    a.onRestart(() => {
      restarted.push(net.now());
      socket = a.bind(1000);
    });
    net.crash(a);
    net.runFor(50);
    net.restart(a);
    net.restart(a);
    expect(restarted).toEqual([50]);
    const got = collect(socket, () => net.now());
    sb.send(numbered(1), socket.localAddress);
    net.runUntilIdle();
    expect(got).toHaveLength(1);
  });
});

describe('SimNetwork address change', () => {
  it('moves sockets and link settings to the new address; the old one has no route', () => {
    const { net, b, sa, sb, atB } = pair();
    net.setLink('10.0.0.1', '10.0.0.2', { delayMs: 50 });
    net.changeAddress(b, '10.0.0.2', '10.0.0.22');
    expect(sb.localAddress).toEqual({ host: '10.0.0.22', port: 2000 });
    expect(b.addresses).toEqual(['10.0.0.22']);
    sa.send(numbered(1), { host: '10.0.0.2', port: 2000 });
    sa.send(numbered(2), sb.localAddress);
    net.runUntilIdle();
    expect(net.stats.dropped['no-route']).toBe(1);
    expect(atB.map((r) => [sequenceOf(r.data), r.at])).toEqual([[2, 50]]);
  });

  it('the peer sees datagrams from the new address', () => {
    const { net, a, sa, sb, atB } = pair();
    net.changeAddress(a, '10.0.0.1', '10.0.5.1');
    sa.send(numbered(1), sb.localAddress);
    net.runUntilIdle();
    expect(atB[0]?.from).toEqual({ host: '10.0.5.1', port: 1000 });
  });

  it('rejects renumbering an address the host does not own, or to one in use', () => {
    const { net, a } = pair();
    expect(() => net.changeAddress(a, '10.0.0.2', '10.0.0.9')).toThrow(InvalidParameterError);
    expect(() => net.changeAddress(a, '10.0.0.1', '10.0.0.2')).toThrow(InvalidParameterError);
  });
});
