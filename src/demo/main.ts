/**
 * The main job (`npm start`): runs the demo, narrated on stdout, and exits with 0 when every
 * file arrived intact in both runs, 1 otherwise, 2 for bad options.
 */
import { parseArgs } from 'node:util';
import { SssError } from '../net/errors.js';
import { PRESET_NAMES } from '../net/sim/index.js';
import { runDemo } from './demo.js';

const USAGE = `usage: node dist/src/demo/main.js [--seed N] [--preset NAME]

  --seed N       seed of the files' content and of the simulated run (default 1)
  --preset NAME  the simulated link: ${PRESET_NAMES.join(', ')} (default wifi_lossy)
`;

async function main(): Promise<number> {
  let values: { seed: string; preset: string; help: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        seed: { type: 'string', default: '1' },
        preset: { type: 'string', default: 'wifi_lossy' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    process.stderr.write(`demo: --seed must be an integer >= 0, got '${values.seed}'\n`);
    return 2;
  }
  const out = { write: (text: string) => process.stdout.write(text), isTTY: process.stdout.isTTY };
  try {
    const report = await runDemo({ seed, preset: values.preset, out });
    return report.ok ? 0 : 1;
  } catch (error) {
    if (!(error instanceof SssError)) throw error;
    process.stderr.write(`demo: ${error.message}\n`);
    return 2;
  }
}

process.exitCode = await main();
