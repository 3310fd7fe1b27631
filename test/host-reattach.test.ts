/**
 * Streams outlive their channel: when the channel to a peer fails, the host dials again and the
 * streams carry on over the new one without loss or duplication (PROTOCOL.md §4.9).
 */
import { describe, expect, it } from 'vitest';
import { ChannelErrorCode } from '../src/channel/frames.js';
import { ConnectError } from '../src/channel/channel-host.js';
import type { Host } from '../src/host.js';
import { StreamResetError } from '../src/streams/errors.js';
import type { Stream, StreamReset } from '../src/streams/stream.js';
import { StreamErrorCode } from '../src/streams/stream-state.js';
import { hostPair } from './fixtures/host-pair.js';

const BYTES = 300_000;

/** `length` bytes that differ by `salt`, so each direction's data is recognisable. */
function pattern(length: number, salt: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 13 + (i >> 8) + salt) & 0xff);
}

/** Everything the stream delivers, and whether it reached the end. */
function collect(stream: Stream) {
  const chunks: Uint8Array[] = [];
  const got = { bytes: 0, ended: false, errors: [] as Error[] };
  stream.readyRead$.subscribe(() => {
    for (let d = stream.readData(); d.length > 0; d = stream.readData()) {
      chunks.push(d);
      got.bytes += d.length;
    }
    if (stream.atEnd) got.ended = true;
  });
  stream.error$.subscribe((error) => got.errors.push(error));
  const joined = (): Uint8Array => {
    const out = new Uint8Array(got.bytes);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  };
  return { got, joined };
}

/** A service that sends BYTES of salt 2 on each stream and keeps what it receives. */
function swapServer(server: Host) {
  const received: ReturnType<typeof collect>[] = [];
  server.listen('swap', '', 'v1', '').newConnection$.subscribe((stream) => {
    received.push(collect(stream));
    stream.writeData(pattern(BYTES, 2));
    stream.shutdownWrite();
  });
  return received;
}

/** A 1 MB/s link, so that a transfer of BYTES each way lasts a few hundred milliseconds. */
const SLOW = { delayMs: 10, bandwidthBps: 8_000_000 };

async function swapping(seed = 1) {
  const pair = await hostPair({ seed, link: SLOW });
  const atServer = swapServer(pair.server);
  const stream = pair.client.connect(pair.server.eid, 'swap', 'v1', { endpoints: pair.endpoints });
  const atClient = collect(stream);
  stream.writeData(pattern(BYTES, 1));
  stream.shutdownWrite();
  const done = () => atClient.got.ended && atServer[0]?.got.ended === true;
  return { ...pair, stream, atClient, atServer, done };
}

/**
 * 150 ms into the transfer the server drops its end of the channel, and its CLOSE is lost in a
 * partition lasting `partitionMs`: the client learns nothing from the network. Returns the
 * client's channel of before.
 */
function serverDropsUnheard(pair: Awaited<ReturnType<typeof swapping>>, partitionMs: number) {
  const { net, client, server, clientSim, serverSim } = pair;
  net.runFor(150);
  const first = client.channelTo(server.eid);
  net.partition([clientSim], [serverSim]);
  server.channelTo(client.eid)?.close(ChannelErrorCode.internal, 'lost state');
  net.runFor(partitionMs);
  net.healAll();
  return first;
}

describe('Host: streams across channels', () => {
  it('a channel that fails mid-transfer is replaced; both directions arrive exactly once, in order', async () => {
    const { net, client, server, stream, atClient, atServer, done } = await swapping();
    const attachment: string[] = [];
    stream.actor.subscribe((snapshot) => {
      const value = snapshot.value;
      const now = typeof value === 'object' && 'live' in value ? value.live : undefined;
      const region = typeof now === 'object' ? (now as { attachment: string }).attachment : '';
      if (region !== attachment.at(-1)) attachment.push(region);
    });
    net.runFor(150);
    const first = client.channelTo(server.eid);
    expect(first).toBeDefined();
    expect(atClient.got.bytes).toBeGreaterThan(0);
    expect(atClient.got.bytes).toBeLessThan(BYTES);
    first?.close(ChannelErrorCode.internal, 'simulated failure');
    net.runUntil(done, 10_000);
    net.runFor(1000);
    const second = client.channelTo(server.eid);
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(atClient.joined()).toEqual(pattern(BYTES, 2));
    expect(atServer[0]?.joined()).toEqual(pattern(BYTES, 1));
    expect(atClient.got.errors).toEqual([]);
    expect(atServer).toHaveLength(1);
    // The stream saw its channel go and the next one come, and was collected at the end.
    expect(attachment).toEqual(['attached', 'detached', 'attached', '']);
  });

  it('a host that dropped the channel unheard dials back, and the streams carry on', async () => {
    const pair = await swapping(2);
    const { net, client, server, atClient, atServer, done } = pair;
    const first = serverDropsUnheard(pair, 500);
    net.runUntil(done, 60_000);
    expect(client.channelTo(server.eid)).not.toBe(first);
    expect(atClient.joined()).toEqual(pattern(BYTES, 2));
    expect(atServer[0]?.joined()).toEqual(pattern(BYTES, 1));
    expect(atClient.got.errors).toEqual([]);
  });

  it('a higher-key peer that lost its end of a channel just dialled is taken back at once, not after the dial round', async () => {
    // Seed 4: the client, which dialled, holds the lower key, so the server's dial back falls
    // inside the client's round of crossed dials.
    const pair = await swapping(4);
    const { net, client, server, atClient, atServer, done } = pair;
    expect(Buffer.compare(client.eid.publicKey, server.eid.publicKey)).toBeLessThan(0);
    const first = serverDropsUnheard(pair, 100);
    const healed = net.now();
    net.runUntil(done, 60_000);
    // The client's channel went quiet when the server dropped it, so the server's new one wins
    // once the quiet second has passed, well inside the 10 s round.
    expect(net.now() - healed).toBeLessThan(5000);
    expect(client.channelTo(server.eid)).not.toBe(first);
    expect(atClient.joined()).toEqual(pattern(BYTES, 2));
    expect(atServer[0]?.joined()).toEqual(pattern(BYTES, 1));
  });

  it("a peer's host closing ends the streams it shared at once, with peer-closed, and no dial follows", async () => {
    const { net, client, server, stream, atClient } = await swapping(3);
    net.runFor(150);
    const resets: number[] = [];
    stream.reset$.subscribe((info) => resets.push(info.errorCode));
    const closedAt = net.now();
    void server.close();
    net.runUntil(() => resets.length > 0, 1000);
    // One way is 10 ms; the CLOSE may queue behind data already in the 1 MB/s link.
    expect(net.now() - closedAt).toBeLessThan(100);
    expect(resets).toEqual([StreamErrorCode.peerClosed]);
    expect(atClient.got.errors[0]).toBeInstanceOf(StreamResetError);
    expect(() => stream.writeData(pattern(10, 0))).toThrow(StreamResetError);
    net.runFor(30_000);
    expect(client.channelTo(server.eid)).toBeUndefined();
    expect(client.streamSession(server.eid)?.streams.size).toBe(0);
  });

  it('a peer that never comes back fails the streams with ConnectError after reconnectGiveUpMs', async () => {
    const { net, client, server, serverSim, endpoints } = await hostPair({
      seed: 4,
      link: SLOW,
      reconnectGiveUpMs: 30_000,
    });
    swapServer(server);
    const stream = client.connect(server.eid, 'swap', 'v1', { endpoints });
    const { got } = collect(stream);
    stream.writeData(pattern(BYTES, 1));
    net.runFor(150);
    let downAt: number | undefined;
    stream.linkState$.subscribe((state) => {
      if (state === 'down') downAt ??= net.now();
    });
    net.crash(serverSim);
    net.runUntil(() => got.errors.length > 0, 200_000);
    expect(got.errors[0]).toBeInstanceOf(ConnectError);
    const failedAfter = net.now() - (downAt as number);
    // Dials go on for the 30 s, then the one under way times out (at most 10 s more).
    expect(failedAfter).toBeGreaterThanOrEqual(30_000);
    expect(failedAfter).toBeLessThanOrEqual(30_000 + 10_000 + 8_000);
    // A new stream to the peer, still gone, gives up the same way instead of dialling for ever.
    const again = client.connect(server.eid, 'swap', 'v1', { endpoints });
    const errors: Error[] = [];
    again.error$.subscribe((error) => errors.push(error));
    const second = net.now();
    net.runUntil(() => errors.length > 0, 200_000);
    expect(errors[0]).toBeInstanceOf(ConnectError);
    expect(net.now() - second).toBeLessThanOrEqual(30_000 + 10_000 + 8_000);
  });

  it('two hosts that dial each other at once settle on the same channel and carry on', async () => {
    const { net, client, server, clientSim, serverSim, atClient, atServer, done } =
      await swapping(6);
    // The server also has a stream to the client, so both sides dial when the channel fails.
    const reverse = swapServer(client);
    const back = server.connect(client.eid, 'swap', 'v1', {
      endpoints: [{ host: '10.0.0.1', port: 4433 }],
    });
    const atServerBack = collect(back);
    back.writeData(pattern(BYTES, 3));
    back.shutdownWrite();
    net.runFor(150);
    // Both lose the channel at the same instant and neither hears the other's CLOSE.
    net.partition([clientSim], [serverSim]);
    client.channelTo(server.eid)?.close(ChannelErrorCode.internal, 'failure');
    server.channelTo(client.eid)?.close(ChannelErrorCode.internal, 'failure');
    net.healAll();
    net.runUntil(() => done() && atServerBack.got.ended && reverse[0]?.got.ended === true, 60_000);
    const atClientSide = client.channelTo(server.eid);
    const atServerSide = server.channelTo(client.eid);
    expect(atClientSide?.closeReason).toBeUndefined();
    expect(atServerSide?.closeReason).toBeUndefined();
    const received = [atClientSide, atServerSide].map((c) => c?.core.stats.packetsReceived ?? 0);
    net.runFor(20_000);
    // Still open, and each has heard its peer since: they are the two ends of one channel.
    expect(atClientSide?.closeReason).toBeUndefined();
    expect(atServerSide?.closeReason).toBeUndefined();
    expect(client.channelTo(server.eid)).toBe(atClientSide);
    expect(server.channelTo(client.eid)).toBe(atServerSide);
    expect(atClientSide?.core.stats.packetsReceived).toBeGreaterThan(received[0] as number);
    expect(atServerSide?.core.stats.packetsReceived).toBeGreaterThan(received[1] as number);
    expect(atClient.joined()).toEqual(pattern(BYTES, 2));
    expect(atServer[0]?.joined()).toEqual(pattern(BYTES, 1));
    expect(atServerBack.joined()).toEqual(pattern(BYTES, 2));
    expect(reverse[0]?.joined()).toEqual(pattern(BYTES, 3));
  });

  it('closing a host cancels its dials: no handshake timer outlives the sockets', async () => {
    const { net, client, server, serverSim, endpoints } = await hostPair({ seed: 6 });
    net.crash(serverSim);
    const stream = client.connect(server.eid, 'swap', 'v1', { endpoints });
    const errors: Error[] = [];
    stream.error$.subscribe((error) => errors.push(error));
    net.runFor(300);
    await client.close();
    // The handshake's retransmissions would have gone on for 10 s, on a closed socket.
    expect(() => net.runFor(20_000)).not.toThrow();
    expect(errors).toEqual([expect.objectContaining({ state: 'cancelled' })]);
  });

  it('a peer that reads everything and closes its host at once acknowledges it all in its CLOSE', async () => {
    const { net, client, server, endpoints } = await hostPair({ seed: 7, link: SLOW });
    server.listen('sink', '', 'v1', '').newConnection$.subscribe((stream) => {
      stream.readyRead$.subscribe(() => {
        while (stream.readData().length > 0);
        if (stream.atEnd) void server.close();
      });
    });
    const stream = client.connect(server.eid, 'sink', 'v1', { endpoints });
    const resets: StreamReset[] = [];
    stream.reset$.subscribe((reset) => resets.push(reset));
    stream.writeData(pattern(BYTES, 1));
    stream.shutdownWrite();
    net.runUntil(() => resets.length > 0, 10_000);
    expect(resets).toEqual([
      { errorCode: StreamErrorCode.peerClosed, by: 'peer', unacknowledged: 0 },
    ]);
  });

  it('what a host wrote just before closing is sent before its CLOSE', async () => {
    const { net, client, server, endpoints } = await hostPair({ seed: 8 });
    const got: string[] = [];
    server.listen('last', '', 'v1', '').newConnection$.subscribe((stream) => {
      stream.readyReadRecord$.subscribe(() => {
        for (let r = stream.readRecord(); r !== undefined; r = stream.readRecord()) {
          got.push(new TextDecoder().decode(r));
        }
      });
    });
    const stream = client.connect(server.eid, 'last', 'v1', { endpoints });
    stream.writeRecord(new TextEncoder().encode('first'));
    net.runFor(200);
    stream.writeRecord(new TextEncoder().encode('last words'));
    stream.shutdownWrite();
    void client.close();
    net.runFor(200);
    expect(got).toEqual(['first', 'last words']);
  });
});
