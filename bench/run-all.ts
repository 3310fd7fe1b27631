/**
 * Runs every benchmark and prints the README's benchmark table. Each of sim, handshake, channel
 * and streams runs as `node dist/bench/<name>.js` in its own child process, one after another
 * (they measure the machine, so they must not overlap); its stderr passes through, its last stdout
 * line is its JSON result, printed here as soon as it finishes, so that stdout carries one JSON
 * line per benchmark as before, then the Markdown table (bench/bench-table.ts) and the line under
 * it (date, commit, CPU, load average), exactly as `--readme` writes them. A benchmark that
 * exits non-zero, prints no JSON or outlives {@link BENCH_TIMEOUT_MS} fails: its row says why and
 * the exit code is 1.
 *
 * Usage: `npm run bench -- [--readme] [--only sim,handshake,channel,streams]`. With `--readme`
 * the table, the date, the commit, the CPU and the load average replace the block between
 * `<!-- bench-table:start -->` and `<!-- bench-table:end -->` in README.md; only a full run with
 * no failure writes it, so that the README never shows a partial table.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  BENCH_NAMES,
  type BenchName,
  type BenchOutcome,
  type BenchResult,
  benchTable,
  checkMarkers,
  type MachineNote,
  readmeBlock,
  replaceBlock,
} from './bench-table.js';

/** The longest one benchmark may run; streams, the longest, takes about two minutes idle. */
const BENCH_TIMEOUT_MS = 10 * 60_000;
/** After SIGTERM (which lets a bench reap its own children), how long before SIGKILL. */
const KILL_GRACE_MS = 5000;
/** The repository root: this file runs as dist/bench/run-all.js. */
const ROOT = new URL('../../', import.meta.url);
const README = fileURLToPath(new URL('README.md', ROOT));
const USAGE = `usage: bench/run-all.js [--readme] [--only ${BENCH_NAMES.join(',')}]`;

/** Prints `message` and the usage to stderr and exits with 2. */
function usageError(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** The benchmarks `--only` names, in the usual order; all of them without it. */
function selectedBenches(only: string | undefined): BenchName[] {
  if (only === undefined) return [...BENCH_NAMES];
  const wanted = only.split(',').map((name) => name.trim());
  const unknown = wanted.filter((name) => !(BENCH_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) usageError(`unknown benchmark ${unknown.join(', ')}`);
  return BENCH_NAMES.filter((name) => wanted.includes(name));
}

/** SIGTERM now, SIGKILL if it is still there after {@link KILL_GRACE_MS}. */
function stop(child: ChildProcess): void {
  child.kill('SIGTERM');
  setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, KILL_GRACE_MS).unref();
}

/** The last non-empty line parsed as a JSON object, or `undefined`. */
function parseResult(line: string | undefined): BenchResult | undefined {
  if (line === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as BenchResult)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Why a bench failed, from how it ended; `undefined` if it did not. */
function failureOf(
  exit: { code: number | null; signal: NodeJS.Signals | null },
  timedOut: boolean,
  result: BenchResult | undefined,
): string | undefined {
  if (timedOut) return `timed out after ${BENCH_TIMEOUT_MS / 1000} s`;
  if (exit.signal !== null) return `killed by ${exit.signal}`;
  if (exit.code !== 0) return `exited with code ${exit.code}`;
  if (result === undefined) return 'printed no JSON result';
  return undefined;
}

/** Runs one bench to its end (or its timeout) and prints its JSON line as it arrives. */
async function runBench(name: BenchName): Promise<BenchOutcome> {
  const script = fileURLToPath(new URL(`${name}.js`, import.meta.url));
  if (!existsSync(script)) return { name, failure: `${script} not found: run npm run build` };
  console.error(`bench: running ${name}`);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const reader = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  reader.on('line', (line) => {
    if (line.trim() !== '') lines.push(line);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop(child);
  }, BENCH_TIMEOUT_MS);
  // Ended means both: the process is gone and every line of its stdout has been read.
  const [[code, signal]] = (await Promise.all([once(child, 'close'), once(reader, 'close')])) as [
    [number | null, NodeJS.Signals | null],
    unknown,
  ];
  clearTimeout(timer);
  const last = lines.pop();
  // Anything a bench printed before its result is for people: keep it, off the JSON stream.
  for (const line of lines) console.error(line);
  const result = parseResult(last);
  if (result === undefined && last !== undefined) console.error(last);
  if (result !== undefined) console.log(last);
  const failure = failureOf({ code, signal }, timedOut, result);
  if (failure !== undefined) console.error(`bench: ${name} failed: ${failure}`);
  return { name, result, failure };
}

/** `git rev-parse --short HEAD`, or `undefined` when git or the checkout is not there. */
function commit(): string | undefined {
  try {
    const root = fileURLToPath(ROOT);
    const out = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

function machineNote(): MachineNote {
  return {
    date: new Date(),
    commit: commit(),
    cpuModel: cpus()[0]?.model.trim() || 'unknown CPU',
    cpus: availableParallelism(),
    loadAverage: loadavg(),
  };
}

/** Reads README.md and checks its markers; exits with a clear message if either fails. */
function readReadme(): string {
  try {
    const readme = readFileSync(README, 'utf8');
    checkMarkers(readme);
    return readme;
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { readme: { type: 'boolean', default: false }, only: { type: 'string' } },
  });
  const names = selectedBenches(values.only);
  // The README's table covers every bench; a partial run would drop the others' rows.
  if (values.readme && values.only !== undefined) usageError('--readme runs every benchmark');
  // Checked before minutes of benchmarks, so that a README without markers fails at once.
  if (values.readme) readReadme();
  // Before the first bench: the benches' own load would hide what else the machine was doing.
  const note = machineNote();
  const outcomes: BenchOutcome[] = [];
  for (const name of names) outcomes.push(await runBench(name));
  const block = readmeBlock(benchTable(outcomes), note);
  console.log(`\n${block}`);
  const failed = outcomes.filter((outcome) => outcome.failure !== undefined);
  if (failed.length > 0) {
    process.exitCode = 1;
    const which = failed.map((outcome) => outcome.name).join(', ');
    console.error(`bench: failed: ${which}${values.readme ? '; README.md not updated' : ''}`);
    return;
  }
  if (values.readme) {
    // Read again: the README may have been edited while the benchmarks ran.
    writeFileSync(README, replaceBlock(readReadme(), block));
    console.error(`bench: README.md updated`);
  }
}

await main();
