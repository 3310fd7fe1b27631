import { parseArgs } from 'node:util';
import { Identity } from '../crypto/identity.js';
import { loadOrCreateIdentity, saveIdentity } from '../crypto/identity-file.js';
import { createNativeSuite } from '../crypto/native-suite.js';
import { UsageError } from './args.js';
import type { Command } from './command.js';
import { DEFAULT_IDENTITY_FILE } from './identity-option.js';
import { pathExists } from './path-exists.js';

const USAGE = `usage: sss keygen [--out FILE] [--force] [--json]

Creates a new identity (an X25519 key pair) and saves it to FILE, readable by its owner only
(mode 0600). Prints the identity's EID, which peers use to reach and authenticate this host.

  --out FILE          where to save the identity (default ${DEFAULT_IDENTITY_FILE})
  --force             replace an existing file (its identity is lost)
  --json              print {"eid", "file"} as one JSON object`;

async function run(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      out: { type: 'string', default: DEFAULT_IDENTITY_FILE },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const file = values.out;
  const suite = createNativeSuite();
  let identity: Identity;
  if (values.force) {
    identity = Identity.generate(suite);
    await saveIdentity(file, identity);
  } else {
    if (await pathExists(file)) {
      throw new UsageError(`${file} exists; use --force to replace it, or --out another file`);
    }
    // Creates the file only if the path is still free when it is linked into place.
    identity = await loadOrCreateIdentity(file, suite);
  }
  if (values.json) console.log(JSON.stringify({ eid: identity.eid.toString(), file }));
  else {
    console.error(`sss: identity saved to ${file} (mode 0600)`);
    console.log(identity.eid.toString());
  }
  return 0;
}

/** `sss keygen`: create an identity file. */
export const keygenCommand: Command = {
  usage: USAGE,
  run,
};
