import type { SimSocket } from '../net/sim/index.js';
import {
  applyPlan,
  type DropReason,
  type FaultPlan,
  type LinkParams,
  presetLinks,
  SimNetwork,
  type TraceRecord,
} from '../net/sim/index.js';

/** What `sss sim` runs. */
export interface SimScenarioOptions {
  readonly preset: string;
  readonly seed: number;
  /** Virtual time the senders run, ms. */
  readonly durationMs: number;
  readonly plan?: FaultPlan;
  readonly onTrace?: (record: TraceRecord) => void;
}

/** Delivery figures of one direction. */
export interface FlowReport {
  readonly from: string;
  readonly to: string;
  readonly sent: number;
  readonly delivered: number;
  readonly capacityBps: number;
  readonly goodputBps: number;
  readonly delayMs: {
    readonly min: number;
    readonly mean: number;
    readonly p99: number;
    readonly max: number;
  };
}

export interface SimScenarioReport {
  readonly preset: string;
  readonly seed: number;
  readonly virtualSeconds: number;
  readonly flows: readonly FlowReport[];
  readonly dropped: Partial<Record<DropReason, number>>;
  readonly duplicated: number;
  readonly corrupted: number;
  readonly traceHash: string;
}

const BULK_BYTES = 1200;
const ACK_BYTES = 64;
/** The bulk sender offers this share of the link's rate: busy, but not a queue-filling flood. */
const OFFERED_LOAD = 0.9;

/** A constant-bitrate sender of stamped datagrams and the receiver that measures them. */
function flow(
  net: SimNetwork,
  from: SimSocket,
  to: SimSocket,
  size: number,
  intervalMs: number,
  durationMs: number,
) {
  const delays: number[] = [];
  let sent = 0;
  let bytes = 0;
  to.onReceive((data) => {
    if (data.length !== size) return;
    delays.push(net.now() - new DataView(data.buffer, data.byteOffset).getFloat64(0));
    bytes += data.length;
  });
  const payload = new Uint8Array(size);
  const stamp = new DataView(payload.buffer);
  const tick = () => {
    stamp.setFloat64(0, net.now());
    from.send(payload, to.localAddress);
    sent++;
    if (net.now() + intervalMs < durationMs) net.clock.setTimer(intervalMs, tick);
  };
  net.clock.setTimer(0, tick);
  return { delays, sent: () => sent, bytes: () => bytes };
}

function summarise(delays: number[]) {
  if (delays.length === 0) return { min: 0, mean: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(delays).sort();
  const sum = sorted.reduce((x, y) => x + y, 0);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    min: round(sorted[0] as number),
    mean: round(sum / sorted.length),
    p99: round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number),
    max: round(sorted[sorted.length - 1] as number),
  };
}

function rateOf(params: Partial<LinkParams>): number {
  return params.bandwidthBps ?? Number.POSITIVE_INFINITY;
}

/**
 * Two hosts on a preset link: the server streams 1200-byte datagrams to the client at 90 % of the
 * down rate, the client sends a 64-byte report every 10 ms back. Until the transport exists this
 * is the main job: it shows what the link model does to a flow, reproducibly by seed.
 */
export function runSimScenario(options: SimScenarioOptions): SimScenarioReport {
  const links = presetLinks(options.preset);
  const net = new SimNetwork({ seed: options.seed, onTrace: options.onTrace });
  const client = net.addHost({ name: 'client', addresses: ['10.0.0.1'] });
  const server = net.addHost({ name: 'server', addresses: ['10.0.0.2'] });
  net.setLinks(client, server, links);
  if (options.plan !== undefined) applyPlan(net, options.plan);
  const c = client.bind(5000);
  const s = server.bind(443);
  const downRate = rateOf(links.down);
  const bulkInterval = (BULK_BYTES * 8 * 1000) / (downRate * OFFERED_LOAD);
  const down = flow(net, s, c, BULK_BYTES, bulkInterval, options.durationMs);
  const up = flow(net, c, s, ACK_BYTES, 10, options.durationMs);
  net.runFor(options.durationMs);
  // Let the last datagrams in flight land, then measure.
  net.runFor(2000);
  const seconds = options.durationMs / 1000;
  const report = (from: string, to: string, f: typeof down, capacityBps: number): FlowReport => ({
    from,
    to,
    sent: f.sent(),
    delivered: f.delays.length,
    capacityBps,
    goodputBps: Math.round((f.bytes() * 8) / seconds),
    delayMs: summarise(f.delays),
  });
  const dropped = Object.fromEntries(Object.entries(net.stats.dropped).filter(([, n]) => n > 0));
  return {
    preset: options.preset,
    seed: options.seed,
    virtualSeconds: net.now() / 1000,
    flows: [
      report('server', 'client', down, downRate),
      report('client', 'server', up, rateOf(links.up)),
    ],
    dropped,
    duplicated: net.stats.duplicated,
    corrupted: net.stats.corrupted,
    traceHash: net.trace.hash,
  };
}

function mbps(bps: number): string {
  return Number.isFinite(bps) ? `${(bps / 1e6).toFixed(3)} Mbit/s` : 'unlimited';
}

/** The report as people read it. */
export function formatSimReport(report: SimScenarioReport, wallSeconds: number): string {
  const lines = [
    `sss sim: preset ${report.preset}, seed ${report.seed}, ${report.virtualSeconds.toFixed(1)} s virtual in ${wallSeconds.toFixed(2)} s`,
  ];
  for (const f of report.flows) {
    const share = f.sent === 0 ? 0 : (100 * f.delivered) / f.sent;
    lines.push(
      `  ${f.from} -> ${f.to}: ${f.sent} sent, ${f.delivered} delivered (${share.toFixed(1)} %), goodput ${mbps(f.goodputBps)} of ${mbps(f.capacityBps)}`,
      `    one-way delay ms: min ${f.delayMs.min}, mean ${f.delayMs.mean}, p99 ${f.delayMs.p99}, max ${f.delayMs.max}`,
    );
  }
  const drops = Object.entries(report.dropped).map(([reason, n]) => `${reason} ${n}`);
  lines.push(`  dropped: ${drops.length === 0 ? 'none' : drops.join(', ')}`);
  lines.push(`  duplicated ${report.duplicated}, corrupted ${report.corrupted}`);
  lines.push(`  trace hash ${report.traceHash}`);
  return lines.join('\n');
}
