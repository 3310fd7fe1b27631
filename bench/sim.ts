/**
 * Simulator throughput: packet deliveries per wall-clock second over at least 1,000,000 packets on
 * a lossy, jittery link, with the trace hash on. Baseline: the target of 300,000 packets/s
 * and 200 MB peak RSS; and, in the same run, a bare VirtualClock firing as many timers with no network,
 * so that `ratio` shows what the link model and trace cost over the event loop alone. Usage: `npm run bench:sim -- [--seed N] [--packets N]`.
 * The last stdout line is the JSON result; the same seed prints the same `traceHash`.
 */
import { parseArgs } from 'node:util';
import { SimNetwork, VirtualClock } from '../src/net/sim/index.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    packets: { type: 'string', default: '1000000' },
  },
});
const seed = Number(values.seed);
const target = Number(values.packets);
if (!Number.isSafeInteger(seed) || !(target > 0)) {
  console.error('usage: bench/sim.js [--seed N] [--packets N]');
  process.exit(2);
}

const PAIRS = 8;
const PACKET_BYTES = 1200;
/** Each sender offers 10 packets every 1.2 ms: 80 Mbit/s on a 100 Mbit/s link, so few queue drops. */
const BURST = 10;
const INTERVAL_MS = 1.2;

const net = new SimNetwork({
  seed,
  defaultLink: {
    delayMs: 20,
    jitterMs: 5,
    loss: 0.02,
    burst: { pGoodToBad: 0.01, pBadToGood: 0.3, lossGood: 0, lossBad: 0.3 },
    reorder: 0.01,
    reorderDelayMs: 10,
    duplicate: 0.005,
    bandwidthBps: 100_000_000,
    queueBytes: 1_000_000,
  },
});

let delivered = 0;
let peakRss = process.memoryUsage.rss();
const payload = new Uint8Array(PACKET_BYTES);
const view = new DataView(payload.buffer);
const onDelivery = () => {
  delivered++;
};

for (let i = 0; i < PAIRS; i++) {
  const a = net.addHost({ addresses: [`10.0.${i}.1`] }).bind(5000);
  const b = net.addHost({ addresses: [`10.1.${i}.1`] }).bind(6000);
  b.onReceive(onDelivery);
  let sequence = 0;
  const tick = () => {
    if (delivered >= target) return;
    for (let k = 0; k < BURST; k++) {
      view.setUint32(0, sequence++);
      a.send(payload, b.localAddress);
    }
    net.clock.setTimer(INTERVAL_MS, tick);
  };
  net.clock.setTimer(i * 0.01, tick);
}

const started = performance.now();
let steps = 0;
while (delivered < target && net.clock.step()) {
  if ((++steps & 0xffff) === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
}
const seconds = (performance.now() - started) / 1000;
peakRss = Math.max(peakRss, process.memoryUsage.rss());

/** The same number of events through the bare clock: the floor the simulator cannot beat. */
function bareClockEventsPerSecond(events: number): number {
  const clock = new VirtualClock();
  let fired = 0;
  const fire = () => {
    fired++;
  };
  let scheduled = 0;
  const tick = () => {
    for (let k = 0; k < BURST && scheduled < events; k++, scheduled++)
      clock.setTimer(20 + k * 0.01, fire);
    if (scheduled < events) clock.setTimer(INTERVAL_MS / PAIRS, tick);
  };
  tick();
  const begin = performance.now();
  while (clock.step()) {
    // Each step fires one event; the loop ends when the queue is empty.
  }
  return fired / ((performance.now() - begin) / 1000);
}
const bare = bareClockEventsPerSecond(delivered);

console.log(
  JSON.stringify({
    bench: 'sim',
    seed,
    packets: delivered,
    sent: net.stats.sent,
    dropped: Object.values(net.stats.dropped).reduce((x, y) => x + y, 0),
    virtualSeconds: net.now() / 1000,
    wallSeconds: Number(seconds.toFixed(3)),
    packetsPerSecond: Math.round(delivered / seconds),
    peakRssMB: Number((peakRss / 2 ** 20).toFixed(1)),
    bareClockEventsPerSecond: Math.round(bare),
    ratio: Number((delivered / seconds / bare).toFixed(3)),
    traceHash: net.trace.hash,
    baseline: { packetsPerSecond: 300_000, peakRssMB: 200 },
  }),
);
