/**
 * The async iterables of chunks and records on the simulator: transfers, records larger than the
 * window, backpressure that reaches the peer through the receive window, early exit and errors.
 */
import { describe, expect, it } from 'vitest';
import { StreamClosedError, StreamResetError } from '../../src/streams/errors.js';
import { chunks, RecordTooLargeError, records } from '../../src/streams/async-iteration.js';
import type { StreamReset } from '../../src/streams/stream.js';
import { INITIAL_STREAM_WINDOW } from '../../src/streams/stream-session.js';
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

/** Runs a for-await loop over `items` in the background; what it got, and how it ended. */
function consume(
  items: AsyncIterable<Uint8Array>,
  body: (item: Uint8Array, index: number) => Promise<'break' | void> | 'break' | void = () => {},
) {
  const seen = { items: [] as Uint8Array[], done: false, error: undefined as unknown };
  void (async () => {
    try {
      for await (const item of items) {
        seen.items.push(item);
        if ((await body(item, seen.items.length - 1)) === 'break') break;
      }
      seen.done = true;
    } catch (error) {
      seen.error = error;
    }
  })();
  return seen;
}

/** A promise to hold a loop on, and the function that lets it go. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('chunks', () => {
  it('yields 300 KB intact and in order, and ends with the stream', async () => {
    const { net, local, remote } = await connected();
    const data = pattern(300_000, 1);
    const seen = consume(chunks(remote));
    local.writeData(data);
    local.shutdownWrite();
    expect(await pumpUntil(net, () => seen.done, 10_000)).toBe(true);
    expectSameBytes(join(seen.items), data);
  });

  it('a loop that stops asking holds one window and no more; then it completes', async () => {
    const { net, local, remote } = await connected();
    const data = pattern(300_000, 2);
    const held = gate();
    const seen = consume(chunks(remote), (_, index) => (index === 0 ? held.wait : undefined));
    local.writeData(data);
    local.shutdownWrite();
    let maxHeld = 0;
    const watch = async (ms: number) => {
      for (let t = 0; t < ms; t += 5) {
        await pump(net, 5);
        maxHeld = Math.max(maxHeld, remote.bytesAvailable);
      }
    };
    await watch(1000);
    const waiting = local.bytesToWrite;
    await watch(1000);
    expect(seen.items.length).toBe(1);
    expect(local.bytesToWrite).toBe(waiting);
    expect(waiting).toBeGreaterThan(data.length - 2 * INITIAL_STREAM_WINDOW);
    expect(maxHeld).toBeLessThanOrEqual(INITIAL_STREAM_WINDOW);
    held.open();
    expect(await pumpUntil(net, () => seen.done, 10_000)).toBe(true);
    expectSameBytes(join(seen.items), data);
  });

  it('break closes reading: the peer is told to stop sending, writing goes on, and subscriptions end', async () => {
    const { net, local, remote } = await connected();
    const { stream, live } = tracked(remote);
    const resets: StreamReset[] = [];
    local.reset$.subscribe((r) => resets.push(r));
    local.writeData(pattern(300_000));
    const seen = consume(chunks(stream), () => 'break');
    expect(await pumpUntil(net, () => seen.done, 1000)).toBe(true);
    expect(live()).toBe(0);
    await pump(net, 200);
    // Our STOP resets the peer's sending direction, on its side a local reset.
    expect(resets).toEqual([expect.objectContaining({ by: 'local', errorCode: 0 })]);
    // Writing goes on after the loop: the peer still gets what we send.
    expect(await stillDelivers(net, remote, local)).toBe(true);
  });

  it('a reset by the peer while the loop is busy is thrown at the next step, and releases the stream', async () => {
    const { net, local, remote } = await connected();
    const { stream, live } = tracked(remote);
    const held = gate();
    const seen = consume(chunks(stream), () => held.wait);
    local.writeData(pattern(1000));
    await pumpUntil(net, () => seen.items.length > 0, 1000);
    local.reset(0x155);
    await pump(net, 100);
    expect(seen.error).toBeUndefined();
    held.open();
    await pumpUntil(net, () => seen.error !== undefined, 100);
    expect(seen.error).toBeInstanceOf(StreamResetError);
    expect(seen.error).toMatchObject({ errorCode: 0x155, by: 'peer' });
    expect(live()).toBe(0);
  });

  it('the stream closed under a waiting loop and collected: StreamClosedError', async () => {
    const { net, local, remote } = await connected();
    local.readyRead$.subscribe(() => {
      local.readData();
      if (local.atEnd) local.close();
    });
    const seen = consume(chunks(remote));
    await pump(net, 50);
    remote.close();
    await pumpUntil(net, () => seen.error !== undefined, 2000);
    expect(seen.error).toBeInstanceOf(StreamClosedError);
  });
});

describe('records', () => {
  it('yields each record whole, also larger than the window, and the tail the FIN ends', async () => {
    const { net, local, remote } = await connected();
    // 20 KB then 50 KB: the second can only complete if the first's bytes were read; 100 KB
    // and 200 KB exceed the 64 KiB window.
    const sizes = [1, 20_000, 50_000, 100_000, 3, 200_000, 4_000];
    const sent = sizes.map((size, i) => pattern(size, i));
    const seen = consume(records(remote));
    for (const record of sent.slice(0, -1)) local.writeRecord(record);
    local.writeData(sent[sent.length - 1] as Uint8Array);
    local.shutdownWrite();
    expect(await pumpUntil(net, () => seen.done, 10_000)).toBe(true);
    expect(seen.items.map((r) => r.length)).toEqual(sizes);
    seen.items.forEach((record, i) => expectSameBytes(record, sent[i] as Uint8Array));
  });

  it('between records nothing is read: a loop that stops asking holds at most a window', async () => {
    const { net, local, remote } = await connected();
    const held = gate();
    const seen = consume(records(remote), (_, index) => (index === 0 ? held.wait : undefined));
    for (let i = 0; i < 30; i++) local.writeRecord(pattern(10_000, i));
    local.shutdownWrite();
    let maxHeld = 0;
    for (let t = 0; t < 2000; t += 5) {
      await pump(net, 5);
      maxHeld = Math.max(maxHeld, remote.bytesAvailable);
    }
    expect(seen.items.length).toBe(1);
    expect(maxHeld).toBeLessThanOrEqual(INITIAL_STREAM_WINDOW);
    expect(local.bytesToWrite).toBeGreaterThan(300_000 - 2 * INITIAL_STREAM_WINDOW);
    held.open();
    expect(await pumpUntil(net, () => seen.done, 10_000)).toBe(true);
    expect(seen.items.map((r) => r.length)).toEqual(new Array(30).fill(10_000));
  });

  it('a record beyond maxRecordSize throws RecordTooLargeError and closes the stream', async () => {
    const { net, local, remote } = await connected();
    const { stream, live } = tracked(remote);
    const resets: StreamReset[] = [];
    local.reset$.subscribe((r) => resets.push(r));
    const seen = consume(records(stream, { maxRecordSize: 30_000 }));
    local.writeRecord(pattern(30_000));
    local.writeRecord(pattern(30_001));
    await pumpUntil(net, () => seen.error !== undefined, 2000);
    expect(seen.items.map((r) => r.length)).toEqual([30_000]);
    expect(seen.error).toBeInstanceOf(RecordTooLargeError);
    expect(live()).toBe(0);
    await pump(net, 200);
    expect(resets).toEqual([expect.objectContaining({ by: 'local' })]);
  });
});
