import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { type FaultPlan, formatTraceRecord, PRESET_NAMES } from '../net/sim/index.js';
import { integer, UsageError } from './args.js';
import { formatSimReport, runSimScenario } from './sim-scenario.js';

export const SIM_USAGE = `usage: sss sim [--preset NAME] [--seed N] [--duration MS] [--plan FILE] [--trace FILE] [--json]

Two simulated hosts on a preset link: the server streams 1200-byte datagrams to the client at
90 % of the link rate, the client reports back every 10 ms. Prints delivery, goodput, delay and
drops by reason, and the trace hash: the same seed and plan always print the same hash.

  --preset NAME    link preset: ${PRESET_NAMES.join(', ')} (default wifi_lossy)
  --seed N         seed of every random draw (default 1)
  --duration MS    virtual milliseconds the senders run (default 10000)
  --plan FILE      JSON fault plan (a list of timed events; hosts are 'client' and 'server')
  --trace FILE     write every packet event as JSON lines to FILE
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

export async function sim(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      preset: { type: 'string', default: 'wifi_lossy' },
      seed: { type: 'string', default: '1' },
      duration: { type: 'string', default: '10000' },
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
  const plan = values.plan === undefined ? undefined : readPlan(values.plan);
  let trace: WriteStream | undefined;
  if (values.trace !== undefined) trace = createWriteStream(values.trace);
  const started = performance.now();
  const report = runSimScenario({
    preset: values.preset,
    seed,
    durationMs,
    plan,
    onTrace:
      trace === undefined ? undefined : (record) => trace.write(`${formatTraceRecord(record)}\n`),
  });
  const wallSeconds = (performance.now() - started) / 1000;
  if (trace !== undefined) {
    const stream = trace;
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.end(resolve);
    });
  }
  console.log(values.json ? JSON.stringify(report) : formatSimReport(report, wallSeconds));
}
