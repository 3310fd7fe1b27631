/**
 * The demo's fetch protocol on the simulator: refusals, checksum failures, bounded memory at the
 * server, and an abandoned fetch.
 */
import { describe, expect, it } from 'vitest';
import { exchangeReport, startExchange } from '../../src/demo/exchange.js';
import { type DemoFile, makeFiles, sha256 } from '../../src/demo/files.js';
import { FileFetch } from '../../src/demo/file-client.js';
import { FileService } from '../../src/demo/file-server.js';
import { hostPair } from '../fixtures/host-pair.js';

const KiB = 1024;

const NO_WIRE = {
  datagrams: {
    client: { datagramsSent: 0, bytesSent: 0, datagramsReceived: 0, bytesReceived: 0 },
    server: { datagramsSent: 0, bytesSent: 0, datagramsReceived: 0, bytesReceived: 0 },
  },
  channels: { client: null, server: null },
};

describe('the fetch protocol', () => {
  it('a file the server does not have fails alone; the others verify and the fetch closes', async () => {
    const { net, client, server, endpoints, clientSim } = await hostPair();
    const [kept, missing] = makeFiles(
      [
        { name: 'kept.bin', size: 20 * KiB, priority: 1 },
        { name: 'missing.bin', size: 10 * KiB, priority: 2 },
      ],
      1,
    ) as [DemoFile, DemoFile];
    const service = new FileService(server, [kept]);
    const fetch = new FileFetch({
      host: client,
      peer: server.eid,
      endpoints,
      files: [kept, missing],
      clock: clientSim.clock,
    });
    expect(net.runUntil(() => fetch.closed && service.open === 0, 10_000)).toBe(true);
    expect(fetch.files.map((file) => [file.name, file.state, file.error])).toEqual([
      ['kept.bin', 'verified', undefined],
      ['missing.bin', 'failed', 'the server has no such file'],
    ]);
    expect(client.streamSession(server.eid)?.streams.size).toBe(0);
  });

  it('content that does not match the announced SHA-256 fails the file', async () => {
    const { net, client, server, endpoints, clientSim } = await hostPair({ seed: 2 });
    const [file] = makeFiles([{ name: 'f.bin', size: 30 * KiB, priority: 0 }], 5) as [DemoFile];
    const tampered = { ...file, sha256: sha256(file.data.subarray(1)) };
    const exchange = startExchange({
      client,
      server,
      endpoints,
      files: [tampered],
      clock: clientSim.clock,
    });
    expect(net.runUntil(() => exchange.done, 10_000)).toBe(true);
    expect(exchange.fetch.files[0]).toMatchObject({
      state: 'failed',
      received: file.size,
      error: 'SHA-256 differs from the announced one',
    });
    // Checked against the source too: content the header vouches for but that is not the
    // source file's is not verified.
    const report = exchangeReport(exchange.fetch, [tampered], NO_WIRE);
    expect(report.allVerified).toBe(false);
  });

  it('the report checks what arrived against the source files, not only against the header', async () => {
    const { net, client, server, endpoints, clientSim } = await hostPair({ seed: 3 });
    const [served] = makeFiles([{ name: 'f.bin', size: 12 * KiB, priority: 0 }], 1) as [DemoFile];
    const [other] = makeFiles([{ name: 'f.bin', size: 12 * KiB, priority: 0 }], 2) as [DemoFile];
    const exchange = startExchange({
      client,
      server,
      endpoints,
      files: [served],
      clock: clientSim.clock,
    });
    expect(net.runUntil(() => exchange.done, 10_000)).toBe(true);
    expect(exchange.fetch.files[0]?.state).toBe('verified');
    expect(exchangeReport(exchange.fetch, [served], NO_WIRE).files[0]?.verified).toBe(true);
    expect(exchangeReport(exchange.fetch, [other], NO_WIRE).files[0]).toMatchObject({
      verified: false,
      error: 'SHA-256 differs from the source file',
    });
  });

  it('the server holds at most about 1 MiB unacknowledged per file, however large the file', async () => {
    const { net, client, server, endpoints, clientSim } = await hostPair({
      link: { delayMs: 10, bandwidthBps: 20_000_000, queueBytes: 100_000 },
    });
    const files = makeFiles([{ name: 'big.bin', size: 4 * 1024 * KiB, priority: 0 }], 1);
    const exchange = startExchange({ client, server, endpoints, files, clock: clientSim.clock });
    let most = 0;
    for (let slice = 0; slice < 400 && !exchange.done; slice++) {
      net.runFor(20);
      for (const stream of server.streamSession(client.eid)?.streams.values() ?? []) {
        most = Math.max(most, stream.send.buffered);
      }
    }
    expect(exchange.done).toBe(true);
    expect(exchange.fetch.files[0]?.state).toBe('verified');
    expect(most).toBeGreaterThan(256 * KiB);
    expect(most).toBeLessThanOrEqual(1024 * KiB + 64 * KiB);
  });

  it('an abandoned fetch fails its unfinished files, and both ends forget every stream', async () => {
    const { net, client, server, endpoints, clientSim } = await hostPair({
      link: { delayMs: 10, bandwidthBps: 2_000_000, queueBytes: 50_000 },
    });
    const files = makeFiles(
      [
        { name: 'a.bin', size: 8 * KiB, priority: 1 },
        { name: 'b.bin', size: 512 * KiB, priority: 0 },
      ],
      1,
    );
    const exchange = startExchange({ client, server, endpoints, files, clock: clientSim.clock });
    net.runUntil(() => exchange.fetch.files[0]?.state === 'verified', 10_000);
    exchange.fetch.abort('given up');
    expect(exchange.fetch.closed).toBe(true);
    expect(exchange.fetch.files.map((file) => [file.state, file.error])).toEqual([
      ['verified', undefined],
      ['failed', 'given up'],
    ]);
    expect(net.runUntil(() => exchange.service.open === 0, 10_000)).toBe(true);
    expect(net.runUntil(() => client.streamSession(server.eid)?.streams.size === 0, 10_000)).toBe(
      true,
    );
  });
});
