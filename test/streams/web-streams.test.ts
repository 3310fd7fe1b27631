/**
 * The WHATWG stream adapters on the simulator: transfers both ways, backpressure that reaches the
 * peer through the receive window and the acknowledgements, ends, cancel, abort and errors.
 */
import { describe, expect, it } from 'vitest';
import { ServiceNotFoundError, StreamResetError } from '../../src/streams/errors.js';
import type { StreamReset } from '../../src/streams/stream.js';
import { INITIAL_STREAM_WINDOW } from '../../src/streams/stream-session.js';
import {
  DEFAULT_SEND_HIGH_WATER_MARK,
  toReadableStream,
  toWritableStream,
} from '../../src/streams/web-streams.js';
import {
  connected,
  expectSameBytes,
  join,
  pattern,
  pump,
  pumpUntil,
  tracked,
  stillDelivers,
} from './fixtures/adapters.js';
import { hostPair } from '../fixtures/host-pair.js';

/** Reads a ReadableStream to its end in the background; what it read, and how it ended. */
function drain(readable: ReadableStream<Uint8Array>) {
  const seen = { chunks: [] as Uint8Array[], done: false, error: undefined as unknown };
  void (async () => {
    const reader = readable.getReader();
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) seen.chunks.push(r.value);
      seen.done = true;
    } catch (error) {
      seen.error = error;
    }
  })();
  return seen;
}

/** Writes `data` in `size`-byte pieces through a writer, waiting on `ready`, then closes. */
async function writeAll(
  writable: WritableStream<Uint8Array>,
  data: Uint8Array,
  size: number,
): Promise<void> {
  const writer = writable.getWriter();
  for (let at = 0; at < data.length; at += size) {
    await writer.ready;
    void writer.write(data.slice(at, at + size));
  }
  await writer.close();
}

describe('toReadableStream and toWritableStream', () => {
  it('carry 300 KB each way at once, intact and in order, and close both sides', async () => {
    const { net, local, remote } = await connected();
    const up = pattern(300_000, 1);
    const down = pattern(300_000, 2);
    const atServer = drain(toReadableStream(remote));
    const atClient = drain(toReadableStream(local));
    const writes = Promise.all([
      writeAll(toWritableStream(local), up, 7_000),
      writeAll(toWritableStream(remote), down, 10_000),
    ]);
    expect(await pumpUntil(net, () => atServer.done && atClient.done, 10_000)).toBe(true);
    await writes;
    expectSameBytes(join(atServer.chunks), up);
    expectSameBytes(join(atClient.chunks), down);
  });

  it('pipeTo from a source, and a reader that stops: the peer waits, then completes', async () => {
    const { net, local, remote } = await connected();
    const data = pattern(300_000, 3);
    let offered = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(data.slice(offered, offered + 9_000));
        offered += 9_000;
        if (offered >= data.length) controller.close();
      },
    });
    const piped = source.pipeTo(toWritableStream(local));
    const readable = toReadableStream(remote);
    const reader = readable.getReader();
    let first: ReadableStreamReadResult<Uint8Array> | undefined;
    void reader.read().then((r) => (first = r));
    expect(await pumpUntil(net, () => first !== undefined, 1000)).toBe(true);
    let maxHeld = 0;
    const watch = async (ms: number) => {
      for (let t = 0; t < ms; t += 5) {
        await pump(net, 5);
        maxHeld = Math.max(maxHeld, remote.bytesAvailable);
      }
    };
    await watch(1000);
    const progress = [offered, local.bytesToWrite];
    await watch(1000);
    // The reader took one chunk and stopped: the stream holds at most a window, the writable's
    // writes wait for acknowledgements, and the source is no longer pulled.
    expect([offered, local.bytesToWrite]).toEqual(progress);
    expect(maxHeld).toBeLessThanOrEqual(INITIAL_STREAM_WINDOW);
    expect(local.bytesToWrite).toBeGreaterThan(0);
    expect(local.bytesToWrite).toBeLessThan(DEFAULT_SEND_HIGH_WATER_MARK + 9_000);
    expect(offered).toBeLessThan(data.length);
    reader.releaseLock();
    const rest = drain(readable);
    expect(await pumpUntil(net, () => rest.done, 10_000)).toBe(true);
    await piped;
    expectSameBytes(join([first?.value as Uint8Array, ...rest.chunks]), data);
  });

  it('a reset by the peer errors the readable with its typed error and releases the stream', async () => {
    const { net, local, remote } = await connected();
    const { stream, live } = tracked(local);
    const seen = drain(toReadableStream(stream));
    expect(live()).toBeGreaterThan(0);
    remote.writeData(pattern(1000));
    await pump(net, 100);
    remote.reset(0x155);
    await pumpUntil(net, () => seen.error !== undefined, 1000);
    expect(seen.error).toBeInstanceOf(StreamResetError);
    expect(seen.error).toMatchObject({ errorCode: 0x155, by: 'peer' });
    expect(live()).toBe(0);
  });

  it('a service nobody serves errors both with ServiceNotFoundError', async () => {
    const { net, client, server, endpoints } = await hostPair();
    const stream = client.connect(server.eid, 'nothing', 'v1', { endpoints });
    const seen = drain(toReadableStream(stream));
    const writer = toWritableStream(stream).getWriter();
    await pumpUntil(net, () => seen.error !== undefined, 2000);
    expect(seen.error).toBeInstanceOf(ServiceNotFoundError);
    await expect(writer.closed).rejects.toBeInstanceOf(ServiceNotFoundError);
  });

  it('cancel() closes reading: the peer is told to stop sending, writing goes on, and subscriptions end', async () => {
    const { net, local, remote } = await connected();
    const { stream, live } = tracked(local);
    const resets: StreamReset[] = [];
    remote.reset$.subscribe((r) => resets.push(r));
    remote.writeData(pattern(INITIAL_STREAM_WINDOW * 3));
    const reader = toReadableStream(stream).getReader();
    await pumpUntil(net, () => local.bytesAvailable > 0, 1000);
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    expect(live()).toBe(0);
    await pump(net, 200);
    // The peer's sending direction is reset at our request (STOP), on its side a local reset.
    expect(resets).toEqual([expect.objectContaining({ by: 'local', errorCode: 0 })]);
    expect(await stillDelivers(net, local, remote)).toBe(true);
  });

  it('abort() resets at once, even while a write waits for a peer that does not read', async () => {
    const { net, local, remote } = await connected();
    const { stream, live } = tracked(local);
    const resets: StreamReset[] = [];
    remote.reset$.subscribe((r) => resets.push(r));
    const writer = toWritableStream(stream).getWriter();
    const blocked = writer.write(pattern(DEFAULT_SEND_HIGH_WATER_MARK + INITIAL_STREAM_WINDOW));
    let settled = false;
    blocked.then(
      () => (settled = true),
      () => (settled = true),
    );
    await pump(net, 500);
    expect(settled).toBe(false);
    const aborted = writer.abort(new Error('no more'));
    await pump(net, 5);
    await aborted;
    await expect(blocked).rejects.toThrow('no more');
    expect(live()).toBe(0);
    await pump(net, 200);
    expect(resets).toEqual([expect.objectContaining({ by: 'peer', errorCode: 0 })]);
  });

  it('the peer closing its reading side errors a waiting write with StreamResetError', async () => {
    const { net, local, remote } = await connected();
    const { stream, live } = tracked(local);
    const writer = toWritableStream(stream).getWriter();
    const blocked = writer.write(pattern(DEFAULT_SEND_HIGH_WATER_MARK + INITIAL_STREAM_WINDOW));
    blocked.catch(() => undefined);
    await pump(net, 300);
    remote.close();
    await pump(net, 200);
    await expect(blocked).rejects.toBeInstanceOf(StreamResetError);
    await expect(writer.closed).rejects.toMatchObject({ by: 'local' });
    expect(live()).toBe(0);
  });
});
