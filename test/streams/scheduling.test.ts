/**
 * Streams sharing one channel on the simulator: no head-of-line blocking between them, strict
 * priorities that change within a round trip, and flow control the sender never overruns.
 */
import { describe, expect, it } from 'vitest';
import type { Host } from '../../src/host.js';
import type { Stream } from '../../src/streams/stream.js';
import { INITIAL_STREAM_WINDOW } from '../../src/streams/stream-session.js';
import { hostPair, text } from '../fixtures/host-pair.js';

/** A server that accepts every connection of `service` and hands it to `onStream`. */
function serve(server: Host, service: string, onStream: (stream: Stream) => void): void {
  server.listen(service, '', 'v1', '').newConnection$.subscribe(onStream);
}

/** Reads everything readable, counting bytes into `counter[key]`. */
function drain(stream: Stream, onBytes: (bytes: number) => void): void {
  stream.readyRead$.subscribe(() => {
    for (let data = stream.readData(); data.length > 0; data = stream.readData()) {
      onBytes(data.length);
    }
  });
}

describe('streams on one channel', () => {
  it('no head-of-line blocking: losses of a bulk stream do not delay small records on another', async () => {
    const delay = 20;
    const { net, client, server, endpoints } = await hostPair({
      link: { delayMs: delay, loss: 0.03, bandwidthBps: 8_000_000, queueBytes: 200_000 },
      seed: 4,
    });
    const latencies: number[] = [];
    const sentAt = new Map<string, number>();
    serve(server, 'bulk', (stream) => drain(stream, () => undefined));
    serve(server, 'chat', (stream) =>
      stream.readyReadRecord$.subscribe(() => {
        for (let r = stream.readRecord(); r !== undefined; r = stream.readRecord()) {
          const key = new TextDecoder().decode(r);
          latencies.push(net.now() - (sentAt.get(key) as number));
        }
      }),
    );
    const bulk = client.connect(server.eid, 'bulk', 'v1', { endpoints });
    const chat = client.connect(server.eid, 'chat', 'v1', { endpoints });
    bulk.writeData(new Uint8Array(3_000_000));
    net.runFor(1000);
    for (let i = 0; i < 100; i++) {
      const key = `m${i}`;
      sentAt.set(key, net.now());
      chat.writeRecord(text(key));
      net.runFor(50);
    }
    net.runFor(2000);
    expect(latencies).toHaveLength(100);
    const sorted = [...latencies].sort((a, b) => a - b);
    // Most records take one trip (plus queueing behind the bulk stream's packets in the link);
    // only a record whose own packet was lost waits for a retransmission.
    const median = sorted[50] as number;
    expect(median).toBeLessThan(delay + 60);
    const slow = latencies.filter((l) => l > median + 2 * delay).length;
    expect(slow).toBeLessThanOrEqual(10);
  });

  it('strict priority: the higher stream takes the link; a change applies within one round trip', async () => {
    const { net, client, server, endpoints } = await hostPair({
      link: { delayMs: 10, bandwidthBps: 4_000_000, queueBytes: 60_000 },
      seed: 5,
    });
    const received = { a: 0, b: 0 };
    serve(server, 'a', (stream) => drain(stream, (n) => (received.a += n)));
    serve(server, 'b', (stream) => drain(stream, (n) => (received.b += n)));
    const a = client.connect(server.eid, 'a', 'v1', { endpoints });
    const b = client.connect(server.eid, 'b', 'v1', { endpoints });
    a.setPriority(1);
    for (const stream of [a, b]) stream.writeData(new Uint8Array(20_000_000));
    net.runFor(3000);
    const first = { ...received };
    net.runFor(2000);
    const shareA = (received.a - first.a) / (received.a - first.a + received.b - first.b);
    expect(shareA).toBeGreaterThan(0.95);
    // Swap: b goes above a. Within a round trip (20 ms) plus the queue ahead (120 ms at 4 Mbit/s)
    // b's bytes must dominate what arrives.
    b.setPriority(2);
    net.runFor(200);
    const swapped = { ...received };
    net.runFor(2000);
    const shareB = (received.b - swapped.b) / (received.a - swapped.a + received.b - swapped.b);
    expect(shareB).toBeGreaterThan(0.95);
  });

  it('equal priorities share fairly, round robin', async () => {
    const { net, client, server, endpoints } = await hostPair({
      link: { delayMs: 10, bandwidthBps: 4_000_000, queueBytes: 60_000 },
      seed: 6,
    });
    const received = { a: 0, b: 0 };
    serve(server, 'a', (stream) => drain(stream, (n) => (received.a += n)));
    serve(server, 'b', (stream) => drain(stream, (n) => (received.b += n)));
    for (const name of ['a', 'b'] as const) {
      client.connect(server.eid, name, 'v1', { endpoints }).writeData(new Uint8Array(20_000_000));
    }
    net.runFor(5000);
    const share = received.a / (received.a + received.b);
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.55);
  });

  it('flow control: a reader that does not read blocks the writer at the window; reading resumes it', async () => {
    const { net, client, server, endpoints } = await hostPair();
    const accepted: Stream[] = [];
    let blocked = 0;
    serve(server, 'slow', (stream) => {
      accepted.push(stream);
      stream.receiveBlocked$.subscribe(() => blocked++);
    });
    const writer = client.connect(server.eid, 'slow', 'v1', { endpoints });
    writer.writeData(new Uint8Array(1_000_000));
    let maxBuffered = 0;
    for (let t = 0; t < 2000; t += 10) {
      net.runFor(10);
      const reader = accepted[0];
      if (reader !== undefined) maxBuffered = Math.max(maxBuffered, reader.state.receive.buffered);
    }
    const reader = accepted[0] as Stream;
    expect(blocked).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThanOrEqual(INITIAL_STREAM_WINDOW);
    // The request record was read by the host; the rest waits in the window, and the writer
    // still holds nearly everything.
    expect(writer.bytesToWrite).toBeGreaterThan(1_000_000 - 2 * INITIAL_STREAM_WINDOW);
    reader.setReceiveBuffer(1 << 20);
    let total = 0;
    drain(reader, (n) => (total += n));
    for (let d = reader.readData(); d.length > 0; d = reader.readData()) total += d.length;
    net.runFor(5000);
    expect(total).toBe(1_000_000);
    expect(writer.bytesToWrite).toBe(0);
  });
});

describe('stream limits', () => {
  it('refused substreams do not use up the peer allowance: 300 refused, then one more is accepted', async () => {
    const { net, client, server, endpoints } = await hostPair();
    const accepted: Stream[] = [];
    serve(server, 'svc', (stream) => accepted.push(stream));
    const top = client.connect(server.eid, 'svc', 'v1', { endpoints });
    top.writeData(text('x'));
    net.runFor(500);
    // The server does not listen for substreams: every one is refused.
    let resets = 0;
    for (let i = 0; i < 300; i++) {
      const child = top.openSubstream();
      child.reset$.subscribe(() => resets++);
      child.writeData(text('hi'));
      net.runFor(5);
    }
    net.runFor(2000);
    expect(resets).toBe(300);
    (accepted[0] as Stream).listen('accept');
    const children: Stream[] = [];
    (accepted[0] as Stream).substreams$.subscribe((child) => children.push(child));
    top.openSubstream().writeData(text('now'));
    net.runFor(500);
    expect(children).toHaveLength(1);
  });
});
