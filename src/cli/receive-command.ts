import { parseArgs } from 'node:util';
import { createNativeSuite } from '../crypto/native-suite.js';
import { required } from './args.js';
import { openHost } from './cli-host.js';
import type { Command } from './command.js';
import { fileHandler, outDirectory } from './file-service.js';
import { FILES_PROTOCOL, FILES_SERVICE } from './file-transfer.js';
import { identityFor } from './identity-option.js';
import {
  bindOption,
  DEFAULT_BIND,
  NETWORK_HELP,
  NETWORK_OPTIONS,
  timeoutOption,
} from './network-options.js';
import { announce, serve } from './serve.js';

const USAGE = `usage: sss receive --out DIR [options]

Receives files that 'sss send' sends, into DIR. Prints the address senders use, EID@HOST:PORT,
as its first line on stdout, then one line per file received or failed. Each file is written
under a temporary name in DIR (.NAME.<pid>-<random>.sss-partial) and renamed to its own name only
once its size and SHA-256 are verified; a file that fails, or a transfer that breaks (the sender
reset it, vanished, or this command is interrupted), leaves no file under the final name and its
temporary file is removed. Temporary files a killed receiver left (its process is gone) are
removed when the next receiver starts on DIR, and named on stderr. File names are reduced to their last component; a file that exists is not
replaced without --force. Serves transfers until interrupted (SIGINT, SIGTERM), or with --once
the first one.

  --out DIR           the directory to receive into (required; it must exist)
  --bind ADDR:PORT    the address to listen on (default 127.0.0.1:0, a free port on loopback)
  --service S         the service to serve (default ${FILES_SERVICE})
  --protocol P        the protocol (default ${FILES_PROTOCOL})
  --force             replace files that exist
  --once              receive one transfer, then exit: 0 if every file was verified, 1 if not
  --json              print the address, then each file's result, as one JSON object a line
${NETWORK_HELP}`;

async function run(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      ...NETWORK_OPTIONS,
      out: { type: 'string' },
      service: { type: 'string', default: FILES_SERVICE },
      protocol: { type: 'string', default: FILES_PROTOCOL },
      force: { type: 'boolean', default: false },
      once: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const dir = await outDirectory(required(values.out, 'out'));
  const timeoutMs = timeoutOption(values.timeout);
  const bind = await bindOption(values.bind, DEFAULT_BIND);
  const suite = createNativeSuite();
  const identity = await identityFor(values.identity, suite);
  const { host, close } = await openHost({ identity, suite, bind, timeoutMs });
  const { service, protocol, json } = values;
  try {
    announce(host, { json, service, protocol });
    const handle = fileHandler({ dir, force: values.force, json });
    return await serve({ host, service, protocol, timeoutMs, once: values.once, handle });
  } finally {
    await close();
  }
}

/** `sss receive`: receive files. */
export const receiveCommand: Command = {
  usage: USAGE,
  run,
};
