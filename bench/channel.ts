/**
 * Channel goodput. `loopbackMBps` (native suite) and `loopbackNobleMBps` are MB/s (1e6 bytes) of
 * application payload that ONE channel delivers between two processes over real UDP on 127.0.0.1,
 * counted at the receiver: the sender fills every packet, at whatever datagram size the channel has
 * reached (`maxDatagramSize`), with one frame and resends nothing (bench/lib/fill-source.ts), so
 * every byte counted is unique payload. Baselines: the targets (`targets`: loopback 300
 * MB/s, ratio 1.0, 0.9 of the link on the simulator presets, 0.45 share of a shared bottleneck)
 * and, measured in the same run, a plain unencrypted node:dgram blast of 1200-byte datagrams
 * between two processes with the same socket buffers, counted at its receiver the same way
 * (`udpBaselineMBps`, `ratio`). Each receiver counts over `--seconds` after a `--warmup` that
 * starts at its first payload. The simulator figures are deterministic: `simUtilization` is payload
 * goodput over link capacity of one bulk channel on dsl_15 and cable_5 as
 * test/channel/channel.test.ts measures it (uplink: the client sends on the preset's up link;
 * downlink: the server sends on its down link), but with the links in place before the handshake
 * and over 20 s; `fairness` is the share of the smaller of two channels on one bottleneck as
 * test/channel/fairness.test.ts sets it up. Every case runs in its own processes (loopback cases
 * one at a time, their sender and receiver each in its own; simulator cases two at a time). Usage:
 * `npm run bench:channel -- [--seconds S] [--warmup W] [--cpu-prof-dir DIR]` (S default 3, W
 * default 0.5; with DIR the loopback processes write CPU profiles there). The last stdout line is
 * the JSON result; a case that fails shows as `null` with its reason in `errors`, and the exit code
 * is then 1.
 */
import { createSocket } from 'node:dgram';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Channel, FLUSH_BURST } from '../src/channel/channel.js';
import { ChannelHost } from '../src/channel/channel-host.js';
import { createNativeSuite } from '../src/crypto/native-suite.js';
import { createNobleSuite } from '../src/crypto/noble-suite.js';
import type { CryptoSuite } from '../src/crypto/suite.js';
import { RealClock } from '../src/net/clock.js';
import { presetLinks } from '../src/net/sim/presets.js';
import { SimNetwork } from '../src/net/sim/network.js';
import { UdpSocket } from '../src/net/udp.js';
import { BulkSource } from '../test/channel/fixtures/bulk-source.js';
import { connectBulk, hostSide } from '../test/channel/fixtures/channel-pair.js';
import { BenchChild } from './lib/child.js';
import { FillSource } from './lib/fill-source.js';
import { MeasureWindow } from './lib/window.js';
import { CaseLog, rcvbufErrors, round } from './lib/report.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '0.5' },
    'cpu-prof-dir': { type: 'string' },
    case: { type: 'string' },
    suite: { type: 'string', default: 'native' },
    port: { type: 'string' },
    key: { type: 'string' },
    preset: { type: 'string' },
    direction: { type: 'string' },
    cc: { type: 'string' },
  },
});
const durationMs = Number(values.seconds) * 1000;
const warmupMs = Number(values.warmup) * 1000;
if (!(durationMs > 0) || !(warmupMs >= 0)) {
  console.error('usage: bench/channel.js [--seconds S] [--warmup W] [--cpu-prof-dir DIR]');
  process.exit(2);
}

/** SO_RCVBUF and SO_SNDBUF requested for every socket of the loopback cases, channel and baseline. */
const SOCKET_BUFFER = 4 * 2 ** 20;
/** Datagrams the baseline sender sends per turn of the event loop (the channel's FLUSH_BURST). */
const BLAST_BATCH = FLUSH_BURST;
const BASELINE_DATAGRAM = 1200;
const LOOPBACK = '127.0.0.1';
/** A receiver waits this long for its first payload before it gives up, ms. */
const FIRST_ARRIVAL_TIMEOUT_MS = 15_000;
/** Senders stop this long after the receiver's window should have closed, ms. */
const SENDER_GRACE_MS = 2000;

const SUITES: Record<string, () => CryptoSuite> = {
  native: createNativeSuite,
  noble: createNobleSuite,
};

function suiteNamed(name: string): CryptoSuite {
  const make = SUITES[name];
  if (make === undefined) throw new Error(`unknown suite ${name}`);
  return make();
}

/** Prints the result line and exits once it is written. */
function finishWith(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

/** Closes the receiver's window when arrivals stop; gives up if none ever come. */
function guardWindow(window: MeasureWindow, finish: () => void): void {
  const started = performance.now();
  const check = setInterval(() => {
    const first = window.firstAt;
    if (first === undefined) {
      if (performance.now() - started > FIRST_ARRIVAL_TIMEOUT_MS) {
        console.error('receiver: no payload arrived');
        process.exit(1);
      }
    } else if (performance.now() > first + warmupMs + durationMs + SENDER_GRACE_MS / 2) {
      window.close();
      finish();
    }
  }, 100);
  check.unref();
}

/** Calls `stop` when the parent ends this process's stdin (its receiver has reported). */
function onStop(stop: () => void): void {
  process.stdin.on('end', stop).resume();
}

// --- Loopback: the channel -------------------------------------------------------------------

async function channelReceiver(suiteName: string): Promise<void> {
  const suite = suiteNamed(suiteName);
  const identity = suite.generateKeyPair();
  const clock = new RealClock();
  const socket = await UdpSocket.bind({
    host: LOOPBACK,
    recvBufferSize: SOCKET_BUFFER,
    sendBufferSize: SOCKET_BUFFER,
  });
  const sink = new FillSource(false);
  let channel: Channel<number> | undefined;
  const host = new ChannelHost<number>({
    suite,
    clock,
    identity,
    socket,
    wallClockMs: Date.now,
    source: () => sink,
    onChannel: (opened) => {
      channel = opened;
    },
  });
  const window = new MeasureWindow(warmupMs, durationMs);
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    const measured = window.close();
    // Tells the sender to stop; CLOSE leaves at once.
    channel?.close();
    finishWith({
      ...measured,
      payloadBytesReceived: sink.stats.payloadBytesReceived,
      framesReceived: sink.stats.framesReceived,
      core: channel?.core.stats,
      socket: socket.stats,
      unknownChannel: host.stats.unknownChannel,
      recvBufferSize: socket.recvBufferSize,
      sendBufferSize: socket.sendBufferSize,
    });
  };
  socket.onReceive((packet, from) => {
    if (done) return;
    host.handle(packet, from);
    const { payloadBytesReceived, framesReceived } = sink.stats;
    if (window.observe(clock.now(), payloadBytesReceived, framesReceived)) finish();
  });
  guardWindow(window, finish);
  console.log(
    JSON.stringify({
      port: socket.localAddress.port,
      publicKey: Buffer.from(identity.publicKey).toString('hex'),
    }),
  );
}

async function channelSender(suiteName: string, port: number, key: string): Promise<void> {
  const suite = suiteNamed(suiteName);
  const clock = new RealClock();
  const socket = await UdpSocket.bind({
    host: LOOPBACK,
    recvBufferSize: SOCKET_BUFFER,
    sendBufferSize: SOCKET_BUFFER,
  });
  const source = new FillSource(true);
  const host = new ChannelHost<number>({
    suite,
    clock,
    identity: suite.generateKeyPair(),
    socket,
    wallClockMs: Date.now,
    source: () => source,
  });
  const started = performance.now();
  const channel = await host.connect(Buffer.from(key, 'hex'), { host: LOOPBACK, port });
  const connectMs = performance.now() - started;
  let closedBy = 'timeout';
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    source.sending = false;
    const { core } = channel;
    finishWith({
      closedBy,
      connectMs,
      core: core.stats,
      source: source.stats,
      maxDatagramSize: core.maxDatagramSize,
      congestionWindow: core.congestion.window,
      smoothedRttMs: core.recovery.rtt.smoothed,
      minRttMs: core.recovery.rtt.min,
      socket: socket.stats,
    });
  };
  void channel.closed.then((reason) => {
    closedBy = reason.by;
    finish();
  });
  onStop(() => {
    closedBy = 'parent';
    finish();
  });
  setTimeout(finish, warmupMs + durationMs + SENDER_GRACE_MS).unref();
}

// --- Loopback: the plain UDP baseline ---------------------------------------------------------

async function udpReceiver(): Promise<void> {
  const socket = createSocket({
    type: 'udp4',
    recvBufferSize: SOCKET_BUFFER,
    sendBufferSize: SOCKET_BUFFER,
  });
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
  const window = new MeasureWindow(warmupMs, durationMs);
  let bytes = 0;
  let datagrams = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    finishWith({
      ...window.close(),
      datagramsReceived: datagrams,
      bytesReceived: bytes,
      recvBufferSize: socket.getRecvBufferSize(),
      sendBufferSize: socket.getSendBufferSize(),
    });
  };
  socket.on('message', (message) => {
    if (done) return;
    bytes += message.length;
    datagrams++;
    if (window.observe(performance.now(), bytes, datagrams)) finish();
  });
  guardWindow(window, finish);
  console.log(JSON.stringify({ port: socket.address().port }));
}

async function udpSender(port: number): Promise<void> {
  const socket = createSocket({
    type: 'udp4',
    recvBufferSize: SOCKET_BUFFER,
    sendBufferSize: SOCKET_BUFFER,
  });
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
  const payload = Buffer.alloc(BASELINE_DATAGRAM, 0xa5);
  let sent = 0;
  let sendErrors = 0;
  socket.on('error', () => sendErrors++);
  const stopAt = performance.now() + warmupMs + durationMs + SENDER_GRACE_MS;
  let stopped = false;
  onStop(() => {
    stopped = true;
  });
  const blast = () => {
    if (stopped || performance.now() >= stopAt) {
      finishWith({ datagramsSent: sent, sendErrors });
      return;
    }
    for (let i = 0; i < BLAST_BATCH; i++) socket.send(payload, port, LOOPBACK);
    sent += BLAST_BATCH;
    setImmediate(blast);
  };
  blast();
}

// --- The simulator ----------------------------------------------------------------------------

/**
 * As test/channel/channel.test.ts measures it (the channel pair's seeds, 1000-byte chunks, the
 * client on the preset's `up` link: it sends the uplink, the server the downlink; 5 s to settle,
 * then payload goodput), over 20 s rather than 10, and with the links in place before the
 * handshake: the test sets them once its connect has settled, which leaves slow start the rest
 * of a 50 ms ideal-link step (tens of MB and a window of MBs to drain through the preset's queue,
 * seconds of wall time per case). Packet counts are the sender's over the 20 s.
 */
async function simUtilization(preset: string, direction: string) {
  if (direction !== 'uplink' && direction !== 'downlink') {
    throw new Error(`unknown direction ${direction}`);
  }
  const links = presetLinks(preset);
  const upload = direction === 'uplink';
  const seed = 1;
  const net = new SimNetwork({ seed });
  const clientHost = net.addHost({ name: 'client', addresses: ['10.0.0.1'] });
  const serverHost = net.addHost({ name: 'server', addresses: ['10.0.0.2'] });
  net.setLinks(clientHost, serverHost, links);
  const chunks = (sends: boolean) => () => new BulkSource(sends ? 1_000_000 : 0);
  const client = hostSide(net, clientHost, 5000, seed * 100 + 1, chunks(upload));
  const server = hostSide(net, serverHost, 443, seed * 100 + 2, chunks(!upload));
  const pair = await connectBulk(net, client, server, 443);
  const [sender, receiver] = upload
    ? [pair.clientChannel.core.stats, pair.serverSource]
    : [pair.serverChannel.core.stats, pair.clientSource];
  net.runFor(5000);
  const before = { bytes: receiver.bytesReceived, ...sender };
  net.runFor(20_000);
  const goodputBps = ((receiver.bytesReceived - before.bytes) * 8) / 20;
  return {
    utilization: goodputBps / (links[upload ? 'up' : 'down'].bandwidthBps as number),
    packetsSent: sender.packetsSent - before.packetsSent,
    packetsLost: sender.packetsLost - before.packetsLost,
  };
}

/**
 * As test/channel/fairness.test.ts: two channels through one 4 Mbit/s drop-tail link, the second
 * 3 s after the first, shares over 60 s after 20 s together. Packet counts are over the 60 s.
 */
async function fairness(congestionControl: 'newreno' | 'cubic') {
  const net = new SimNetwork({
    seed: 7,
    defaultLink: { delayMs: 15, bandwidthBps: 4_000_000, queueBytes: 40_000 },
  });
  const clientHost = net.addHost({ name: 'client', addresses: ['10.0.0.1'] });
  const serverHost = net.addHost({ name: 'server', addresses: ['10.0.0.2'] });
  const options = { congestionControl };
  const pair = async (port: number) => {
    const client = hostSide(net, clientHost, port, port, () => new BulkSource(1e6), options);
    const server = hostSide(net, serverHost, port + 1, port + 1, () => new BulkSource(0), options);
    return connectBulk(net, client, server, port + 1);
  };
  const first = await pair(1000);
  net.runFor(3000);
  const second = await pair(2000);
  net.runFor(20_000);
  const counts = () => {
    const [one, two] = [first.clientChannel.core.stats, second.clientChannel.core.stats];
    return {
      a: first.serverSource.bytesReceived,
      b: second.serverSource.bytesReceived,
      sent: one.packetsSent + two.packetsSent,
      lost: one.packetsLost + two.packetsLost,
    };
  };
  const before = counts();
  net.runFor(60_000);
  const after = counts();
  const a = after.a - before.a;
  const b = after.b - before.b;
  return {
    share: Math.min(a, b) / (a + b),
    linkUtilization: ((a + b) * 8) / 60 / 4_000_000,
    packetsSent: after.sent - before.sent,
    packetsLost: after.lost - before.lost,
  };
}

// --- The parent -------------------------------------------------------------------------------

const SCRIPT = fileURLToPath(import.meta.url);
const TIMING = ['--seconds', String(durationMs / 1000), '--warmup', String(warmupMs / 1000)];
/** Budget of one loopback case, from spawning the receiver to both children's exit, ms. */
const CASE_BUDGET_MS = warmupMs + durationMs + 20_000;
/** Budget of one simulator case, ms: the longest takes about 9 s on an idle machine. */
const SIM_CASE_BUDGET_MS = 60_000;

/** Runs one loopback case: receiver first, then the sender, given the receiver's first line. */
async function loopbackCase(
  name: string,
  receiverArgs: string[],
  senderArgs: (ready: Record<string, unknown>) => string[],
) {
  const profileDir = values['cpu-prof-dir'];
  const nodeArgs = (role: string) =>
    profileDir === undefined
      ? []
      : [
          '--cpu-prof',
          `--cpu-prof-dir=${profileDir}`,
          `--cpu-prof-name=${name}-${role}.cpuprofile`,
        ];
  const dropsBefore = rcvbufErrors();
  const started = performance.now();
  const left = () => Math.max(1, CASE_BUDGET_MS - (performance.now() - started));
  const receiver = new BenchChild(
    `${name} receiver`,
    SCRIPT,
    [...receiverArgs, ...TIMING],
    nodeArgs('receiver'),
  );
  let sender: BenchChild | undefined;
  try {
    const ready = JSON.parse(await receiver.line(0, left())) as Record<string, unknown>;
    sender = new BenchChild(
      `${name} sender`,
      SCRIPT,
      [...senderArgs(ready), ...TIMING],
      nodeArgs('sender'),
    );
    const received = JSON.parse(await receiver.result(left())) as Record<string, unknown>;
    sender.endInput();
    const sent = JSON.parse(await sender.result(left())) as Record<string, unknown>;
    const dropsAfter = rcvbufErrors();
    const kernelRcvbufErrors =
      dropsBefore === null || dropsAfter === null ? null : dropsAfter - dropsBefore;
    return { received, sent, kernelRcvbufErrors };
  } finally {
    receiver.kill();
    sender?.kill();
  }
}

async function loopbackChannel(suite: string) {
  const { received, sent, kernelRcvbufErrors } = await loopbackCase(
    `channel-${suite}`,
    ['--case', 'channel-recv', '--suite', suite],
    (ready) => [
      '--case',
      'channel-send',
      '--suite',
      suite,
      '--port',
      String(ready.port),
      '--key',
      String(ready.publicKey),
    ],
  );
  const core = sent.core as Record<string, number>;
  const source = sent.source as Record<string, number>;
  const receivedCore = received.core as Record<string, number>;
  return {
    MBps: received.MBps as number,
    windowSeconds: round(received.seconds as number, 3),
    windowPayloadBytes: received.bytes,
    windowPackets: received.arrivals,
    truncated: received.truncated,
    packetsSent: core.packetsSent,
    packetsReceived: receivedCore.packetsReceived,
    packetsLost: core.packetsLost,
    lossRate: round((core.packetsLost ?? 0) / (core.packetsSent ?? 1), 4),
    probesSent: core.probesSent,
    payloadBytesSent: source.payloadBytesSent,
    payloadBytesAcked: source.payloadBytesAcked,
    payloadBytesLost: source.payloadBytesLost,
    payloadBytesReceived: received.payloadBytesReceived,
    authFailed: receivedCore.authFailed,
    replayed: receivedCore.replayed,
    kernelRcvbufErrors,
    senderSocketErrors: (sent.socket as Record<string, number>).sendErrors,
    maxDatagramSize: sent.maxDatagramSize,
    congestionWindow: sent.congestionWindow,
    smoothedRttMs: round(sent.smoothedRttMs as number, 3),
    minRttMs: round(sent.minRttMs as number, 3),
    connectMs: round(sent.connectMs as number, 1),
    closedBy: sent.closedBy,
    recvBufferSize: received.recvBufferSize,
  };
}

async function loopbackUdp() {
  const { received, sent, kernelRcvbufErrors } = await loopbackCase(
    'udp',
    ['--case', 'udp-recv'],
    (ready) => ['--case', 'udp-send', '--port', String(ready.port)],
  );
  return {
    MBps: received.MBps as number,
    windowSeconds: round(received.seconds as number, 3),
    windowBytes: received.bytes,
    windowPackets: received.arrivals,
    truncated: received.truncated,
    datagramsSent: sent.datagramsSent,
    datagramsReceived: received.datagramsReceived,
    kernelRcvbufErrors,
    recvBufferSize: received.recvBufferSize,
  };
}

/** The simulator cases, longest first so that two at a time finish together. */
const SIM_CASES: Record<string, string[]> = {
  fairness_newreno: ['--case', 'fairness', '--cc', 'newreno'],
  fairness_cubic: ['--case', 'fairness', '--cc', 'cubic'],
  cable_5_downlink: ['--case', 'sim', '--preset', 'cable_5', '--direction', 'downlink'],
  dsl_15_downlink: ['--case', 'sim', '--preset', 'dsl_15', '--direction', 'downlink'],
  dsl_15_uplink: ['--case', 'sim', '--preset', 'dsl_15', '--direction', 'uplink'],
  cable_5_uplink: ['--case', 'sim', '--preset', 'cable_5', '--direction', 'uplink'],
};

const caseLog = new CaseLog();
const errors = caseLog.errors;

/** Runs deterministic simulator cases in child processes, `parallel` at a time. */
async function simCases(cases: Record<string, string[]>, parallel: number) {
  const names = Object.keys(cases);
  const results: Record<string, Record<string, number> | null> = {};
  // Each worker takes the next name off the shared list.
  const worker = async () => {
    for (let name = names.shift(); name !== undefined; name = names.shift()) {
      const child = new BenchChild(name, SCRIPT, cases[name] as string[]);
      results[name] = await caseLog.attempt(
        name,
        async () => JSON.parse(await child.result(SIM_CASE_BUDGET_MS)) as Record<string, number>,
      );
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

/** Whether `value` meets `target`; `null` when it was not measured. */
function meets(value: number | null | undefined, target: number): boolean | null {
  return value === null || value === undefined || Number.isNaN(value) ? null : value >= target;
}

async function parent(): Promise<void> {
  // Loopback figures depend on what else the machine runs: two processes want two idle cores.
  const machine = { cpus: availableParallelism(), loadAverage1m: round(loadavg()[0], 2) };
  const udp = await caseLog.attempt('udpBaseline', loopbackUdp);
  const native = await caseLog.attempt('native', () => loopbackChannel('native'));
  const noble = await caseLog.attempt('noble', () => loopbackChannel('noble'));
  const sim = await simCases(SIM_CASES, 2);
  const at = (name: string, field: string) => round(sim[name]?.[field], 3);
  const utilization = (preset: string) => ({
    uplink: at(`${preset}_uplink`, 'utilization'),
    downlink: at(`${preset}_downlink`, 'utilization'),
  });
  const simUtilization = { dsl_15: utilization('dsl_15'), cable_5: utilization('cable_5') };
  const utilizations = Object.values(simUtilization).flatMap((pair) => Object.values(pair));
  const minUtilization = utilizations.includes(null)
    ? null
    : Math.min(...(utilizations as number[]));
  const targets = { ratio: 1.0, loopbackMBps: 300, simUtilization: 0.9, fairness: 0.45 };
  const ratio = native && udp ? native.MBps / udp.MBps : null;
  const fairnessShare = at('fairness_newreno', 'share');
  console.log(
    JSON.stringify({
      bench: 'channel',
      seconds: durationMs / 1000,
      warmupSeconds: warmupMs / 1000,
      machine,
      loopbackMBps: round(native?.MBps, 1),
      loopbackNobleMBps: round(noble?.MBps, 1),
      udpBaselineMBps: round(udp?.MBps, 1),
      ratio: round(ratio, 3),
      maxDatagramSize: native?.maxDatagramSize ?? null,
      loopback: {
        native: native && { ...native, MBps: round(native.MBps, 1) },
        noble: noble && { ...noble, MBps: round(noble.MBps, 1) },
        udpBaseline: udp && { ...udp, MBps: round(udp.MBps, 1), datagramBytes: BASELINE_DATAGRAM },
        socketBufferRequested: SOCKET_BUFFER,
      },
      simUtilization,
      simPackets: Object.fromEntries(
        Object.keys(SIM_CASES).map((name) => [
          name,
          { sent: sim[name]?.packetsSent ?? null, lost: sim[name]?.packetsLost ?? null },
        ]),
      ),
      fairness: fairnessShare,
      fairnessCubic: at('fairness_cubic', 'share'),
      fairnessLinkUtilization: {
        newreno: at('fairness_newreno', 'linkUtilization'),
        cubic: at('fairness_cubic', 'linkUtilization'),
      },
      targets,
      meetsTargets: {
        ratio: meets(ratio, targets.ratio),
        loopbackMBps: meets(native?.MBps, targets.loopbackMBps),
        simUtilization: meets(minUtilization, targets.simUtilization),
        fairness: meets(fairnessShare, targets.fairness),
      },
      errors,
    }),
  );
  if (Object.keys(errors).length > 0) process.exitCode = 1;
}

async function child(name: string): Promise<void> {
  switch (name) {
    case 'channel-recv':
      return channelReceiver(values.suite);
    case 'channel-send':
      return channelSender(values.suite, Number(values.port), values.key ?? '');
    case 'udp-recv':
      return udpReceiver();
    case 'udp-send':
      return udpSender(Number(values.port));
    case 'sim':
      return finishWith(await simUtilization(values.preset ?? '', values.direction ?? ''));
    case 'fairness':
      return finishWith(await fairness(values.cc === 'cubic' ? 'cubic' : 'newreno'));
    default:
      throw new Error(`unknown case ${name}`);
  }
}

if (values.case !== undefined) await child(values.case);
else await parent();
