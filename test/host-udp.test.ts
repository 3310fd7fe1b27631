/** The host on real UDP sockets over loopback: the production path, with real timers. */
import { describe, expect, it } from 'vitest';
import { Host } from '../src/host.js';
import { Identity } from '../src/crypto/identity.js';
import { createNativeSuite } from '../src/crypto/native-suite.js';
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
});
