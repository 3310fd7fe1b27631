import { parseArgs } from 'node:util';
import { createNativeSuite } from '../crypto/native-suite.js';
import type { Command } from './command.js';
import { DEFAULT_IDENTITY_FILE, loadIdentityFile } from './identity-option.js';

const USAGE = `usage: sss id [--identity FILE] [--display] [--json]

Prints the EID of the identity saved in FILE.

  --identity FILE     the identity file (default ${DEFAULT_IDENTITY_FILE})
  --display           print the EID in 7 groups of 8 characters, for people to compare
  --json              print {"eid", "file"} as one JSON object`;

async function run(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      identity: { type: 'string', default: DEFAULT_IDENTITY_FILE },
      display: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const { eid } = await loadIdentityFile(values.identity, createNativeSuite());
  if (values.json) console.log(JSON.stringify({ eid: eid.toString(), file: values.identity }));
  else console.log(values.display ? eid.toDisplayString() : eid.toString());
  return 0;
}

/** `sss id`: print the EID of an identity file. */
export const idCommand: Command = {
  usage: USAGE,
  run,
};
