/**
 * What `sss listen` does with each stream (echo, a command per stream) and how `sss connect`
 * copies a stream, between two hosts in this process on loopback UDP.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { openHost } from '../../src/cli/cli-host.js';
import { runExec } from '../../src/cli/exec-pipe.js';
import { Identity } from '../../src/crypto/identity.js';
import { createNativeSuite } from '../../src/crypto/native-suite.js';
import { PeerWatch } from '../../src/cli/peer-watch.js';
import { StreamIo } from '../../src/cli/stream-io.js';
import { echo, pipeInput, pipeOutput, runPipes } from '../../src/cli/stream-pipe.js';
import { Host } from '../../src/host.js';
import type { Stream } from '../../src/streams/stream.js';

const hosts: Host[] = [];

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.close()));
});

/** A server handling each stream with `handle`, and a client stream to it. */
async function connected(handle: (io: StreamIo) => Promise<void>) {
  const server = await Host.create({});
  const client = await Host.create({});
  hosts.push(server, client);
  const handled: Promise<void>[] = [];
  server.listen('svc', '', 'p/1', '').newConnection$.subscribe((stream) => {
    handled.push(handle(new StreamIo(stream)));
  });
  const stream = client.connect(server.eid, 'svc', 'p/1', { endpoints: server.addresses });
  return { stream, handled };
}

/** Writes `input` to the stream, then reads everything the peer sends back until its end. */
async function exchange(stream: Stream, input: Uint8Array): Promise<Buffer> {
  const io = new StreamIo(stream);
  const output = new PassThrough();
  const parts: Buffer[] = [];
  output.on('data', (chunk: Buffer) => parts.push(chunk));
  await runPipes(io, [pipeInput(io, Readable.from([input])), pipeOutput(io, output, true)]);
  return Buffer.concat(parts);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('stream pipes', () => {
  it('echo sends every byte back, then both directions end', async () => {
    const { stream, handled } = await connected((io) => runPipes(io, [echo(io)]));
    const input = randomBytes(2 * 1024 * 1024 + 5);
    const output = await exchange(stream, input);
    expect(output.length).toBe(input.length);
    expect(sha256(output)).toBe(sha256(input));
    await handled[0];
  });

  it('--exec joins a command to each stream', async () => {
    const { stream, handled } = await connected((io) => runExec(io, 'tr a-z A-Z'));
    const output = await exchange(stream, new TextEncoder().encode('shout this\n'));
    expect(output.toString()).toBe('SHOUT THIS\n');
    await handled[0];
  });

  it('a command that stops reading ends that direction, not the stream; a failing one fails', async () => {
    const quiet = await connected((io) => runExec(io, 'echo ignored you'));
    const ignored = await exchange(quiet.stream, randomBytes(1024 * 1024));
    expect(ignored.toString()).toBe('ignored you\n');
    await quiet.handled[0];
    // head exits after 5 bytes: the server stops reading (STOP), the client stops sending.
    const head = await connected((io) => runExec(io, 'head -c 5'));
    const input = randomBytes(4 * 1024 * 1024);
    const first = await exchange(head.stream, input);
    expect(first).toEqual(input.subarray(0, 5));
    await head.handled[0];
    const failing = await connected((io) => runExec(io, 'exit 3'));
    await exchange(failing.stream, new Uint8Array(0));
    await expect(failing.handled[0]).rejects.toThrow("'exit 3' exited with code 3");
  });

  it('a peer that never answers is given up on after the timeout', async () => {
    const silent = await Host.create({});
    const { eid, addresses } = silent;
    await silent.close();
    const suite = createNativeSuite();
    const identity = Identity.generate(suite);
    const bind = { host: '127.0.0.1', port: 0 };
    // A host of the command's own: closing it also stops the handshake still under way.
    const client = await openHost({ identity, suite, bind, timeoutMs: 300 });
    try {
      const stream = client.host.connect(eid, 'svc', 'p/1', { endpoints: addresses });
      const states: string[] = [];
      let watch: PeerWatch | undefined;
      const gaveUp = new Promise<Error>((resolve) => {
        watch = new PeerWatch(stream.linkState$, {
          timeoutMs: 300,
          onLinkState: (state) => states.push(state),
          onTimeout: resolve,
        });
      });
      expect((await gaveUp).message).toContain(
        'no working link to the peer (link down) for 300 ms',
      );
      expect(states).toEqual(['down']);
      watch?.dispose();
      stream.reset();
    } finally {
      await client.close();
    }
  });
});
