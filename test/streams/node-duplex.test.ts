/**
 * The Node.js Duplex adapter on the simulator: transfers both ways, backpressure that reaches the
 * peer through the receive window and the acknowledgements, ends, errors and resets.
 */
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  ServiceNotFoundError,
  StreamClosedError,
  StreamResetError,
} from '../../src/streams/errors.js';
import { toDuplex } from '../../src/streams/node-duplex.js';
import type { StreamReset } from '../../src/streams/stream.js';
import { INITIAL_STREAM_WINDOW } from '../../src/streams/stream-session.js';
import { DEFAULT_SEND_HIGH_WATER_MARK } from '../../src/streams/web-streams.js';
import {
  connected,
  expectSameBytes,
  join,
  pattern,
  pump,
  pumpUntil,
  tracked,
} from './fixtures/adapters.js';
import { hostPair } from '../fixtures/host-pair.js';

/** Collects what a duplex reads, and whether it ended or failed. */
function collect(duplex: Duplex) {
  const seen = { chunks: [] as Uint8Array[], ended: false, error: undefined as Error | undefined };
  duplex.on('data', (chunk: Buffer) => seen.chunks.push(chunk));
  duplex.on('end', () => (seen.ended = true));
  duplex.on('error', (error) => (seen.error = error));
  return seen;
}

/** Writes `data` in `size`-byte pieces, honouring write()'s backpressure, then ends. */
async function writeAll(duplex: Duplex, data: Uint8Array, size: number): Promise<void> {
  for (let at = 0; at < data.length; at += size) {
    if (!duplex.write(data.subarray(at, at + size))) {
      await new Promise<void>((resolve, reject) => {
        duplex.once('drain', resolve);
        duplex.once('error', reject);
      });
    }
  }
  await new Promise<void>((resolve) => duplex.end(resolve));
}

describe('toDuplex', () => {
  it('carries 300 KB each way at once, intact and in order, and ends both sides', async () => {
    const { net, local, remote } = await connected();
    const up = pattern(300_000, 1);
    const down = pattern(300_000, 2);
    const client = toDuplex(local);
    const server = toDuplex(remote);
    const atServer = collect(server);
    const atClient = collect(client);
    const writes = Promise.all([writeAll(client, up, 7_000), writeAll(server, down, 10_000)]);
    expect(await pumpUntil(net, () => atServer.ended && atClient.ended, 10_000)).toBe(true);
    await writes;
    expectSameBytes(join(atServer.chunks), up);
    expectSameBytes(join(atClient.chunks), down);
    expect([atServer.error, atClient.error]).toEqual([undefined, undefined]);
  });

  it('a reader that never reads holds one window and no more; the sender waits', async () => {
    const { net, local, remote } = await connected();
    const client = toDuplex(local);
    toDuplex(remote);
    client.write(pattern(300_000));
    await pump(net, 1000);
    const waiting = local.bytesToWrite;
    await pump(net, 1000);
    // A window, less the few bytes of service request the host read: the peer sends no further.
    expect(remote.bytesAvailable).toBeLessThanOrEqual(INITIAL_STREAM_WINDOW);
    expect(remote.bytesAvailable).toBeGreaterThan(INITIAL_STREAM_WINDOW - 64);
    // What the server holds is acknowledged; the rest waits at the sender.
    expect(local.bytesToWrite).toBe(waiting);
    expect(waiting).toBe(300_000 - remote.bytesAvailable);
    // The write is not called back: the writable side still counts it.
    expect(client.writableLength).toBe(300_000);
  });

  it('a paused reader stalls the sender; resuming completes the transfer intact', async () => {
    const { net, local, remote } = await connected();
    const data = pattern(300_000, 3);
    const client = toDuplex(local);
    const server = toDuplex(remote);
    const atServer = collect(server);
    server.pause();
    const writing = writeAll(client, data, 8_000);
    let maxInStream = 0;
    let maxInDuplex = 0;
    const watch = async (ms: number) => {
      for (let t = 0; t < ms; t += 5) {
        await pump(net, 5);
        maxInStream = Math.max(maxInStream, remote.state.receive.buffered);
        maxInDuplex = Math.max(maxInDuplex, server.readableLength);
      }
    };
    await watch(1000);
    const progress = [local.bytesToWrite, client.writableLength, server.readableLength];
    await watch(1000);
    // Nothing moves while the reader is paused. The stream holds at most its window; the rest
    // waits at the sender, its writes not called back.
    expect([local.bytesToWrite, client.writableLength, server.readableLength]).toEqual(progress);
    expect(maxInStream).toBeLessThanOrEqual(remote.state.receive.window);
    // The duplex holds its high-water mark plus the one read that crossed it.
    expect(maxInDuplex).toBeLessThan(server.readableHighWaterMark + INITIAL_STREAM_WINDOW);
    expect(server.readableLength).toBeGreaterThan(0);
    expect(local.bytesToWrite).toBeGreaterThan(0);
    expect(local.bytesToWrite).toBeLessThan(DEFAULT_SEND_HIGH_WATER_MARK + 8_000);
    expect(client.writableLength).toBeGreaterThan(0);
    server.resume();
    expect(await pumpUntil(net, () => atServer.ended, 10_000)).toBe(true);
    await writing;
    expectSameBytes(join(atServer.chunks), data);
  });

  it('a reset by the peer destroys the duplex with its typed error, and releases the stream', async () => {
    const { net, local, remote } = await connected();
    const { stream, live } = tracked(local);
    const client = toDuplex(stream);
    const atClient = collect(client);
    expect(live()).toBeGreaterThan(0);
    remote.writeData(pattern(1000));
    await pump(net, 100);
    remote.reset(0x155);
    await pumpUntil(net, () => atClient.error !== undefined, 1000);
    expect(atClient.error).toBeInstanceOf(StreamResetError);
    expect(atClient.error).toMatchObject({ errorCode: 0x155, by: 'peer' });
    expect(client.destroyed).toBe(true);
    expect(live()).toBe(0);
  });

  it('a service nobody serves fails the duplex with ServiceNotFoundError', async () => {
    const { net, client: host, server, endpoints } = await hostPair();
    const duplex = toDuplex(host.connect(server.eid, 'nothing', 'v1', { endpoints }));
    const seen = collect(duplex);
    duplex.write(pattern(100));
    await pumpUntil(net, () => seen.error !== undefined, 2000);
    expect(seen.error).toBeInstanceOf(ServiceNotFoundError);
  });

  it('the peer closing its reading side fails a waiting write with StreamResetError, like EPIPE', async () => {
    const { net, local, remote } = await connected();
    const client = toDuplex(local);
    const seen = collect(client);
    client.write(pattern(DEFAULT_SEND_HIGH_WATER_MARK + INITIAL_STREAM_WINDOW + 1000));
    await pump(net, 300);
    expect(client.writableLength).toBeGreaterThan(0);
    remote.close();
    await pumpUntil(net, () => seen.error !== undefined, 1000);
    expect(seen.error).toBeInstanceOf(StreamResetError);
    expect(seen.error).toMatchObject({ by: 'local' });
  });

  it('the peer closing its reading side does not end our reading: its last words arrive', async () => {
    const { net, local, remote } = await connected();
    const client = toDuplex(local);
    const seen = collect(client);
    client.write(pattern(INITIAL_STREAM_WINDOW * 2));
    await pump(net, 300);
    remote.writeData(pattern(500, 9));
    remote.close();
    await pumpUntil(net, () => seen.ended, 2000);
    expectSameBytes(join(seen.chunks), pattern(500, 9));
    expect(seen.error).toBeUndefined();
  });

  it('destroy() before the end resets the stream, and the peer sees the reset', async () => {
    const { net, local, remote } = await connected();
    const { stream, live } = tracked(local);
    const client = toDuplex(stream);
    const resets: StreamReset[] = [];
    remote.reset$.subscribe((r) => resets.push(r));
    client.write(pattern(1000));
    await pump(net, 100);
    client.destroy();
    expect(live()).toBe(0);
    await pump(net, 200);
    expect(resets).toEqual([expect.objectContaining({ by: 'peer', errorCode: 0 })]);
  });

  it('after a clean end both ways the auto-destroy does not reset: unacknowledged data still arrives', async () => {
    const { net, local, remote } = await connected({
      link: { delayMs: 10, bandwidthBps: 2_000_000 },
    });
    const { stream, live } = tracked(local);
    const client = toDuplex(stream);
    const resets: StreamReset[] = [];
    remote.reset$.subscribe((r) => resets.push(r));
    remote.shutdownWrite();
    const atClient = collect(client);
    const data = pattern(100_000, 4);
    client.end(data);
    // The client closes once 'end' (the peer's FIN) and 'finish' (ours handed over) both came.
    expect(await pumpUntil(net, () => client.closed, 1000)).toBe(true);
    expect(atClient.ended).toBe(true);
    expect(local.bytesToWrite).toBeGreaterThan(0);
    expect(live()).toBe(0);
    const atServer = collect(toDuplex(remote));
    expect(await pumpUntil(net, () => atServer.ended, 10_000)).toBe(true);
    expectSameBytes(join(atServer.chunks), data);
    expect(resets).toEqual([]);
  });

  it('the stream closed under it and collected fails the duplex with StreamClosedError', async () => {
    const { net, local, remote } = await connected();
    const client = toDuplex(local);
    const seen = collect(client);
    remote.readyRead$.subscribe(() => {
      remote.readData();
      if (remote.atEnd) remote.close();
    });
    local.close();
    await pumpUntil(net, () => seen.error !== undefined, 2000);
    expect(seen.error).toBeInstanceOf(StreamClosedError);
  });
});

/** Stream-layer behaviour the adapters depend on, with the plain Stream API. */
describe('flow control under the adapters', () => {
  // The peer stops at the offset it was told of, not at a full buffer: every server stream
  // starts a few bytes short of full, the host having read the service request.
  it('receiveBlocked$ fires when the peer is blocked by the window after a small read', async () => {
    const { net, local, remote } = await connected();
    let blocked = 0;
    remote.receiveBlocked$.subscribe(() => blocked++);
    local.writeData(new Uint8Array(300_000));
    net.runFor(2000);
    expect(local.bytesToWrite).toBeGreaterThan(200_000);
    expect(blocked).toBe(1);
  });

  // Reading the 20 KB record frees less than half the 64 KiB window, yet the peer, blocked 4.5 KB
  // short of the 50 KB record, must hear of the room: otherwise neither side moves again.
  it('a reader of whole records gets records smaller than the window', async () => {
    const { net, local, remote } = await connected();
    const sizes: number[] = [];
    remote.readyReadRecord$.subscribe(() => {
      for (let r = remote.readRecord(); r !== undefined; r = remote.readRecord()) {
        sizes.push(r.length);
      }
    });
    local.writeRecord(new Uint8Array(20_000));
    local.writeRecord(new Uint8Array(50_000));
    net.runFor(5000);
    expect(sizes).toEqual([20_000, 50_000]);
  });
});
