/**
 * A channel on real UDP sockets seals every datagram into one scratch buffer, which the socket
 * hands to the system within `send`: a bulk transfer over loopback, at 64 KB datagrams, must
 * arrive intact with not one datagram failing authentication (as one overwritten while queued
 * would). It answers after the batch of datagrams the socket read in one go, not after each.
 */
import { describe, expect, it } from 'vitest';
import { Host } from '../../src/host.js';
import { Identity } from '../../src/crypto/identity.js';
import { createNativeSuite } from '../../src/crypto/native-suite.js';

const BYTES = 8 * 1024 * 1024;
const CHUNK = 64 * 1024;

function pattern(at: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = ((at + i) * 7 + ((at + i) >>> 11)) & 0xff;
  return out;
}

describe('Channel on loopback UDP', () => {
  it('carries 8 MiB in 64 KB datagrams intact, none failing authentication, acknowledged per read batch', async () => {
    const suite = createNativeSuite();
    const server = await Host.create({ identity: Identity.generate(suite) });
    const client = await Host.create({ identity: Identity.generate(suite) });
    try {
      let received = 0;
      let intact = true;
      const done = new Promise<void>((resolve, reject) => {
        server.listen('sink', '', 'v1', '').newConnection$.subscribe((stream) => {
          const drain = () => {
            for (let data = stream.readData(); data.length > 0; data = stream.readData()) {
              const expected = pattern(received, data.length);
              intact &&= data.every((byte, i) => byte === expected[i]);
              received += data.length;
            }
            if (stream.atEnd) resolve();
          };
          stream.readyRead$.subscribe(drain);
          drain();
        });
        setTimeout(
          () => reject(new Error(`${received} of ${BYTES} bytes in 20 s`)),
          20_000,
        ).unref();
      });
      const stream = client.connect(server.eid, 'sink', 'v1', { endpoints: server.addresses });
      let written = 0;
      const pump = () => {
        while (written < BYTES && stream.bytesToWrite < 4 * CHUNK) {
          stream.writeData(pattern(written, CHUNK));
          written += CHUNK;
        }
        if (written === BYTES) stream.shutdownWrite();
      };
      stream.bytesWritten$.subscribe(pump);
      pump();
      await done;
      expect(received).toBe(BYTES);
      expect(intact).toBe(true);
      const sending = client.channelTo(server.eid);
      const receiving = server.channelTo(client.eid);
      expect(sending?.core.maxDatagramSize).toBeGreaterThan(60_000);
      for (const channel of [sending, receiving]) {
        expect(channel?.core.stats.authFailed).toBe(0);
        expect(channel?.core.stats.malformed).toBe(0);
      }
      // The receiver answers each batch the socket read in one go once, not every second
      // packet (acknowledging per packet, it sent about half as many packets as it received).
      const answers = receiving?.core.stats.packetsSent ?? Infinity;
      expect(answers * 3).toBeLessThan(sending?.core.stats.packetsSent ?? 0);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
