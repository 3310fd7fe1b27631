import { parseArgs } from 'node:util';
import { createNativeSuite } from '../crypto/native-suite.js';
import { required, UsageError } from './args.js';
import { openHost } from './cli-host.js';
import type { Command } from './command.js';
import { runExec } from './exec-pipe.js';
import { identityFor } from './identity-option.js';
import {
  bindOption,
  DEFAULT_BIND,
  NETWORK_HELP,
  NETWORK_OPTIONS,
  timeoutOption,
} from './network-options.js';
import { fileHandler, outDirectory } from './file-service.js';
import { announce, serve, type StreamHandler } from './serve.js';
import { echo, runPipes, runStdio } from './stream-pipe.js';

const USAGE = `usage: sss listen --service S --protocol P [--echo | --exec CMD | --out DIR] [options]

Serves service S over protocol P. Prints the address peers connect to, EID@HOST:PORT, as its
first line on stdout, then serves each stream a peer opens:

  (default)           the first stream only, joined to stdin and stdout as netcat does;
                      exits once both directions have ended
  --echo              sends each stream's bytes back to it
  --exec CMD          runs CMD (through the shell) per stream, its stdin and stdout joined to it
  --out DIR           receives files into DIR, as 'sss receive' does (see its --help)

With --echo, --exec or --out it serves streams until interrupted (SIGINT, SIGTERM), or with
--once only the first one. Streams opening and ending are reported on stderr.

  --service S         the service to serve (required)
  --protocol P        the protocol it is served over (required)
  --bind ADDR:PORT    the address to listen on (default 127.0.0.1:0, a free port on loopback)
  --force             with --out: replace files that exist
  --once              serve one stream, then exit: 0 if it succeeded, 1 if not
  --json              print the address as one JSON object
${NETWORK_HELP}`;

async function run(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      ...NETWORK_OPTIONS,
      service: { type: 'string' },
      protocol: { type: 'string' },
      echo: { type: 'boolean', default: false },
      exec: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
      once: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const service = required(values.service, 'service');
  const protocol = required(values.protocol, 'protocol');
  const timeoutMs = timeoutOption(values.timeout);
  const modes = [values.echo, values.exec !== undefined, values.out !== undefined];
  if (modes.filter(Boolean).length > 1) throw new UsageError('give one of --echo, --exec, --out');
  let handle: StreamHandler = (io) => runStdio(io);
  if (values.echo) handle = (io) => runPipes(io, [echo(io)]);
  if (values.exec !== undefined) {
    const command = values.exec;
    handle = (io) => runExec(io, command);
  }
  if (values.out !== undefined) {
    const dir = await outDirectory(values.out);
    handle = fileHandler({ dir, force: values.force, json: values.json });
  }
  const bind = await bindOption(values.bind, DEFAULT_BIND);
  const suite = createNativeSuite();
  const identity = await identityFor(values.identity, suite);
  const { host, close } = await openHost({ identity, suite, bind, timeoutMs });
  try {
    announce(host, { json: values.json, service, protocol });
    // Netcat's way: stdin and stdout serve one stream.
    const once = values.once || modes.every((mode) => !mode);
    return await serve({ host, service, protocol, timeoutMs, once, handle });
  } finally {
    await close();
  }
}

/** `sss listen`: serve a service. */
export const listenCommand: Command = {
  usage: USAGE,
  run,
};
