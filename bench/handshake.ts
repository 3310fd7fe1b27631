/**
 * Handshake and AEAD speed. `nativeHandshakesPerSec` and `nobleHandshakesPerSec` count complete
 * IK handshakes through the real protocol code (INITIATE with mac1 and padding, the responder's
 * checks, Noise, RESPONSE, both XState machines), both sides in this one process and thread, over
 * an in-memory datagram queue. Baselines: the targets (2,000 native and 100 noble
 * handshakes a second, 200 MB/s native AEAD at 1200 bytes) and, measured in the same run, the
 * bound that X25519 alone sets (ten scalar multiplications per handshake, both sides), reported as
 * `x25519BoundHandshakesPerSec` with `handshakeToBoundRatio`, and node:crypto's ChaCha20-Poly1305
 * called directly, reported as `rawNodeAeadMBps1200` with `native1200ToRawNodeRatio`.
 * AEAD figures are MB/s of plaintext through one operation (a seal and an open each count), on
 * the per-packet API (`sealInto`/`openInto`) with a 16-byte AD. Every case runs in its own process.
 * Usage: `npm run bench:handshake -- [--seconds S]` (S per case, default 1). The last stdout line
 * is the JSON result.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HandshakeEndpoint } from '../src/channel/handshake/endpoint.js';
import { createNativeSuite } from '../src/crypto/native-suite.js';
import { createNobleSuite } from '../src/crypto/noble-suite.js';
import type { CryptoSuite } from '../src/crypto/suite.js';
import type { DatagramSocket, ReceiveHandler, SocketAddress } from '../src/net/datagram-socket.js';
import { VirtualClock } from '../src/net/sim/virtual-clock.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '1' }, case: { type: 'string' } },
});
const budgetMs = Number(values.seconds) * 1000;
if (!(budgetMs > 0)) {
  console.error('usage: bench/handshake.js [--seconds S]');
  process.exit(2);
}

/** Runs `work` in batches until `budget` ms have passed; returns calls per second. */
function rate(budget: number, batch: number, work: () => void): number {
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < budget) {
    for (let i = 0; i < batch; i++) work();
    calls += batch;
    elapsed = performance.now() - start;
  }
  return calls / (elapsed / 1000);
}

/** Two endpoints joined by a queue that the bench drains: no sockets, no timers firing. */
function handshakeRate(makeSuite: () => CryptoSuite, budget: number, batch: number): number {
  const clock = new VirtualClock();
  const queue: { to: SocketAddress; packet: Uint8Array; from: SocketAddress }[] = [];
  const handlers = new Map<number, ReceiveHandler>();
  const socket = (port: number): DatagramSocket => {
    const localAddress = { host: '127.0.0.1', port };
    return {
      localAddress,
      closed: false,
      send: (packet, to) => queue.push({ to, packet, from: localAddress }),
      onReceive: (handler) => {
        if (handler) handlers.set(port, handler);
      },
      close: async () => undefined,
    };
  };
  const endpoint = (port: number) => {
    const suite = makeSuite();
    const identity = suite.generateKeyPair();
    const sock = socket(port);
    return {
      identity,
      sock,
      endpoint: new HandshakeEndpoint({
        suite,
        clock,
        identity,
        socket: sock,
        wallClockMs: () => 1_790_000_000_000,
        // The bench measures the work of a handshake, not the load shedding in front of it.
        cookieThresholdPerSecond: Number.MAX_SAFE_INTEGER,
        onSession: (session) => session.confirm(),
      }),
    };
  };
  const client = endpoint(1);
  const server = endpoint(2);
  let failures = 0;
  const result = rate(budget, batch, () => {
    const initiator = client.endpoint.connect(server.identity.publicKey, server.sock.localAddress);
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      handlers.get(next.to.port)?.(next.packet, next.from);
    }
    if (initiator.actor.getSnapshot().value !== 'established') failures++;
  });
  if (failures > 0) throw new Error(`${failures} handshakes did not complete`);
  return result;
}

function aeadMBps(suite: CryptoSuite, size: number, budget: number): number {
  const key = suite.randomBytes(32);
  const nonce = new Uint8Array(12);
  const ad = new Uint8Array(16);
  const plaintext = suite.randomBytes(size);
  const sealed = new Uint8Array(size + 16);
  const opened = new Uint8Array(size);
  const perSecond = rate(budget, 16, () => {
    suite.sealInto(key, nonce, ad, plaintext, sealed, 0);
    if (suite.openInto(key, nonce, ad, sealed, opened, 0) !== size) throw new Error('open failed');
  });
  // Both operations count: MB/s of one seal or one open, as perf-limits.md reports AEAD speed.
  return (2 * perSecond * size) / 1e6;
}

/**
 * node:crypto used directly, a fresh cipher per message as its API requires: the floor under the
 * native suite, measured in the same run so that the ratio shows the suite's own overhead.
 */
function rawNodeMBps(size: number, budget: number): number {
  const key = randomBytes(32);
  const nonce = new Uint8Array(12);
  const ad = new Uint8Array(16);
  const plaintext = randomBytes(size);
  const options = { authTagLength: 16 } as const;
  const perSecond = rate(budget, 16, () => {
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, options);
    cipher.setAAD(ad, { plaintextLength: size });
    const body = cipher.update(plaintext);
    cipher.final();
    const decipher = createDecipheriv('chacha20-poly1305', key, nonce, options);
    decipher.setAAD(ad, { plaintextLength: size });
    decipher.setAuthTag(cipher.getAuthTag());
    decipher.update(body);
    decipher.final();
  });
  return (2 * perSecond * size) / 1e6;
}

function x25519PerSec(suite: CryptoSuite, budget: number): number {
  const mine = suite.generateKeyPair();
  const theirs = suite.generateKeyPair().publicKey;
  return rate(budget, 16, () => suite.dh(mine.privateKey, theirs));
}

/** Median of `reps` measurements, each over `budget` ms. */
function median(reps: number, measure: () => number): number {
  const results = Array.from({ length: reps }, measure).sort((a, b) => a - b);
  return results[reps >> 1] as number;
}

const CASES: Record<string, (budget: number) => number> = {
  nativeHandshakes: (budget) => handshakeRate(createNativeSuite, budget, 10),
  nobleHandshakes: (budget) => handshakeRate(createNobleSuite, budget, 2),
  x25519: (budget) => x25519PerSec(createNativeSuite(), budget),
  native1200: (budget) => aeadMBps(createNativeSuite(), 1200, budget),
  rawNode1200: (budget) => rawNodeMBps(1200, budget),
  noble1200: (budget) => aeadMBps(createNobleSuite(), 1200, budget),
  native65536: (budget) => aeadMBps(createNativeSuite(), 65536, budget),
  noble65536: (budget) => aeadMBps(createNobleSuite(), 65536, budget),
};

/**
 * Runs one case in this process: a warm-up, then the median of five timed repetitions. The
 * parent runs every case in a fresh process, so that one case's JIT state and heap do not slow
 * another (../shared/reference/perf-limits.md §1 measured 20–30 % from mixing).
 */
function runCase(name: string): number {
  const run = CASES[name];
  if (run === undefined) throw new Error(`unknown case ${name}`);
  run(budgetMs / 4);
  return median(5, () => run(budgetMs / 5));
}

function inChild(name: string): number {
  const output = execFileSync(process.execPath, [
    fileURLToPath(import.meta.url),
    '--case',
    name,
    '--seconds',
    String(budgetMs / 1000),
  ]);
  return Number(output.toString().trim());
}

if (values.case !== undefined) {
  console.log(runCase(values.case));
} else {
  const result = Object.fromEntries(Object.keys(CASES).map((name) => [name, inChild(name)]));
  const round = (n: number) => Math.round(n * 10) / 10;
  const bound = (result.x25519 as number) / 10;
  console.log(
    JSON.stringify({
      bench: 'handshake',
      nativeHandshakesPerSec: Math.round(result.nativeHandshakes as number),
      nobleHandshakesPerSec: Math.round(result.nobleHandshakes as number),
      x25519PerSec: Math.round(result.x25519 as number),
      x25519BoundHandshakesPerSec: Math.round(bound),
      handshakeToBoundRatio: Math.round(((result.nativeHandshakes as number) / bound) * 100) / 100,
      aeadMBps: {
        native1200: round(result.native1200 as number),
        noble1200: round(result.noble1200 as number),
        native65536: round(result.native65536 as number),
        noble65536: round(result.noble65536 as number),
      },
      rawNodeAeadMBps1200: round(result.rawNode1200 as number),
      native1200ToRawNodeRatio:
        Math.round(((result.native1200 as number) / (result.rawNode1200 as number)) * 100) / 100,
      baseline: {
        nativeHandshakesPerSec: 2000,
        nobleHandshakesPerSec: 100,
        aeadMBps: { native1200: 200 },
      },
    }),
  );
}
