import { SssError } from '../errors.js';
import { SimNetwork, type SimNetworkOptions } from './network.js';
import { formatTraceRecord } from './trace.js';

/** Two runs of the same scenario and seed gave different traces. */
export class NondeterminismError extends SssError {
  constructor(
    readonly firstHash: string,
    readonly secondHash: string,
    /** Index of the first record that differs, and the two versions of it, when known. */
    readonly divergence: { index: number; first: string; second: string } | null,
  ) {
    super(
      'nondeterministic',
      `the scenario is not deterministic: trace hash ${firstHash} then ${secondHash}` +
        (divergence === null
          ? ''
          : `; first difference at record ${divergence.index}:\n  ${divergence.first}\n  ${divergence.second}`),
    );
  }
}

/** A scenario drives a fresh network: binds sockets, sends, applies a plan, runs the clock. */
export type Scenario = (net: SimNetwork) => void | Promise<void>;

async function runOnce(options: SimNetworkOptions, scenario: Scenario, keep: number) {
  const lines: string[] = [];
  const net = new SimNetwork({
    ...options,
    onTrace: (record) => {
      if (lines.length < keep) lines.push(formatTraceRecord(record));
      options.onTrace?.(record);
    },
  });
  await scenario(net);
  return { hash: net.trace.hash, lines };
}

/**
 * Runs `scenario` twice on fresh networks built from `options` and compares the trace hashes: the
 * self-check that a simulation depends on its seed alone (no `Math.random`, wall clock or
 * iteration order leaking in). Keeps up to `keepRecords` records per run to name where the runs
 * first part.
 * @returns the trace hash.
 * @throws NondeterminismError if the runs differ.
 */
export async function assertDeterministic(
  options: SimNetworkOptions,
  scenario: Scenario,
  keepRecords = 100_000,
): Promise<string> {
  const first = await runOnce(options, scenario, keepRecords);
  const second = await runOnce(options, scenario, keepRecords);
  if (first.hash === second.hash) return first.hash;
  const length = Math.min(first.lines.length, second.lines.length);
  let index = 0;
  while (index < length && first.lines[index] === second.lines[index]) index++;
  const divergence =
    index < Math.max(first.lines.length, second.lines.length)
      ? { index, first: first.lines[index] ?? '(end)', second: second.lines[index] ?? '(end)' }
      : null;
  throw new NondeterminismError(first.hash, second.hash, divergence);
}
