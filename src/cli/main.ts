import { InvalidParameterError } from '../net/errors.js';
import { UsageError } from './args.js';
import type { Command } from './command.js';

/** A subcommand: its line in the list, and its module, loaded only when it runs. */
interface Entry {
  readonly summary: string;
  load(): Promise<Command>;
}

// Loaded on demand: the network stack takes a good part of a second to load, which keygen, id
// and help do not need.
const COMMANDS: Readonly<Record<string, Entry>> = {
  keygen: {
    summary: 'create an identity file',
    load: async () => (await import('./keygen-command.js')).keygenCommand,
  },
  id: {
    summary: "print an identity file's EID",
    load: async () => (await import('./id-command.js')).idCommand,
  },
  listen: {
    summary: 'serve a service: netcat-like, echo, a command per stream, or files',
    load: async () => (await import('./listen-command.js')).listenCommand,
  },
  connect: {
    summary: 'open a stream to a peer, joined to stdin and stdout',
    load: async () => (await import('./connect-command.js')).connectCommand,
  },
  send: {
    summary: "send files to 'sss receive'",
    load: async () => (await import('./send-command.js')).sendCommand,
  },
  receive: {
    summary: "receive files that 'sss send' sends",
    load: async () => (await import('./receive-command.js')).receiveCommand,
  },
  sim: {
    summary: 'run a scenario on the deterministic network simulator and report it',
    load: async () => {
      const { sim, SIM_USAGE } = await import('./sim-command.js');
      return { usage: SIM_USAGE, run: async (args) => (await sim(args), 0) };
    },
  },
};

const USAGE = `usage: sss <command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(9)}${command.summary}`)
  .join('\n')}

Run 'sss <command> --help' for a command's options. Exit codes: 0 success, 1 failure (a peer
unreachable, a service not found, a transfer failed), 2 bad usage or input.`;

/** Node's parseArgs reports unknown options and missing values as TypeErrors with a code. */
function isArgumentError(error: unknown): error is TypeError {
  const code: unknown = (error as { code?: unknown } | null)?.code;
  return (
    error instanceof TypeError && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')
  );
}

/**
 * An error that explains itself: the library's typed errors (a timeout, a service not found, a
 * bind refused) and Node's system errors (ENOENT, EACCES, ...) carry a string `code`.
 */
function isKnownError(error: unknown): error is Error & { code: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

/**
 * Runs the `sss` command line; resolves to the exit code: 0 success, 1 failure at run time,
 * 2 bad usage or input. Known errors are one line on stderr; anything else is a bug, and thrown.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (entry === undefined) {
    console.error(`sss: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  const command = await entry.load();
  try {
    return await command.run(rest);
  } catch (error) {
    if (isArgumentError(error)) {
      console.error(`sss: ${error.message}\n\n${command.usage}`);
      return 2;
    }
    if (error instanceof UsageError) {
      console.error(`sss: ${error.message}\n(see 'sss ${name} --help')`);
      return 2;
    }
    if (error instanceof InvalidParameterError) {
      console.error(`sss: ${error.message}`);
      return 2;
    }
    if (isKnownError(error)) {
      console.error(`sss: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
