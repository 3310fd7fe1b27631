import { Identity } from '../crypto/identity.js';
import { createNativeSuite } from '../crypto/native-suite.js';
import { Host } from '../host.js';
import { Prng } from '../net/prng.js';
import {
  applyPlan,
  type DropReason,
  type FaultPlan,
  presetLinks,
  type SimHost,
  SimNetwork,
  type TraceRecord,
} from '../net/sim/index.js';
import { CountingSocket } from './counting-socket.js';
import {
  exchangeReport,
  type ExchangeReport,
  type RunHooks,
  startExchange,
  wireFigures,
} from './exchange.js';
import type { DemoFile } from './files.js';

export interface SimRunOptions extends RunHooks {
  /** A link preset (`PRESET_NAMES`) between `client` and `server`. */
  readonly preset: string;
  /** Seed of every random draw: the link's, and the hosts' keys and nonces. */
  readonly seed: number;
  readonly files: readonly DemoFile[];
  /** Faults, by host names `client` and `server`, at virtual ms from the start. */
  readonly plan?: FaultPlan;
  /** Virtual milliseconds after which the fetch is abandoned. */
  readonly limitMs: number;
  readonly onTrace?: (record: TraceRecord) => void;
}

/** What the simulated network did to the exchange's packets. */
export interface NetworkCounts {
  readonly sent: number;
  readonly delivered: number;
  /** Drops by reason; reasons that dropped nothing are left out. */
  readonly dropped: Partial<Record<DropReason, number>>;
  readonly duplicated: number;
  readonly corrupted: number;
}

/** An exchange on the simulator: its figures in virtual time, and how to replay it. */
export interface SimRunReport extends ExchangeReport {
  readonly preset: string;
  readonly seed: number;
  /** Virtual time the run took, ms. */
  readonly virtualMs: number;
  readonly network: NetworkCounts;
  /** Fingerprint of every packet and event: the same seed, files and plan give the same hash. */
  readonly traceHash: string;
}

/** Added to virtual time for handshake timestamps, which want a plausible wall clock. */
const EPOCH_MS = 1_790_000_000_000;
const SERVER_ADDRESS = '10.0.0.2';
const PORT = 4433;

/**
 * The exchange between two hosts on the simulator, `client` (10.0.0.1) and `server`
 * (10.0.0.2), over a preset link, with a fault plan if given. Everything in it, keys included,
 * is drawn from `seed`, and it runs on virtual time: a run replays exactly. Link changes and
 * file ends are written to the trace (source `demo`) beside the packets.
 * @throws InvalidParameterError for an unknown preset or a bad plan.
 */
export async function runOnSimulator(options: SimRunOptions): Promise<SimRunReport> {
  const links = presetLinks(options.preset);
  const net = new SimNetwork({ seed: options.seed, onTrace: options.onTrace });
  const clientSim = net.addHost({ name: 'client', addresses: ['10.0.0.1'] });
  const serverSim = net.addHost({ name: 'server', addresses: [SERVER_ADDRESS] });
  net.setLinks(clientSim, serverSim, links);
  if (options.plan !== undefined) applyPlan(net, options.plan);
  const keys = new Prng(options.seed);
  const hostOn = (simHost: SimHost, socket: CountingSocket) => {
    const suite = createNativeSuite(keys.fork());
    return Host.create({
      identity: Identity.generate(suite),
      sockets: [socket],
      clock: simHost.clock,
      suite,
      wallClockMs: () => EPOCH_MS + net.now(),
    });
  };
  const sockets = {
    client: new CountingSocket(clientSim.bind(PORT)),
    server: new CountingSocket(serverSim.bind(PORT)),
  };
  const hosts = {
    client: await hostOn(clientSim, sockets.client),
    server: await hostOn(serverSim, sockets.server),
  };
  options.onHosts?.(hosts.client, hosts.server);
  const exchange = startExchange({
    ...hosts,
    endpoints: [{ host: SERVER_ADDRESS, port: PORT }],
    files: options.files,
    clock: clientSim.clock,
    onProgress: options.onProgress,
    onEvent: (event, source) => {
      net.trace.record('demo', event.type, {
        atMs: event.atMs,
        ...(event.type === 'link'
          ? { state: event.state }
          : { name: event.file.name, state: event.file.state }),
      });
      options.onEvent?.(event, source);
    },
  });
  if (!net.runUntil(() => exchange.done, options.limitMs)) {
    exchange.fetch.abort(`no end within ${options.limitMs} ms of virtual time`);
  }
  // Read before the hosts close, so that their goodbyes are not in the figures.
  const stats = net.stats;
  const report: SimRunReport = {
    preset: options.preset,
    seed: options.seed,
    ...exchangeReport(exchange.fetch, options.files, wireFigures(hosts, sockets)),
    virtualMs: net.now(),
    network: {
      sent: stats.sent,
      delivered: stats.delivered,
      dropped: Object.fromEntries(Object.entries(stats.dropped).filter(([, n]) => n > 0)),
      duplicated: stats.duplicated,
      corrupted: stats.corrupted,
    },
    traceHash: net.trace.hash,
  };
  await Promise.all([hosts.client.close(), hosts.server.close()]);
  await Promise.all([sockets.client.close(), sockets.server.close()]);
  return report;
}
