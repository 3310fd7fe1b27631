/** The `--identity FILE` option the network commands share. */
import { IdentityFileError, loadIdentity } from '../crypto/identity-file.js';
import { Identity } from '../crypto/identity.js';
import type { CryptoSuite } from '../crypto/suite.js';
import { UsageError } from './args.js';

/** Where `sss keygen` writes and `sss id` reads when not told otherwise. */
export const DEFAULT_IDENTITY_FILE = 'sss.key';

/**
 * The identity stored in `file` or, without a file, a new one for this run only (its EID is
 * printed, and forgotten when the command ends).
 * @throws UsageError when the file is missing, unreadable or not an identity file.
 */
export async function identityFor(file: string | undefined, suite: CryptoSuite): Promise<Identity> {
  if (file === undefined) return Identity.generate(suite);
  return loadIdentityFile(file, suite);
}

/** The identity in `file`. @throws UsageError with the reason and, if missing, a hint. */
export async function loadIdentityFile(file: string, suite: CryptoSuite): Promise<Identity> {
  try {
    return await loadIdentity(file, suite);
  } catch (error) {
    if (!(error instanceof IdentityFileError)) throw error;
    const hint =
      error.reason === 'not-found' ? ` (create one with 'sss keygen --out ${file}')` : '';
    throw new UsageError(`${error.message}${hint}`);
  }
}
