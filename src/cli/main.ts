import { SssError } from '../net/errors.js';
import { UsageError } from './args.js';
import { sim, SIM_USAGE } from './sim-command.js';

const USAGE = `usage: sss <command> [options]

commands:
  sim     run a scenario on the deterministic network simulator and report it

Run 'sss <command> --help' for a command's options.`;

/**
 * Runs the `sss` command line; resolves to the exit code (2 for usage errors).
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'sim':
        await sim(rest);
        return 0;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) {
      console.error(`sss: ${error.message}\n\n${command === 'sim' ? SIM_USAGE : USAGE}`);
      return 2;
    }
    if (error instanceof SssError) {
      console.error(`sss: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
