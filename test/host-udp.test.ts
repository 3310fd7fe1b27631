/** The host on real UDP sockets over loopback: the production path, with real timers. */
import { describe, expect, it } from 'vitest';
import { Host } from '../src/host.js';
import { Identity } from '../src/crypto/identity.js';
import { createNativeSuite } from '../src/crypto/native-suite.js';
import type { SocketAddress } from '../src/net/datagram-socket.js';
import type { Stream } from '../src/streams/stream.js';
import { str, text } from './fixtures/host-pair.js';

describe('Host on loopback UDP', () => {
  it('a request and its response travel between two hosts bound to 127.0.0.1', async () => {
    const suite = createNativeSuite();
    const server = await Host.create({ identity: Identity.generate(suite) });
    const client = await Host.create({ identity: Identity.generate(suite) });
    try {
      server.listen('echo', '', 'v1', '').newConnection$.subscribe((stream) =>
        stream.readyReadRecord$.subscribe(() => {
          const record = stream.readRecord();
          if (record !== undefined) stream.writeRecord(record);
        }),
      );
      const stream = client.connect(server.eid, 'echo', 'v1', { endpoints: server.addresses });
      const reply = new Promise<string | undefined>((resolve, reject) => {
        stream.readyReadRecord$.subscribe(() => resolve(str(stream.readRecord())));
        stream.error$.subscribe(reject);
        setTimeout(() => reject(new Error('no reply within 5 s')), 5000).unref();
      });
      stream.writeRecord(text('over real UDP'));
      expect(await reply).toBe('over real UDP');
      expect(server.addresses[0]?.host).toBe('127.0.0.1');
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('a host on the AEAD addon and one on node:crypto alone exchange 2 MB each way, byte-exact', async () => {
    const server = await Host.create({ suite: createNativeSuite() });
    const client = await Host.create({
      suite: createNativeSuite(undefined, { aeadAddon: false }),
    });
    const payload = Uint8Array.from({ length: 2_000_000 }, (_, i) => (i * 31 + (i >>> 11)) & 0xff);
    const readAll = (stream: Stream) =>
      new Promise<Uint8Array>((resolve, reject) => {
        const parts: Uint8Array[] = [];
        const drain = () => {
          for (let data = stream.readData(); data.length > 0; data = stream.readData()) {
            parts.push(data.slice());
          }
          if (stream.atEnd) resolve(Buffer.concat(parts));
        };
        stream.readyRead$.subscribe(drain);
        stream.error$.subscribe(reject);
        setTimeout(() => reject(new Error('not all within 20 s')), 20_000).unref();
      });
    try {
      const echoed = new Promise<Uint8Array>((resolve, reject) => {
        server.listen('bulk', '', 'v1', '').newConnection$.subscribe((stream) => {
          readAll(stream).then((data) => {
            stream.writeData(data);
            stream.shutdownWrite();
            resolve(data);
          }, reject);
        });
      });
      const stream = client.connect(server.eid, 'bulk', 'v1', { endpoints: server.addresses });
      const back = readAll(stream);
      stream.writeData(payload);
      stream.shutdownWrite();
      expect(Buffer.from(await echoed).equals(payload)).toBe(true);
      expect(Buffer.from(await back).equals(payload)).toBe(true);
    } finally {
      await client.close();
      await server.close();
    }
  }, 30_000);

  it('a host bound to IPv4 and IPv6 is reached on either, and dials each family from its own socket', async () => {
    const dual = {
      bind: [
        { host: '127.0.0.1', port: 0 },
        { host: '::1', port: 0 },
      ],
    };
    const server = await Host.create(dual);
    const v6Only = await Host.create({ bind: [{ host: '::1', port: 0 }] });
    const client = await Host.create(dual);
    try {
      server.listen('echo', '', 'v1', '').newConnection$.subscribe((stream) =>
        stream.readyReadRecord$.subscribe(() => {
          const record = stream.readRecord();
          if (record !== undefined) stream.writeRecord(record);
        }),
      );
      const [v4, v6] = server.addresses;
      expect(v6?.host).toBe('::1');
      const ask = (from: Host, address: SocketAddress, what: string) =>
        new Promise<string | undefined>((resolve, reject) => {
          const stream = from.connect(server.eid, 'echo', 'v1', { endpoints: [address] });
          stream.readyReadRecord$.subscribe(() => resolve(str(stream.readRecord())));
          stream.error$.subscribe(reject);
          setTimeout(() => reject(new Error(`no reply to ${what} within 5 s`)), 5000).unref();
          stream.writeRecord(text(what));
        });
      // A handshake on the server's second socket is answered there.
      expect(await ask(v6Only, v6 as SocketAddress, 'to ::1')).toBe('to ::1');
      // A host whose first socket is IPv4 dials an IPv6 peer from its IPv6 socket.
      expect(await ask(client, v6 as SocketAddress, 'dual to ::1')).toBe('dual to ::1');
      expect(client.channelTo(server.eid)?.path.socket.localAddress.host).toBe('::1');
      expect(v4?.host).toBe('127.0.0.1');
    } finally {
      await client.close();
      await v6Only.close();
      await server.close();
    }
  });
});
