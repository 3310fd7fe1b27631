import type { Host } from '../host.js';
import { presetLinks } from '../net/sim/index.js';
import type { LinkParams } from '../net/sim/index.js';
import type { ExchangeReport, RunHooks } from './exchange.js';
import { DEMO_FILES, type DemoFile, type FileSpec, makeFiles } from './files.js';
import { formatBytes, formatRate, table } from './format.js';
import { type DemoOutput, ProgressView } from './progress.js';
import { formatComparison, formatRun, formatSimNetwork } from './report.js';
import { runOnSimulator, type SimRunReport } from './sim-run.js';
import { runOverUdp } from './udp-run.js';

export interface DemoOptions {
  /** Seed of the files' content and of the simulated run (default 1). */
  readonly seed?: number;
  /** The simulated link (default `wifi_lossy`). */
  readonly preset?: string;
  /** The files to serve (default {@link DEMO_FILES}: four files, 256 KiB to 8 MiB). */
  readonly files?: readonly FileSpec[];
  /** Where to narrate the demo; by default it runs silently. */
  readonly out?: DemoOutput;
  /** Wall-clock ms after which the UDP run gives up (default 30,000). */
  readonly udpTimeoutMs?: number;
  /** Virtual ms after which the simulated run gives up (default 300,000). */
  readonly simLimitMs?: number;
}

/** Both runs' figures, and whether every file was verified in both. */
export interface DemoReport {
  readonly udp: ExchangeReport;
  readonly sim: SimRunReport;
  readonly ok: boolean;
}

const DEFAULT_SIM_LIMIT_MS = 300_000;
const SILENT: DemoOutput = { write: () => undefined, isTTY: false };

const INTRO = `Structured Secure Streams: the transport at work
================================================
Two hosts, each identified by a fresh X25519 key pair (its EID). The client opens one encrypted
channel and one stream to the server's 'files' service, then asks for every file at once, each
on its own substream of that stream, at its own priority: the server sends the higher priority
first. Every file is checked against its SHA-256 as it ends. The exchange runs twice: over real
UDP on this machine, then on the deterministic network simulator over a lossy link.`;

function describeLink(preset: string): string {
  const { up, down } = presetLinks(preset);
  const part = (link: Partial<LinkParams>) => {
    const jitter = link.jitterMs ? ` + up to ${link.jitterMs} ms jitter` : '';
    const lossy = link.burst || link.loss ? ', random loss' : '';
    const rate = link.bandwidthBps === undefined ? 'unlimited' : formatRate(link.bandwidthBps);
    return `${rate}, ${link.delayMs ?? 0} ms delay${jitter}${lossy}`;
  };
  return JSON.stringify(up) === JSON.stringify(down)
    ? `${part(down)}, each way`
    : `down ${part(down)}; up ${part(up)}`;
}

function fileLines(files: readonly DemoFile[]): string[] {
  return table(
    files.map((file) => [
      file.name,
      `priority ${file.priority}`,
      formatBytes(file.size),
      `sha256 ${Buffer.from(file.sha256).toString('hex').slice(0, 16)}...`,
    ]),
    [2],
  );
}

/** Writes progress and events to `out`, and the hosts' identities when they exist. */
function narrate(out: DemoOutput, view: ProgressView): RunHooks {
  return {
    onHosts: (client: Host, server: Host) =>
      out.write(`  client ${client.eid}\n  server ${server.eid}\n`),
    onProgress: (fetch) => view.progress(fetch),
    onEvent: (event, fetch) => view.event(event, fetch),
  };
}

/**
 * The demo: `files` served and fetched in parallel at their priorities over loopback UDP, then
 * the same on the simulator, narrated to `out`, each run verified file by file.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const out = options.out ?? SILENT;
  const say = (...lines: string[]) => out.write(`${lines.join('\n')}\n`);
  const seed = options.seed ?? 1;
  const preset = options.preset ?? 'wifi_lossy';
  const link = describeLink(preset);
  const files = makeFiles(options.files ?? DEMO_FILES, seed);
  say(INTRO, '', `Files (content drawn from seed ${seed}):`, ...fileLines(files), '');

  say('Run 1: real UDP sockets on 127.0.0.1, in real time (times count from the connect)');
  const udpView = new ProgressView(out);
  const udp = await runOverUdp({
    files,
    timeoutMs: options.udpTimeoutMs,
    ...narrate(out, udpView),
  });
  say('', ...formatRun(udp), '');

  say(
    'Run 2: the same exchange on the simulator, in virtual time (times count from the connect)',
    `  link preset ${preset}: ${link}`,
  );
  const simView = new ProgressView(out);
  const sim = await runOnSimulator({
    files,
    preset,
    seed,
    limitMs: options.simLimitMs ?? DEFAULT_SIM_LIMIT_MS,
    ...narrate(out, simView),
  });
  say('', ...formatRun(sim), ...formatSimNetwork(sim), '');

  say('Side by side', ...formatComparison(udp, sim), '');
  const ok = udp.allVerified && sim.allVerified;
  say(
    ok
      ? 'Every file arrived intact in both runs.'
      : 'Some file did not arrive intact: see the tables above.',
  );
  return { udp, sim, ok };
}
