import { makeFiles, scaledFiles } from '../demo/files.js';
import { formatBytes, formatMs } from '../demo/format.js';
import { formatRun, formatSimNetwork } from '../demo/report.js';
import { runOnSimulator, type SimRunReport } from '../demo/sim-run.js';
import type { FaultPlan, TraceRecord } from '../net/sim/index.js';

/** What `sss sim` runs. */
export interface SimScenarioOptions {
  readonly preset: string;
  readonly seed: number;
  /** Virtual time after which the transfer is abandoned, ms. */
  readonly durationMs: number;
  /** Bytes to transfer, over the demo's four files in its proportions. */
  readonly bytes: number;
  readonly plan?: FaultPlan;
  readonly onTrace?: (record: TraceRecord) => void;
}

/** The demo's simulated run, with the amount asked for. */
export interface SimScenarioReport extends SimRunReport {
  readonly bytes: number;
}

/**
 * The demo's exchange on the simulator: a client fetches four files (`bytes` in all, content
 * drawn from the seed) from a server at different priorities, on substreams of one stream, over
 * a preset link with the fault plan applied, for at most `durationMs` of virtual time. The same
 * seed and plan give the same report and trace hash.
 * @throws InvalidParameterError for an unknown preset, a bad plan or a bad size.
 */
export async function runSimScenario(options: SimScenarioOptions): Promise<SimScenarioReport> {
  const files = makeFiles(scaledFiles(options.bytes), options.seed);
  const report = await runOnSimulator({
    preset: options.preset,
    seed: options.seed,
    files,
    plan: options.plan,
    limitMs: options.durationMs,
    onTrace: options.onTrace,
  });
  return { ...report, bytes: files.reduce((sum, file) => sum + file.size, 0) };
}

/** The report as people read it. */
export function formatSimReport(report: SimScenarioReport, wallSeconds: number): string {
  return [
    `sss sim: preset ${report.preset}, seed ${report.seed}, ${formatBytes(report.bytes)} in ${report.files.length} files, ${formatMs(report.virtualMs)} virtual in ${wallSeconds.toFixed(2)} s`,
    ...formatRun(report),
    ...formatSimNetwork(report),
  ].join('\n');
}
