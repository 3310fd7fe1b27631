/**
 * The README's benchmark table from the benchmarks' JSON results: one row per benchmark with what
 * it measures, its key figures, the targets and baselines its JSON names, and whether each target
 * was met. Pure formatting; bench/run-all.ts runs the benchmarks and writes the README. The output
 * is Markdown as Prettier prints it (columns padded, special characters escaped), so that the
 * README stays `prettier --check` clean.
 */
import { SssError } from '../src/net/errors.js';

/** The benchmarks, in the order `npm run bench` runs them. */
export const BENCH_NAMES = ['sim', 'handshake', 'channel', 'streams'] as const;

/** One of {@link BENCH_NAMES}. */
export type BenchName = (typeof BENCH_NAMES)[number];

/** A benchmark's JSON result, as parsed from its last line of stdout. */
export type BenchResult = Record<string, unknown>;

/**
 * What one benchmark run gave: its JSON result if it printed one, and why it failed if it did.
 * Both may be set: channel and streams print their JSON and exit 1 when a case fails.
 */
export interface BenchOutcome {
  readonly name: BenchName;
  readonly result?: BenchResult;
  readonly failure?: string;
}

/** Where and how the figures were measured, for the line under the README's table. */
export interface MachineNote {
  /** When the run started. */
  readonly date: Date;
  /** `git rev-parse --short HEAD`, or `undefined` outside a git checkout. */
  readonly commit: string | undefined;
  readonly cpuModel: string;
  readonly cpus: number;
  /** `os.loadavg()` before the first benchmark: 1, 5 and 15 minutes. */
  readonly loadAverage: readonly number[];
}

/** The markers that delimit the generated block in README.md. */
export const README_START = '<!-- bench-table:start -->';
export const README_END = '<!-- bench-table:end -->';

/** The command that regenerates the README's block. */
export const REGENERATE_COMMAND = 'npm run bench -- --readme';

/** Shown for a figure the JSON does not have (a failed or skipped case). */
const MISSING = '—';

/** A target the JSON names, and how to tell whether the run met it. */
interface Goal {
  /** Names the figure in the target and met? columns. */
  readonly label: string;
  readonly unit: string;
  /** Met when the figure is at most the target, rather than at least. */
  readonly atMost?: boolean;
  readonly actual: (result: BenchResult) => number | null;
  readonly target: (result: BenchResult) => number | null;
  /** The JSON's own verdict, where it gives one (`meetsTargets`); it wins over comparing. */
  readonly stated?: (result: BenchResult) => boolean | null;
}

interface BenchSpec {
  readonly command: string;
  readonly measures: string;
  /** The key figures with their units, Markdown. */
  readonly figures: (result: BenchResult) => string;
  readonly goals: readonly Goal[];
  /** Baselines measured in the same run, shown after the targets. */
  readonly sameRun: string;
}

/** The value at a dotted path of `result`, or `undefined`. */
function at(result: BenchResult, path: string): unknown {
  let value: unknown = result;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The finite number at `path`, else `null`. */
function num(result: BenchResult, path: string): number | null {
  const value = at(result, path);
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** A boolean at `path`, else `null`. */
function flag(result: BenchResult, path: string): boolean | null {
  const value = at(result, path);
  return typeof value === 'boolean' ? value : null;
}

/** `n` with thousands separators and at most `digits` decimals; {@link MISSING} for `null`. */
export function formatNumber(n: number | null, digits = 0): string {
  if (n === null) return MISSING;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/**
 * Text from outside (an error message, a CPU model) made safe in a table cell: one line, and
 * Markdown's special characters escaped so that Prettier reads them as text and leaves them.
 */
export function escapeText(text: string, maxLength = 160): string {
  const line = text.replace(/\s+/g, ' ').trim();
  const short = line.length > maxLength ? `${line.slice(0, maxLength - 1)}…` : line;
  return short.replace(/[\\`*_[\]<>|~#]/g, '\\$&');
}

/** Shorthand for the goals below: the figure (a path or a function) and its target's path. */
function goal(
  label: string,
  unit: string,
  actual: string | ((result: BenchResult) => number | null),
  target: string,
  options: { atMost?: boolean; stated?: string } = {},
): Goal {
  const { atMost, stated } = options;
  return {
    label,
    unit,
    atMost,
    actual: typeof actual === 'string' ? (result) => num(result, actual) : actual,
    target: (result) => num(result, target),
    stated: stated === undefined ? undefined : (result) => flag(result, stated),
  };
}

const SIM: BenchSpec = {
  command: 'npm run bench:sim',
  measures:
    'simulated packet deliveries per wall-clock second (1,000,000 packets, lossy jittery link, trace hash on)',
  figures: (r) => {
    const hash = at(r, 'traceHash');
    return (
      `${formatNumber(num(r, 'packetsPerSecond'))} pkt/s, ` +
      `peak RSS ${formatNumber(num(r, 'peakRssMB'), 1)} MB, ` +
      `${formatNumber(num(r, 'ratio'), 3)}× a bare virtual clock's ` +
      `${formatNumber(num(r, 'bareClockEventsPerSecond'))} events/s; ` +
      `trace hash seed ${formatNumber(num(r, 'seed'))} = ` +
      (typeof hash === 'string' ? `\`${hash.replace(/`/g, '')}\`` : MISSING)
    );
  },
  goals: [
    goal('packets/s', ' pkt/s', 'packetsPerSecond', 'baseline.packetsPerSecond'),
    goal('peak RSS', ' MB', 'peakRssMB', 'baseline.peakRssMB', { atMost: true }),
  ],
  sameRun: 'a bare virtual clock firing as many timers',
};

const HANDSHAKE: BenchSpec = {
  command: 'npm run bench:handshake',
  measures:
    'IK handshakes/s through the real protocol code, both sides in one thread; ChaCha20-Poly1305 MB/s per operation at 1200 and 65,536 B',
  figures: (r) =>
    `native ${formatNumber(num(r, 'nativeHandshakesPerSec'))}, ` +
    `noble ${formatNumber(num(r, 'nobleHandshakesPerSec'))} handshakes/s ` +
    `(native ${formatNumber(num(r, 'handshakeToBoundRatio'), 2)} of the X25519 bound of ` +
    `${formatNumber(num(r, 'x25519BoundHandshakesPerSec'))}); ` +
    `AEAD 1200 B: native ${formatNumber(num(r, 'aeadMBps.native1200'), 1)} MB/s ` +
    `(raw node:crypto ${formatNumber(num(r, 'rawNodeAeadMBps1200'), 1)}), ` +
    `noble ${formatNumber(num(r, 'aeadMBps.noble1200'), 1)}; ` +
    `64 KiB: native ${formatNumber(num(r, 'aeadMBps.native65536'), 1)}, ` +
    `noble ${formatNumber(num(r, 'aeadMBps.noble65536'), 1)}`,
  goals: [
    goal('native handshakes', '/s', 'nativeHandshakesPerSec', 'baseline.nativeHandshakesPerSec'),
    goal('noble handshakes', '/s', 'nobleHandshakesPerSec', 'baseline.nobleHandshakesPerSec'),
    goal('native AEAD 1200 B', ' MB/s', 'aeadMBps.native1200', 'baseline.aeadMBps.native1200'),
  ],
  sameRun: 'the X25519 bound and node:crypto called directly',
};

/** The smallest of the four simulator utilizations; `null` unless all four were measured. */
function minUtilization(result: BenchResult): number | null {
  const paths = ['dsl_15.uplink', 'dsl_15.downlink', 'cable_5.uplink', 'cable_5.downlink'];
  const values = paths.map((path) => num(result, `simUtilization.${path}`));
  return values.includes(null) ? null : Math.min(...(values as number[]));
}

const CHANNEL: BenchSpec = {
  command: 'npm run bench:channel',
  measures:
    "one channel's payload goodput between two processes over 127.0.0.1 UDP; goodput/capacity on the dsl_15 and cable_5 presets; the smaller share of two channels on one bottleneck",
  figures: (r) => {
    const util = (preset: string) =>
      `${preset} ${formatNumber(num(r, `simUtilization.${preset}.uplink`), 3)} up, ` +
      `${formatNumber(num(r, `simUtilization.${preset}.downlink`), 3)} down`;
    return (
      `native ${formatNumber(num(r, 'loopbackMBps'), 1)} MB/s, ` +
      `noble ${formatNumber(num(r, 'loopbackNobleMBps'), 1)}, ` +
      `UDP baseline ${formatNumber(num(r, 'udpBaselineMBps'), 1)}, ` +
      `ratio ${formatNumber(num(r, 'ratio'), 3)} ` +
      `(${formatNumber(num(r, 'maxDatagramSize'))}-byte datagrams); ` +
      `${util('dsl_15')}; ${util('cable_5')}; ` +
      `fairness ${formatNumber(num(r, 'fairness'), 3)} ` +
      `(CUBIC ${formatNumber(num(r, 'fairnessCubic'), 3)})`
    );
  },
  goals: [
    goal('native loopback', ' MB/s', 'loopbackMBps', 'targets.loopbackMBps', {
      stated: 'meetsTargets.loopbackMBps',
    }),
    goal('ratio to UDP', '', 'ratio', 'targets.ratio', { stated: 'meetsTargets.ratio' }),
    goal('sim utilization', '', minUtilization, 'targets.simUtilization', {
      stated: 'meetsTargets.simUtilization',
    }),
    goal('fairness', '', 'fairness', 'targets.fairness', { stated: 'meetsTargets.fairness' }),
  ],
  sameRun: 'a plain node:dgram blast of 1200-byte datagrams',
};

const STREAMS: BenchSpec = {
  command: 'npm run bench:streams',
  measures:
    "one stream's goodput between two processes over 127.0.0.1 against TCP and TLS 1.3; request round trips from connect (cold) and openSubstream (warm) on the simulator; open-request-close streams/s; heap per idle stream (10,000 open)",
  figures: (r) =>
    `${formatNumber(num(r, 'sssMBps'), 1)} MB/s ` +
    `(node:crypto AEAD ${formatNumber(num(r, 'sssNodeCryptoMBps'), 1)}, ` +
    `own 4 MiB sockets ${formatNumber(num(r, 'sssBuffersMBps'), 1)}) ` +
    `against TLS ${formatNumber(num(r, 'tlsMBps'), 1)} ` +
    `(ChaCha20 ${formatNumber(num(r, 'tlsChaChaMBps'), 1)}), ` +
    `TCP ${formatNumber(num(r, 'tcpMBps'), 1)}, ` +
    `ratio to TLS ${formatNumber(num(r, 'ratioTls'), 3)}; ` +
    `cold ${formatNumber(num(r, 'coldRequestRtts'), 3)} RTT, ` +
    `warm ${formatNumber(num(r, 'warmRequestRtts'), 3)} RTT; ` +
    `${formatNumber(num(r, 'streamsPerSec'))} streams/s; ` +
    `${formatNumber(num(r, 'bytesPerIdleStream'))} bytes per idle stream`,
  goals: [
    goal('ratio to TLS', '', 'ratioTls', 'targets.ratioTls', { stated: 'meetsTargets.ratioTls' }),
    goal('cold request', ' RTT', 'coldRequestRtts', 'targets.coldRequestRtts', {
      atMost: true,
      stated: 'meetsTargets.coldRequestRtts',
    }),
    goal('warm request', ' RTT', 'warmRequestRtts', 'targets.warmRequestRtts', {
      atMost: true,
      stated: 'meetsTargets.warmRequestRtts',
    }),
    goal('streams/s', '', 'streamsPerSec', 'targets.streamsPerSec', {
      stated: 'meetsTargets.streamsPerSec',
    }),
    goal('bytes per idle stream', '', 'bytesPerIdleStream', 'targets.bytesPerIdleStream', {
      atMost: true,
      stated: 'meetsTargets.bytesPerIdleStream',
    }),
  ],
  sameRun: 'TCP and TLS 1.3 (node:net, node:tls), and the stream with node:crypto for its AEAD',
};

const SPECS: Record<BenchName, BenchSpec> = {
  sim: SIM,
  handshake: HANDSHAKE,
  channel: CHANNEL,
  streams: STREAMS,
};

/** Whether the run met `g`: the JSON's verdict if it gives one, else the comparison. */
function met(g: Goal, result: BenchResult): boolean | null {
  const stated = g.stated?.(result) ?? null;
  if (stated !== null) return stated;
  const actual = g.actual(result);
  const target = g.target(result);
  if (actual === null || target === null) return null;
  return g.atMost === true ? actual <= target : actual >= target;
}

/** The target column: each target the JSON names, then the same-run baselines. */
function targetsCell(spec: BenchSpec, result: BenchResult): string {
  const targets = spec.goals.map((g) => {
    const target = formatNumber(g.target(result), 3);
    return `${g.label} ${g.atMost === true ? '≤' : '≥'} ${target}${g.unit}`;
  });
  return `${targets.join('; ')}; in the same run: ${spec.sameRun}`;
}

/** The met? column: yes or no per target, n/a where the figure or the target is missing. */
function metCell(spec: BenchSpec, result: BenchResult): string {
  return spec.goals
    .map((g) => {
      const verdict = met(g, result);
      return `${g.label}: ${verdict === null ? 'n/a' : verdict ? 'yes' : 'no'}`;
    })
    .join('; ');
}

/** The cases a result reports as failed (`errors`: case name to message). */
function failedCases(result: BenchResult): string[] {
  const errors = at(result, 'errors');
  if (typeof errors !== 'object' || errors === null) return [];
  return Object.entries(errors).map(([name, message]) =>
    escapeText(`${name} (${String(message)})`),
  );
}

function resultCell(spec: BenchSpec, outcome: BenchOutcome): string {
  const parts: string[] = [];
  if (outcome.failure !== undefined) parts.push(`FAILED: ${escapeText(outcome.failure)}`);
  if (outcome.result !== undefined) {
    parts.push(spec.figures(outcome.result));
    const cases = failedCases(outcome.result);
    if (cases.length > 0) parts.push(`failed cases: ${cases.join(', ')}`);
  }
  if (parts.length === 0) parts.push('FAILED: no result');
  return parts.join('; ');
}

/** One row's cells: command, what it measures, result, target/baseline, met?. */
export function benchRow(outcome: BenchOutcome): string[] {
  const spec = SPECS[outcome.name];
  const { result } = outcome;
  // Without a JSON result the targets are unknown: they come from the JSON.
  return [
    `\`${spec.command}\``,
    spec.measures,
    resultCell(spec, outcome),
    result === undefined ? MISSING : targetsCell(spec, result),
    result === undefined ? MISSING : metCell(spec, result),
  ];
}

/** Display width as Prettier measures it for the text this module writes (no wide characters). */
function width(text: string): number {
  return [...text].length;
}

/** A Markdown table with every column padded to its widest cell, as Prettier aligns it. */
export function markdownTable(header: readonly string[], rows: readonly string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) =>
    Math.max(3, ...all.map((row) => width(row[column] ?? ''))),
  );
  const pad = (cell: string, w: number) => cell + ' '.repeat(w - width(cell));
  const line = (cells: readonly string[]) =>
    `| ${widths.map((w, column) => pad(cells[column] ?? '', w)).join(' | ')} |`;
  const rule = `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** The benchmark table: one row per outcome, in the order given. */
export function benchTable(outcomes: readonly BenchOutcome[]): string {
  const header = ['command', 'what it measures', 'result', 'target / baseline', 'met?'];
  return markdownTable(header, outcomes.map(benchRow));
}

/** The paragraph under the table: when, at which commit, on what machine, how to regenerate. */
export function machineLine(note: MachineNote): string {
  const date = note.date.toISOString().slice(0, 10);
  const commit = note.commit === undefined ? 'an unknown commit' : `commit \`${note.commit}\``;
  const load = note.loadAverage.map((n) => n.toFixed(2)).join(', ');
  return (
    `Measured ${date} at ${commit} on ${escapeText(note.cpuModel)} (${note.cpus} CPUs), ` +
    `load average ${load} (1, 5, 15 min) before the first benchmark; figures from a shared ` +
    `machine are noisy. Regenerate with \`${REGENERATE_COMMAND}\`.`
  );
}

/** What goes between the README's markers: the table and the line under it. */
export function readmeBlock(table: string, note: MachineNote): string {
  return `${table}\n\n${machineLine(note)}`;
}

/** Offsets of the markers in `readme`; an {@link SssError} names what is missing. */
function markerOffsets(readme: string): { start: number; end: number } {
  const start = readme.indexOf(README_START);
  const end = start < 0 ? -1 : readme.indexOf(README_END, start + README_START.length);
  if (start < 0 || end < 0) {
    throw new SssError(
      'bench-table-markers',
      `README.md has no ${start < 0 ? README_START : `${README_END} after ${README_START}`}: ` +
        `put the two markers, each on its own line, where the benchmark table belongs`,
    );
  }
  return { start: start + README_START.length, end };
}

/** Throws the {@link SssError} of {@link replaceBlock} if `readme` lacks the markers. */
export function checkMarkers(readme: string): void {
  markerOffsets(readme);
}

/** `readme` with the text between its markers replaced by `block`, blank lines around it. */
export function replaceBlock(readme: string, block: string): string {
  const { start, end } = markerOffsets(readme);
  return `${readme.slice(0, start)}\n\n${block}\n\n${readme.slice(end)}`;
}
