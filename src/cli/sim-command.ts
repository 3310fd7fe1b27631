import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { type FaultPlan, formatTraceRecord, PRESET_NAMES } from '../net/sim/index.js';
import { byteCount, integer, UsageError } from './args.js';
import { formatSimReport, runSimScenario, type SimScenarioReport } from './sim-scenario.js';

export const SIM_USAGE = `usage: sss sim [--preset NAME] [--seed N] [--bytes N] [--duration MS] [--plan FILE] [--trace FILE] [--json]

Two hosts on the simulator, 'client' and 'server', joined by a preset link: the client fetches
four files from the server at once, on substreams of one stream, at different priorities, and
checks each one's SHA-256. Prints per file the outcome and the virtual time it finished, then
goodput, RTT, the channels' loss and probe counters, link-state changes, what the network
dropped and why, and the trace hash: the same seed and plan always print the same hash.

  --preset NAME    link preset: ${PRESET_NAMES.join(', ')} (default wifi_lossy)
  --seed N         seed of every random draw, file contents and keys included (default 1)
  --bytes N        bytes to fetch in all, split over the four files; suffix k, M (default 2M)
  --duration MS    virtual milliseconds after which the fetch is abandoned (default 120000)
  --plan FILE      JSON fault plan (a list of timed events; hosts are 'client' and 'server')
  --trace FILE     write every packet event and the fetch's events as JSON lines to FILE
  --json           print the report as one JSON object`;

function readPlan(file: string): FaultPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read plan ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as FaultPlan;
  } catch (error) {
    throw new UsageError(`plan ${file} is not JSON: ${(error as Error).message}`);
  }
}

/** `sss sim`: runs the scenario its options describe and prints the report. */
export async function sim(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      preset: { type: 'string', default: 'wifi_lossy' },
      seed: { type: 'string', default: '1' },
      bytes: { type: 'string', default: '2M' },
      duration: { type: 'string', default: '120000' },
      plan: { type: 'string' },
      trace: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(SIM_USAGE);
    return;
  }
  const seed = integer(values.seed, 'seed', 0);
  const durationMs = integer(values.duration, 'duration', 1);
  const bytes = byteCount(values.bytes, 'bytes');
  const plan = values.plan === undefined ? undefined : readPlan(values.plan);
  const trace = values.trace === undefined ? undefined : createWriteStream(values.trace);
  const started = performance.now();
  let report: SimScenarioReport;
  try {
    report = await runSimScenario({
      preset: values.preset,
      seed,
      durationMs,
      bytes,
      plan,
      onTrace:
        trace === undefined ? undefined : (record) => trace.write(`${formatTraceRecord(record)}\n`),
    });
  } finally {
    if (trace !== undefined) await closeTrace(trace);
  }
  const wallSeconds = (performance.now() - started) / 1000;
  console.log(values.json ? JSON.stringify(report) : formatSimReport(report, wallSeconds));
}

/** Ends the trace file once everything written has reached it. */
function closeTrace(stream: WriteStream): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.end(resolve);
  });
}
