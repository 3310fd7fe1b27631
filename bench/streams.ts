/**
 * Stream-layer figures: what an application sees through {@link Host} and {@link Stream}.
 *
 * - `sssMBps`: MB/s (1e6 bytes) one stream delivers between two processes over real UDP on
 *   127.0.0.1 (Host with the default native suite, `bind: [{ host: '127.0.0.1', port: 0 }]`),
 *   counted at the receiver's `readData` over `--seconds` after a `--warmup` that starts at its
 *   first byte. The sender writes 64 KiB chunks while `bytesToWrite` is below 4 MiB
 *   (`--send-ahead`) and tops up on `bytesWritten$`; the receiver sets a 4 MiB receive buffer
 *   (`--receive-window`). The sockets get the Host's default buffers (4 MiB requested) unless
 *   `--socket-buffer` asks for others. `sssBuffersMBps` is the same with sockets the bench binds
 *   itself with 4 MiB buffers (`Host.create({ sockets })`), as bench:channel does; any difference
 *   is in what the kernel drops (`kernelRcvbufErrors`, counted machine-wide). `bulk.sss.aead`
 *   says which ChaCha20-Poly1305 the native suite ran: `addon` (native/aead.c, built at install)
 *   or `node:crypto` where it was not built. `sssNodeCryptoMBps` is the sss case with the addon
 *   turned off (`createNativeSuite(random, { aeadAddon: false })`): the baseline the addon is
 *   measured against, in the same run.
 *   `receiverCpuShare` and `senderCpuShare` are CPU seconds per wall second of each process:
 *   near 1, that side was CPU-bound (on a busy machine, also near the share the scheduler gave).
 *   The sender's channel counts, over its whole life: `datagramsSent` and `bytesPerDatagram`
 *   (near 65,507 when packets go full), `datagramsReceived` (the receiver's acknowledgements)
 *   and `packetsLost`.
 * - Baselines, measured in the same run the same way (two processes, same chunks, counted at the
 *   receiver over the same window): `tcpMBps` (node:net) and `tlsMBps` (node:tls, TLS 1.3,
 *   default cipher choice; the fixed self-signed certificate of bench/lib/tls-cert.ts, verified by
 *   the client), written with Node's usual `write` until it says no, then `drain`. `ratioTls` =
 *   sssMBps / tlsMBps. `tlsChaChaMBps` is TLS 1.3 held to ChaCha20-Poly1305, the AEAD the native
 *   suite uses, to tell cipher cost from the rest.
 * - `coldRequestRtts`, `warmRequestRtts`: on the simulator (deterministic; two hosts, 50 ms each
 *   way, no loss), the virtual time from `connect` (cold: the handshake included) or from
 *   `openSubstream()` on a live stream (warm) to the application reading the 100-byte response
 *   record to its 100-byte request record, over the RTT; the worst of several samples (3 seeds;
 *   5 substreams per seed). `latency.warmConnect` is a new top-level `connect` on the live
 *   channel (service rendezvous and request in one flight).
 * - `streamsPerSec`: on a live channel on the simulator's ideal link (1 ms each way, one process,
 *   both hosts on one thread, so each stream's cost is counted at both ends): open a substream,
 *   write a 32-byte request record and the FIN, the server answers with a record and closes, the
 *   client reads the answer and, at the server's FIN, closes; 64 such at a time, completions per
 *   second of wall time (`churn.streamsPerCpuSec` per CPU second, for a loaded machine). The
 *   simulator skips idle time, so this is CPU cost per stream at both ends, not link latency;
 *   two processes on real loopback would split it over two cores but add a syscall per packet
 *   and timer latency, and measure the machine's scheduler as much as the stream layer.
 * - `bytesPerIdleStream`: heapUsed growth (after forced GC) per open idle stream with `--streams`
 *   (10,000) open: a client process runs one Host per 250 streams (the session's default limit of
 *   concurrently open peer streams is 256) connecting to one server process over real UDP; each
 *   stream did one request/response record pair and is idle, and the bench holds it with no
 *   subscription. Each process measures its own heap once every channel is up (one stream per
 *   client host) and again with the streams open; the figure is the larger side
 *   (`memory.server`, `memory.client` hold both, with arrayBuffers growth).
 *
 * Targets (`targets`): ratioTls ≥ 0.5, coldRequestRtts ≤ 2, warmRequestRtts ≤ 1.1, streamsPerSec ≥
 * 20,000, bytesPerIdleStream ≤ 8192; `meetsTargets` says which are met (`all`: every one).
 * Every case runs in its own processes, one case at a time. Usage: `npm run bench:streams --
 * [--seconds S] [--warmup W] [--streams N] [--receive-window B] [--send-ahead B] [--socket-buffer
 * B] [--cases sss,sssNodeCrypto,sssBuffers,tcp,tls,tlsChaCha,latency,churn,memory]
 * [--cpu-prof-dir DIR] [--heap-snapshot-dir DIR]` (S default 3, W default 0.5; with DIR the processes write CPU
 * profiles, or the memory case's two processes heap snapshots, there). The last stdout line is the
 * JSON result; a case that fails or is not selected shows as `null`, a failure with its reason in
 * `errors` and exit code 1.
 */
import { availableParallelism, loadavg } from 'node:os';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as tlsCreateServer, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { toHex } from '../src/crypto/bytes.js';
import { Eid } from '../src/crypto/eid.js';
import { Identity } from '../src/crypto/identity.js';
import { createNativeSuite, nativeAeadBackend } from '../src/crypto/native-suite.js';
import type { DatagramSocket } from '../src/net/datagram-socket.js';
import { UdpSocket } from '../src/net/udp.js';
import { Host } from '../src/host.js';
import type { Stream } from '../src/streams/stream.js';
import { hostPair } from '../test/fixtures/host-pair.js';
import { BenchChild } from './lib/child.js';
import { BENCH_TLS_CERT, BENCH_TLS_KEY } from './lib/tls-cert.js';
import { MeasureWindow } from './lib/window.js';
import { CaseLog, rcvbufErrors, round } from './lib/report.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '0.5' },
    streams: { type: 'string', default: '10000' },
    'receive-window': { type: 'string', default: String(4 * 2 ** 20) },
    'send-ahead': { type: 'string', default: String(4 * 2 ** 20) },
    'socket-buffer': { type: 'string' },
    'cpu-prof-dir': { type: 'string' },
    'heap-snapshot-dir': { type: 'string' },
    case: { type: 'string' },
    port: { type: 'string' },
    key: { type: 'string' },
    cipher: { type: 'string' },
    aead: { type: 'string' },
    cases: {
      type: 'string',
      default: 'sss,sssNodeCrypto,sssBuffers,tcp,tls,tlsChaCha,latency,churn,memory',
    },
  },
});
const durationMs = Number(values.seconds) * 1000;
const warmupMs = Number(values.warmup) * 1000;
const idleStreams = Number(values.streams);
const receiveWindow = Number(values['receive-window']);
/** The stream sender writes while `bytesToWrite` is below this. */
const sendAhead = Number(values['send-ahead']);
const socketBuffer = values['socket-buffer'] === undefined ? 0 : Number(values['socket-buffer']);
if (
  !(durationMs > 0) ||
  !(warmupMs >= 0) ||
  !Number.isSafeInteger(idleStreams) ||
  idleStreams < 1 ||
  !Number.isSafeInteger(receiveWindow) ||
  receiveWindow < 1 ||
  !(sendAhead > 0) ||
  !(socketBuffer >= 0)
) {
  console.error(
    'usage: bench/streams.js [--seconds S] [--warmup W] [--streams N] [--receive-window BYTES]' +
      ' [--send-ahead BYTES] [--socket-buffer BYTES] [--cases LIST] [--cpu-prof-dir DIR]' +
      ' [--heap-snapshot-dir DIR]',
  );
  process.exit(2);
}

const LOOPBACK = '127.0.0.1';
/** Bytes per write of every bulk sender. */
const CHUNK_BYTES = 64 * 1024;
/** A receiver waits this long for its first byte before it gives up, ms. */
const FIRST_ARRIVAL_TIMEOUT_MS = 15_000;
/** Senders stop this long after the receiver's window should have closed, ms. */
const SENDER_GRACE_MS = 2000;
/** One-way delay of the latency case's simulated link, ms. */
const LATENCY_ONE_WAY_MS = 50;
/** Request and response record sizes of the latency and churn cases, bytes. */
const REQUEST_BYTES = 100;
/** Streams the churn case keeps going at once. */
const CHURN_CONCURRENCY = 64;
/** Streams per client host in the memory case: below the session's limit of 256 peer streams. */
const STREAMS_PER_PEER = 250;
/** The memory case's budget for opening every stream and hearing every answer, ms. */
const MEMORY_OPEN_TIMEOUT_MS = 30_000;
/** How long the memory case lets acknowledgements settle before it measures, ms. */
const SETTLE_MS = 300;

const SERVICE = 'bench';
const PROTOCOL = 'v1';

/** CPU seconds this process has used, user and system. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Prints the result line, with the process's CPU and wall seconds (CPU near wall: the process was
 * CPU-bound), and exits once it is written.
 */
function finishWith(result: object): void {
  const usage = { cpuSeconds: cpuSeconds(), wallSeconds: process.uptime() };
  process.stdout.write(`${JSON.stringify({ ...result, ...usage })}\n`, () => process.exit(0));
}

/** Prints `message` and exits with 1: the parent records the case as failed. */
function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

/** Calls `stop` when the parent ends this process's stdin. */
function onStop(stop: () => void): void {
  process.stdin.on('end', stop).resume();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Closes the receiver's window when arrivals stop; gives up if none ever come. */
function guardWindow(window: MeasureWindow, finish: () => void): void {
  const started = performance.now();
  const check = setInterval(() => {
    const first = window.firstAt;
    if (first === undefined) {
      if (performance.now() - started > FIRST_ARRIVAL_TIMEOUT_MS) fail('receiver: no data arrived');
    } else if (performance.now() > first + warmupMs + durationMs + SENDER_GRACE_MS / 2) {
      finish();
    }
  }, 100);
  check.unref();
}

/** A receiver's count of arrivals into its window; `finish` prints the result once. */
function receiverCount(extra: () => Record<string, unknown>) {
  const window = new MeasureWindow(warmupMs, durationMs);
  let bytes = 0;
  let reads = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    finishWith({ ...window.close(), totalBytes: bytes, reads, ...extra() });
  };
  guardWindow(window, finish);
  return {
    add(length: number): void {
      if (done || length === 0) return;
      bytes += length;
      reads++;
      if (window.observe(performance.now(), bytes, reads)) finish();
    },
  };
}

async function benchHost(): Promise<Host> {
  const suite = createNativeSuite(undefined, { aeadAddon: values.aead !== 'node:crypto' });
  const identity = Identity.generate(suite);
  if (socketBuffer === 0) {
    return Host.create({ identity, suite, bind: [{ host: LOOPBACK, port: 0 }] });
  }
  const socket: DatagramSocket = await UdpSocket.bind({
    host: LOOPBACK,
    recvBufferSize: socketBuffer,
    sendBufferSize: socketBuffer,
  });
  return Host.create({ identity, suite, sockets: [socket] });
}

function hostReady(host: Host): void {
  const address = host.addresses[0];
  console.log(JSON.stringify({ port: address?.port, key: toHex(host.eid.publicKey) }));
}

function peerEid(): Eid {
  return Eid.fromPublicKey(Buffer.from(values.key ?? '', 'hex'));
}

// --- Bulk goodput: the stream --------------------------------------------------------------------

async function sssReceiver(): Promise<void> {
  const host = await benchHost();
  let streams = 0;
  let errors = 0;
  const count = receiverCount(() => ({ streams, errors, receiveWindow }));
  host
    .listen(SERVICE, 'bulk sink', PROTOCOL, 'bytes in, counted')
    .newConnection$.subscribe((stream) => {
      streams++;
      stream.setReceiveBuffer(receiveWindow);
      const drain = () => {
        for (let data = stream.readData(); data.length > 0; data = stream.readData()) {
          count.add(data.length);
        }
      };
      stream.readyRead$.subscribe(drain);
      stream.error$.subscribe(() => errors++);
      drain();
    });
  hostReady(host);
}

async function sssSender(): Promise<void> {
  const host = await benchHost();
  const port = Number(values.port);
  const started = performance.now();
  const stream = host.connect(peerEid(), SERVICE, PROTOCOL, {
    endpoints: [{ host: LOOPBACK, port }],
  });
  const chunk = new Uint8Array(CHUNK_BYTES).fill(0xa5);
  let written = 0;
  let acknowledged = 0;
  let firstAckMs: number | undefined;
  let error: string | undefined;
  let stopped = false;
  const pump = () => {
    while (!stopped && stream.bytesToWrite < sendAhead) {
      stream.writeData(chunk);
      written += chunk.length;
    }
  };
  stream.bytesWritten$.subscribe((bytes) => {
    firstAckMs ??= performance.now() - started;
    acknowledged += bytes;
    pump();
  });
  const finish = () => {
    if (stopped) return;
    stopped = true;
    const channel = host.channelTo(peerEid())?.core.stats;
    finishWith({
      written,
      acknowledged,
      bytesToWrite: stream.bytesToWrite,
      firstAckMs,
      error,
      datagramsSent: channel?.packetsSent,
      bytesSent: channel?.bytesSent,
      datagramsReceived: channel?.packetsReceived,
      packetsLost: channel?.packetsLost,
    });
  };
  stream.error$.subscribe((e) => {
    error = e.message;
    finish();
  });
  onStop(finish);
  setTimeout(finish, FIRST_ARRIVAL_TIMEOUT_MS + warmupMs + durationMs).unref();
  pump();
}

// --- Bulk goodput: node:net and node:tls ---------------------------------------------------------

async function tcpReceiver(secure: boolean): Promise<void> {
  let cipher: unknown;
  const count = receiverCount(() => ({ cipher }));
  const onSocket = (socket: Socket) => {
    socket.on('data', (data: Buffer) => count.add(data.length));
    socket.on('error', () => undefined);
  };
  const server = secure
    ? tlsCreateServer(
        {
          key: BENCH_TLS_KEY,
          cert: BENCH_TLS_CERT,
          minVersion: 'TLSv1.3',
          ...(values.cipher === undefined ? {} : { ciphers: values.cipher }),
        },
        (socket: TLSSocket) => {
          cipher = socket.getCipher();
          onSocket(socket);
        },
      )
    : createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' ? address?.port : undefined }));
}

async function tcpSender(secure: boolean): Promise<void> {
  const port = Number(values.port);
  const socket: Socket = secure
    ? tlsConnect({
        host: LOOPBACK,
        port,
        ca: BENCH_TLS_CERT,
        servername: 'localhost',
        minVersion: 'TLSv1.3',
        ...(values.cipher === undefined ? {} : { ciphers: values.cipher }),
      })
    : createConnection({ host: LOOPBACK, port });
  const chunk = Buffer.alloc(CHUNK_BYTES, 0xa5);
  let written = 0;
  let stopped = false;
  let error: string | undefined;
  const pump = () => {
    while (!stopped) {
      written += chunk.length;
      if (!socket.write(chunk)) return;
    }
  };
  const finish = () => {
    if (stopped) return;
    stopped = true;
    socket.destroy();
    finishWith({ written, error });
  };
  socket.on('drain', pump);
  socket.once(secure ? 'secureConnect' : 'connect', pump);
  socket.on('error', (e) => {
    error = e.message;
    finish();
  });
  onStop(finish);
  setTimeout(finish, FIRST_ARRIVAL_TIMEOUT_MS + warmupMs + durationMs).unref();
}

// --- Request latency on the simulator ------------------------------------------------------------

/** Answers every request record of `stream`, and of the substreams opened under it, in kind. */
function answer(stream: Stream, response: Uint8Array): void {
  stream.listen('accept');
  stream.substreams$.subscribe((child) => answer(child, response));
  const reply = () => {
    for (let record = stream.readRecord(); record !== undefined; record = stream.readRecord()) {
      stream.writeRecord(response);
    }
  };
  stream.readyReadRecord$.subscribe(reply);
  reply();
}

/** Resolves the sim time at which `stream` delivers its first record to the application. */
function firstRecordAt(stream: Stream, now: () => number): { at: number | undefined } {
  const seen: { at: number | undefined } = { at: undefined };
  const subscription = stream.readyReadRecord$.subscribe(() => {
    if (stream.readRecord() === undefined) return;
    seen.at = now();
    subscription.unsubscribe();
  });
  return seen;
}

async function latency() {
  const rttMs = 2 * LATENCY_ONE_WAY_MS;
  const request = new Uint8Array(REQUEST_BYTES).fill(1);
  const response = new Uint8Array(REQUEST_BYTES).fill(2);
  const cold: number[] = [];
  const warm: number[] = [];
  const warmConnect: number[] = [];
  for (const seed of [1, 2, 3]) {
    const { net, client, server, endpoints } = await hostPair({
      seed,
      link: { delayMs: LATENCY_ONE_WAY_MS },
    });
    server
      .listen(SERVICE, 'echo', PROTOCOL, 'a record answers a record')
      .newConnection$.subscribe((stream) => answer(stream, response));
    // Cold: no channel yet; the request is written as soon as connect returns the stream.
    let start = net.now();
    const top = client.connect(server.eid, SERVICE, PROTOCOL, { endpoints });
    top.writeRecord(request);
    const first = firstRecordAt(top, () => net.now());
    if (!net.runUntil(() => first.at !== undefined, 10_000)) throw new Error('cold: no response');
    cold.push(((first.at as number) - start) / rttMs);
    net.runFor(1000);
    // Warm: substreams of the live top-level stream, one after another.
    for (let i = 0; i < 5; i++) {
      start = net.now();
      const child = top.openSubstream();
      child.writeRecord(request);
      const reply = firstRecordAt(child, () => net.now());
      if (!net.runUntil(() => reply.at !== undefined, 10_000)) throw new Error('warm: no response');
      warm.push(((reply.at as number) - start) / rttMs);
      child.close();
      net.runFor(500);
    }
    // A new top-level stream on the live channel: the service rendezvous rides with the request.
    start = net.now();
    const again = client.connect(server.eid, SERVICE, PROTOCOL, { endpoints });
    again.writeRecord(request);
    const answered = firstRecordAt(again, () => net.now());
    if (!net.runUntil(() => answered.at !== undefined, 10_000)) {
      throw new Error('warm connect: no response');
    }
    warmConnect.push(((answered.at as number) - start) / rttMs);
    await client.close();
    await server.close();
  }
  return { rttMs, cold, warm, warmConnect };
}

// --- Stream churn on the simulator ---------------------------------------------------------------

async function churn() {
  const { net, client, server, endpoints } = await hostPair({ link: {} });
  const request = new Uint8Array(32).fill(1);
  const response = new Uint8Array(32).fill(2);
  server
    .listen(SERVICE, 'churn', PROTOCOL, 'one request, one response')
    .newConnection$.subscribe((top) => {
      top.listen('accept');
      const hello = () => {
        if (top.readRecord() !== undefined) top.writeRecord(response);
      };
      top.readyReadRecord$.subscribe(hello);
      hello();
      top.substreams$.subscribe((child) => {
        const reply = () => {
          if (child.readRecord() === undefined) return;
          child.writeRecord(response);
          child.close();
        };
        child.readyReadRecord$.subscribe(reply);
        reply();
      });
    });
  const top = client.connect(server.eid, SERVICE, PROTOCOL, { endpoints });
  top.writeRecord(request);
  const ready = firstRecordAt(top, () => net.now());
  if (!net.runUntil(() => ready.at !== undefined, 10_000)) throw new Error('no channel');
  let completed = 0;
  let failed = 0;
  let inFlight = 0;
  const open = () => {
    inFlight++;
    const child = top.openSubstream();
    child.writeRecord(request);
    child.shutdownWrite();
    let answered = false;
    let closed = false;
    const done = () => {
      if (closed) return;
      closed = true;
      inFlight--;
      child.close();
    };
    // The response, then the server's FIN: closing only then sends no STOP.
    child.readyRead$.subscribe(() => {
      if (!answered && child.readRecord() !== undefined) {
        answered = true;
        completed++;
      }
      if (answered && child.atEnd) done();
    });
    child.error$.subscribe(() => {
      failed++;
      done();
    });
  };
  const runWall = (ms: number) => {
    const until = performance.now() + ms;
    let events = 0;
    net.runUntil(() => {
      while (inFlight < CHURN_CONCURRENCY) open();
      // performance.now() is cheap next to an event, but not free: look at it every 16th.
      return (++events & 15) === 0 && performance.now() >= until;
    }, 1e9);
  };
  runWall(warmupMs);
  const before = {
    completed,
    virtualMs: net.now(),
    packets: net.stats.delivered,
    cpu: cpuSeconds(),
    at: performance.now(),
  };
  runWall(durationMs);
  const seconds = (performance.now() - before.at) / 1000;
  const cpu = cpuSeconds() - before.cpu;
  const done = completed - before.completed;
  return {
    streamsPerSec: done / seconds,
    streamsPerCpuSec: done / cpu,
    seconds,
    windowCpuSeconds: cpu,
    completed: done,
    failed,
    virtualSeconds: (net.now() - before.virtualMs) / 1000,
    packetsPerStream: (net.stats.delivered - before.packets) / done,
    inFlightAtEnd: inFlight,
  };
}

// --- Memory per idle stream ----------------------------------------------------------------------

interface HeapFigures {
  heapUsed: number;
  arrayBuffers: number;
}

async function settledHeap(): Promise<HeapFigures> {
  const collect = globalThis.gc;
  if (collect === undefined) fail('the memory case needs --expose-gc');
  for (let i = 0; i < 3; i++) {
    collect();
    await sleep(20);
  }
  const usage = process.memoryUsage();
  return { heapUsed: usage.heapUsed, arrayBuffers: usage.arrayBuffers };
}

function heapGrowth(before: HeapFigures, after: HeapFigures, streams: number) {
  const snapshotDir = values['heap-snapshot-dir'];
  return {
    streams,
    heapUsedBefore: before.heapUsed,
    heapUsedAfter: after.heapUsed,
    bytesPerStream: (after.heapUsed - before.heapUsed) / streams,
    arrayBufferBytesPerStream: (after.arrayBuffers - before.arrayBuffers) / streams,
    heapSnapshot:
      snapshotDir === undefined
        ? undefined
        : writeHeapSnapshot(join(snapshotDir, `streams-${values.case}.heapsnapshot`)),
  };
}

/** Holds every stream it is given; answers the first record of each with one record. */
async function memoryServer(): Promise<void> {
  const host = await benchHost();
  const response = new Uint8Array([2]);
  const held: Stream[] = [];
  const peers = Math.ceil(idleStreams / STREAMS_PER_PEER);
  let answered = 0;
  let phase: 'warm' | 'open' = 'warm';
  let baseline: HeapFigures | undefined;
  const onAnswered = async () => {
    if (phase === 'warm' && answered === peers) {
      phase = 'open';
      answered = 0;
      await sleep(SETTLE_MS);
      baseline = await settledHeap();
      // Tells every client host that the server has measured: they may open their streams.
      for (const stream of held) stream.writeRecord(response);
    } else if (phase === 'open' && answered === idleStreams) {
      await sleep(SETTLE_MS);
      const after = await settledHeap();
      console.log(JSON.stringify(heapGrowth(baseline as HeapFigures, after, idleStreams)));
    }
  };
  host
    .listen(SERVICE, 'idle streams', PROTOCOL, 'one record each way')
    .newConnection$.subscribe((stream) => {
      held.push(stream);
      // The request may have come with the service request, before anyone here listened.
      const take = () => {
        if (stream.readRecord() === undefined) return;
        subscription.unsubscribe();
        if (phase === 'open') stream.writeRecord(response);
        answered++;
        void onAnswered();
      };
      const subscription = stream.readyReadRecord$.subscribe(take);
      take();
    });
  onStop(() => process.exit(0));
  setTimeout(() => fail('memory server: out of time'), MEMORY_BUDGET_MS).unref();
  hostReady(host);
}

/** One host per {@link STREAMS_PER_PEER} streams, all to the server; measures its own heap. */
async function memoryClient(): Promise<void> {
  const endpoints = [{ host: LOOPBACK, port: Number(values.port) }];
  const server = peerEid();
  const peers = Math.ceil(idleStreams / STREAMS_PER_PEER);
  const request = new Uint8Array([1]);
  const hosts: Host[] = [];
  const held: Stream[] = [];
  const deadline = setTimeout(() => fail('memory client: out of time'), MEMORY_OPEN_TIMEOUT_MS);
  let answered = 0;
  // Once answered, the bench holds the stream and no subscription: what stays is the stream's.
  // A stream that fails is never answered, and the deadline ends the case.
  const expect = (stream: Stream) => {
    const subscription = stream.readyReadRecord$.subscribe(() => {
      if (stream.readRecord() === undefined) return;
      subscription.unsubscribe();
      answered++;
    });
  };
  const until = async (done: () => boolean) => {
    while (!done()) await sleep(5);
  };
  for (let i = 0; i < peers; i++) hosts.push(await benchHost());
  // One stream per host brings its channel up; the server answers once it has measured.
  for (const host of hosts) {
    const stream = host.connect(server, SERVICE, PROTOCOL, { endpoints });
    stream.writeRecord(request);
    expect(stream);
    held.push(stream);
  }
  await until(() => answered === peers);
  await sleep(SETTLE_MS);
  const before = await settledHeap();
  answered = 0;
  let opened = 0;
  for (let i = 0; i < peers; i++) {
    const host = hosts[i] as Host;
    const count = Math.min(STREAMS_PER_PEER, idleStreams - opened);
    for (let j = 0; j < count; j++) {
      const stream = host.connect(server, SERVICE, PROTOCOL, { endpoints });
      stream.writeRecord(request);
      expect(stream);
      held.push(stream);
    }
    opened += count;
  }
  const openStart = performance.now();
  await until(() => answered === idleStreams);
  const openSeconds = (performance.now() - openStart) / 1000;
  clearTimeout(deadline);
  await sleep(SETTLE_MS);
  const after = await settledHeap();
  finishWith({
    ...heapGrowth(before, after, idleStreams),
    hosts: peers,
    openSeconds,
    held: held.length,
  });
}

// --- The parent ----------------------------------------------------------------------------------

const SCRIPT = fileURLToPath(import.meta.url);
const TIMING = [
  '--seconds',
  String(durationMs / 1000),
  '--warmup',
  String(warmupMs / 1000),
  '--streams',
  String(idleStreams),
  '--receive-window',
  String(receiveWindow),
  '--send-ahead',
  String(sendAhead),
  ...(values['heap-snapshot-dir'] === undefined
    ? []
    : ['--heap-snapshot-dir', values['heap-snapshot-dir']]),
];
/** Budget of one loopback case, from spawning the receiver to both children's exit, ms. */
const CASE_BUDGET_MS = warmupMs + durationMs + 20_000;
/** Budget of a simulator case, ms. */
const SIM_BUDGET_MS = 30_000 + durationMs + warmupMs;
/** Budget of the memory case, ms; writing heap snapshots of ~150 MB heaps takes minutes. */
const MEMORY_BUDGET_MS =
  MEMORY_OPEN_TIMEOUT_MS + 10_000 + (values['heap-snapshot-dir'] === undefined ? 0 : 300_000);

function nodeArgs(name: string, role: string): string[] {
  const dir = values['cpu-prof-dir'];
  return dir === undefined
    ? []
    : ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}-${role}.cpuprofile`];
}

/**
 * Runs a receiver and then a sender given the receiver's first line; the receiver's result
 * ends the sender.
 */
async function pairCase(
  name: string,
  receiverArgs: string[],
  senderArgs: (ready: Record<string, unknown>) => string[],
  extraNodeArgs: string[] = [],
  awaitReceiverLine = false,
  budgetMs = CASE_BUDGET_MS,
) {
  const started = performance.now();
  const left = () => Math.max(1, budgetMs - (performance.now() - started));
  const receiver = new BenchChild(
    `${name} receiver`,
    SCRIPT,
    [...receiverArgs, ...TIMING],
    [...extraNodeArgs, ...nodeArgs(name, 'receiver')],
  );
  let sender: BenchChild | undefined;
  try {
    const ready = JSON.parse(await receiver.line(0, left())) as Record<string, unknown>;
    sender = new BenchChild(
      `${name} sender`,
      SCRIPT,
      [...senderArgs(ready), ...TIMING],
      [...extraNodeArgs, ...nodeArgs(name, 'sender')],
    );
    if (awaitReceiverLine) {
      // The receiver reports and stays; the sender's result comes next. A sender that fails
      // first ends the wait: the receiver would wait for it to its budget.
      const failure = (code: number | null) => new Error(`${name} sender exited with ${code}`);
      const failed = sender.exited.then((code) =>
        code === 0 ? new Promise<never>(() => undefined) : Promise.reject(failure(code)),
      );
      failed.catch(() => undefined);
      const line = await Promise.race([receiver.line(1, left()), failed]);
      const received = JSON.parse(line) as Record<string, unknown>;
      const sent = JSON.parse(await sender.result(left())) as Record<string, unknown>;
      receiver.endInput();
      await receiver.result(left());
      return { received, sent };
    }
    const received = JSON.parse(await receiver.result(left())) as Record<string, unknown>;
    sender.endInput();
    const sent = JSON.parse(await sender.result(left())) as Record<string, unknown>;
    return { received, sent };
  } finally {
    receiver.kill();
    sender?.kill();
  }
}

/** SO_RCVBUF and SO_SNDBUF the `sssBuffers` case asks for, as bench:channel does. */
const LARGE_SOCKET_BUFFER = 4 * 2 ** 20;

/**
 * One bulk case. `name` names it in errors and profiles; the stream's sockets get `buffer`
 * bytes of kernel buffer (0: the system's default).
 */
async function bulk(
  kind: 'sss' | 'tcp' | 'tls',
  options: { name?: string; cipher?: string; aead?: 'node:crypto'; buffer?: number } = {},
) {
  const { cipher, aead, buffer = socketBuffer } = options;
  const extra = [
    ...(cipher === undefined ? [] : ['--cipher', cipher]),
    ...(aead === undefined ? [] : ['--aead', aead]),
    ...(buffer > 0 ? ['--socket-buffer', String(buffer)] : []),
  ];
  const name = options.name ?? kind;
  const dropsBefore = rcvbufErrors();
  const { received, sent } = await pairCase(name, ['--case', `${kind}-recv`, ...extra], (ready) => [
    '--case',
    `${kind}-send`,
    '--port',
    String(ready.port),
    ...(ready.key === undefined ? [] : ['--key', String(ready.key)]),
    ...extra,
  ]);
  const dropsAfter = rcvbufErrors();
  if (received.truncated === true) console.error(`${name}: the window was cut short`);
  const busy = (figures: Record<string, unknown>) =>
    round((figures.cpuSeconds as number) / (figures.wallSeconds as number), 2);
  return {
    MBps: received.MBps as number,
    windowSeconds: round(received.seconds as number, 3),
    windowBytes: received.bytes,
    truncated: received.truncated,
    reads: received.arrivals,
    // CPU seconds per wall second over each process's life: near 1, that side was CPU-bound.
    receiverCpuShare: busy(received),
    senderCpuShare: busy(sent),
    ...(kind === 'sss'
      ? {
          // UDP datagrams the kernel dropped, machine-wide, for a full receive buffer.
          kernelRcvbufErrors:
            dropsBefore === null || dropsAfter === null ? null : dropsAfter - dropsBefore,
          aead: nativeAeadBackend({ aeadAddon: aead !== 'node:crypto' }),
          socketBufferRequested: buffer === 0 ? 'default' : buffer,
          receiveWindow: received.receiveWindow,
          streamErrors: received.errors,
          senderError: sent.error,
          firstAckMs: round(sent.firstAckMs as number, 1),
          bytesToWriteAtEnd: sent.bytesToWrite,
          datagramsSent: sent.datagramsSent,
          bytesPerDatagram: round((sent.bytesSent as number) / (sent.datagramsSent as number), 0),
          datagramsReceived: sent.datagramsReceived,
          packetsLost: sent.packetsLost,
        }
      : { cipher: (received.cipher as { standardName?: string } | undefined)?.standardName }),
  };
}

async function simCase<T>(name: string): Promise<T> {
  const child = new BenchChild(name, SCRIPT, ['--case', name, ...TIMING], nodeArgs(name, 'sim'));
  return JSON.parse(await child.result(SIM_BUDGET_MS)) as T;
}

async function memory() {
  const { received, sent } = await pairCase(
    'memory',
    ['--case', 'memory-server'],
    (ready) => [
      '--case',
      'memory-client',
      '--port',
      String(ready.port),
      '--key',
      String(ready.key),
    ],
    ['--expose-gc'],
    true,
    MEMORY_BUDGET_MS,
  );
  const side = (figures: Record<string, unknown>) => ({
    bytesPerStream: round(figures.bytesPerStream as number, 0),
    arrayBufferBytesPerStream: round(figures.arrayBufferBytesPerStream as number, 0),
    heapUsedBefore: figures.heapUsedBefore,
    heapUsedAfter: figures.heapUsedAfter,
    heapSnapshot: figures.heapSnapshot,
  });
  return {
    bytesPerIdleStream: Math.max(received.bytesPerStream as number, sent.bytesPerStream as number),
    streams: idleStreams,
    clientHosts: sent.hosts,
    openSeconds: round(sent.openSeconds as number, 2),
    server: side(received),
    client: side(sent),
  };
}

const caseLog = new CaseLog();
const errors = caseLog.errors;

/** Whether `value` is at least (or at most) `target`; `null` when it was not measured. */
function meets(value: number | null, target: number, atMost = false): boolean | null {
  if (value === null) return null;
  return atMost ? value <= target : value >= target;
}

async function parent(): Promise<void> {
  // Loopback figures depend on what else the machine runs: two processes want two idle cores.
  const machine = { cpus: availableParallelism(), loadAverage1m: round(loadavg()[0], 2) };
  const selected = new Set(values.cases.split(','));
  const run = <T>(name: string, work: () => Promise<T>) =>
    selected.has(name) ? caseLog.attempt(name, work) : Promise.resolve(null);
  const sss = await run('sss', () => bulk('sss'));
  const sssNodeCrypto = await run('sssNodeCrypto', () =>
    bulk('sss', { name: 'sss-node-crypto', aead: 'node:crypto' }),
  );
  const sssBuffers = await run('sssBuffers', () =>
    bulk('sss', { name: 'sss-buffers', buffer: LARGE_SOCKET_BUFFER }),
  );
  const tcp = await run('tcp', () => bulk('tcp'));
  const tls = await run('tls', () => bulk('tls'));
  const tlsChaCha = await run('tlsChaCha', () =>
    bulk('tls', { name: 'tls-chacha', cipher: 'TLS_CHACHA20_POLY1305_SHA256' }),
  );
  type Latency = { rttMs: number; cold: number[]; warm: number[]; warmConnect: number[] };
  const latency = await run('latency', () => simCase<Latency>('latency'));
  type Churn = Record<string, number>;
  const churn = await run('churn', () => simCase<Churn>('churn'));
  const mem = await run('memory', memory);

  const sssMBps = round(sss?.MBps, 1);
  const tlsMBps = round(tls?.MBps, 1);
  const ratioTls = sss && tls ? round(sss.MBps / tls.MBps, 3) : null;
  const worst = (samples: number[] | undefined) =>
    samples === undefined ? null : round(Math.max(...samples), 3);
  const coldRequestRtts = worst(latency?.cold);
  const warmRequestRtts = worst(latency?.warm);
  const streamsPerSec = round(churn?.streamsPerSec, 0);
  const bytesPerIdleStream = round(mem?.bytesPerIdleStream, 0);
  const targets = {
    ratioTls: 0.5,
    coldRequestRtts: 2,
    warmRequestRtts: 1.1,
    streamsPerSec: 20_000,
    bytesPerIdleStream: 8192,
  };
  const met = {
    ratioTls: meets(ratioTls, targets.ratioTls),
    coldRequestRtts: meets(coldRequestRtts, targets.coldRequestRtts, true),
    warmRequestRtts: meets(warmRequestRtts, targets.warmRequestRtts, true),
    streamsPerSec: meets(streamsPerSec, targets.streamsPerSec),
    bytesPerIdleStream: meets(bytesPerIdleStream, targets.bytesPerIdleStream, true),
  };
  console.log(
    JSON.stringify({
      bench: 'streams',
      seconds: durationMs / 1000,
      warmupSeconds: warmupMs / 1000,
      machine,
      sssMBps,
      sssNodeCryptoMBps: round(sssNodeCrypto?.MBps, 1),
      sssBuffersMBps: round(sssBuffers?.MBps, 1),
      tcpMBps: round(tcp?.MBps, 1),
      tlsMBps,
      tlsChaChaMBps: round(tlsChaCha?.MBps, 1),
      ratioTls,
      ratioTcp: sss && tcp ? round(sss.MBps / tcp.MBps, 3) : null,
      coldRequestRtts,
      warmRequestRtts,
      streamsPerSec,
      bytesPerIdleStream,
      bulk: {
        sss: sss && { ...sss, MBps: sssMBps },
        sssNodeCrypto: sssNodeCrypto && { ...sssNodeCrypto, MBps: round(sssNodeCrypto.MBps, 1) },
        sssBuffers: sssBuffers && { ...sssBuffers, MBps: round(sssBuffers.MBps, 1) },
        tcp: tcp && { ...tcp, MBps: round(tcp.MBps, 1) },
        tls: tls && { ...tls, MBps: tlsMBps },
        tlsChaCha: tlsChaCha && { ...tlsChaCha, MBps: round(tlsChaCha.MBps, 1) },
        chunkBytes: CHUNK_BYTES,
        sendAheadBytes: sendAhead,
      },
      latency: latency && {
        oneWayMs: LATENCY_ONE_WAY_MS,
        rttMs: latency.rttMs,
        requestBytes: REQUEST_BYTES,
        cold: latency.cold.map((x) => round(x, 3)),
        warm: latency.warm.map((x) => round(x, 3)),
        warmConnect: latency.warmConnect.map((x) => round(x, 3)),
      },
      churn: churn && {
        streamsPerSec,
        streamsPerCpuSec: round(churn.streamsPerCpuSec, 0),
        seconds: round(churn.seconds, 3),
        windowCpuSeconds: round(churn.windowCpuSeconds, 3),
        completed: churn.completed,
        failed: churn.failed,
        virtualSeconds: churn.virtualSeconds,
        packetsPerStream: round(churn.packetsPerStream, 2),
        concurrency: CHURN_CONCURRENCY,
      },
      memory: mem && { ...mem, bytesPerIdleStream },
      targets,
      meetsTargets: { ...met, all: Object.values(met).every((ok) => ok === true) },
      errors,
    }),
  );
  if (Object.keys(errors).length > 0) process.exitCode = 1;
}

async function child(name: string): Promise<void> {
  switch (name) {
    case 'sss-recv':
      return sssReceiver();
    case 'sss-send':
      return sssSender();
    case 'tcp-recv':
      return tcpReceiver(false);
    case 'tcp-send':
      return tcpSender(false);
    case 'tls-recv':
      return tcpReceiver(true);
    case 'tls-send':
      return tcpSender(true);
    case 'latency':
      return finishWith(await latency());
    case 'churn':
      return finishWith(await churn());
    case 'memory-server':
      return memoryServer();
    case 'memory-client':
      return memoryClient();
    default:
      throw new Error(`unknown case ${name}`);
  }
}

if (values.case !== undefined) await child(values.case);
else await parent();
