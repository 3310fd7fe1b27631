/**
 * Keeping a host's {@link Identity} in a settings file, so that its EID survives restarts.
 * Node only (file system access); browsers keep identities by other means.
 *
 * The file is JSON:
 *
 * ```json
 * {
 *   "format": "sss-identity",
 *   "version": 1,
 *   "eid": "<56-character EID>",
 *   "privateKey": "<the 32-byte X25519 private key, base64url without padding>"
 * }
 * ```
 *
 * The `eid` is redundant (it follows from the private key) and is there for people: it lets them
 * see which identity a file holds, and lets {@link loadIdentity} detect a file edited by hand
 * into an inconsistent state. Unknown extra fields are ignored so that later versions can add
 * fields that older readers skip; a different `version` is refused.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InvalidParameterError, SssError } from '../net/errors.js';
import { Eid, InvalidEidError } from './eid.js';
import { Identity } from './identity.js';
import { X25519_KEY_BYTES } from './suite.js';
import type { CryptoSuite } from './suite.js';

/** The `format` field of an identity file. */
export const IDENTITY_FILE_FORMAT = 'sss-identity';
/** The `version` field this library writes and reads. */
export const IDENTITY_FILE_VERSION = 1;

/** Permissions of the identity file: read and write for the owner only. */
const FILE_MODE = 0o600;
/** Permissions of directories {@link saveIdentity} creates: the owner only. */
const DIRECTORY_MODE = 0o700;
/**
 * An identity file is about 170 bytes. Anything far larger is not one, and is refused before it
 * is read so that a wrong path (a log, a disk image) does not get loaded into memory.
 */
const MAX_FILE_BYTES = 64 * 1024;
/** base64url of 32 bytes without padding: 43 characters. */
const PRIVATE_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Why an identity file could not be used:
 * - `not-found`: nothing exists at the path ({@link loadOrCreateIdentity} then creates it);
 * - `unreadable`: something exists but cannot be read: permissions, a directory or other
 *   non-regular file, a path through a non-directory, an I/O error;
 * - `corrupt`: the content is not a valid identity file: not UTF-8 JSON, wrong `format` or
 *   `version`, a malformed `eid` or `privateKey`, or an `eid` that is not the private key's;
 * - `unwritable`: saving failed (the previous file, if any, is unchanged).
 */
export type IdentityFileErrorReason = 'not-found' | 'unreadable' | 'corrupt' | 'unwritable';

/**
 * An identity file could not be loaded or saved. The message names the path and the problem;
 * it never contains key material (for that reason a JSON syntax error is reported without the
 * parser's message, which quotes the surrounding text). `cause` is the operating system error,
 * when there is one.
 */
export class IdentityFileError extends SssError {
  readonly reason: IdentityFileErrorReason;
  /** The path as given by the caller. */
  readonly path: string;

  constructor(reason: IdentityFileErrorReason, path: string, detail: string, cause?: unknown) {
    super('identity-file', `identity file ${path}: ${detail}`, { cause });
    this.reason = reason;
    this.path = path;
  }
}

/**
 * Writes `identity` to `path`, replacing any file there, atomically: the content goes to a
 * temporary file in the same directory (created exclusively, mode 0600), which is flushed to disk
 * and then renamed over `path`; the directory is then flushed too where the platform allows. A
 * crash or error at any point leaves either the old file or the new one, never a mixture, and on
 * error the temporary file is removed.
 *
 * The file ends up with mode 0600 whatever the umask and whatever the permissions of the file it
 * replaces (the rename puts a new file in place; it does not reuse the old one). Missing parent
 * directories are created with mode 0700; existing ones are left as they are. A symbolic link at
 * `path` is replaced by the file, not followed. On Windows the modes have no effect.
 *
 * @throws IdentityFileError `unwritable`.
 * @throws InvalidParameterError (`path`, `identity`) for an empty path or a non-Identity.
 */
export async function saveIdentity(path: string, identity: Identity): Promise<void> {
  checkPath(path);
  if (!(identity instanceof Identity)) {
    throw new InvalidParameterError('identity', 'must be an Identity');
  }
  await writeIdentityFile(path, identity, 'replace');
}

/**
 * Reads the identity stored at `path` by {@link saveIdentity}.
 *
 * File permissions are not checked: a file that others can read is loaded like any other. The
 * key in it must be presumed disclosed, but refusing to start would not undo that, and the
 * library has no channel to warn on; {@link saveIdentity} never creates such a file. Tools that
 * want an ssh-like refusal can `stat` the file themselves.
 *
 * @throws IdentityFileError `not-found`, `unreadable` or `corrupt`.
 */
export async function loadIdentity(path: string, suite: CryptoSuite): Promise<Identity> {
  checkPath(path);
  const text = await readIdentityText(path);
  return parseIdentityFile(path, text, suite);
}

/**
 * Loads the identity at `path`, or when there is no file there, generates one with `suite` and
 * saves it (as {@link saveIdentity} does). When several processes race to create the file, one
 * wins and all of them return its identity: the new file is linked into place only if the path is
 * still free. Any other problem, such as a corrupt file, is thrown rather than papered over with a
 * new identity, since that would silently change the host's EID.
 *
 * @throws IdentityFileError `unreadable` or `corrupt` from loading, `unwritable` from creating.
 */
export async function loadOrCreateIdentity(path: string, suite: CryptoSuite): Promise<Identity> {
  checkPath(path);
  try {
    return await loadIdentity(path, suite);
  } catch (error) {
    if (!(error instanceof IdentityFileError && error.reason === 'not-found')) throw error;
  }
  const identity = Identity.generate(suite);
  if (await writeIdentityFile(path, identity, 'create')) return identity;
  try {
    return await loadIdentity(path, suite);
  } catch (error) {
    // The path was taken but reads as absent: a dangling symbolic link.
    if (error instanceof IdentityFileError && error.reason === 'not-found') {
      throw new IdentityFileError(
        'unwritable',
        path,
        'cannot create: the path exists but does not lead to a file (a dangling symbolic link?)',
      );
    }
    throw error;
  }
}

/** An empty path would resolve to the working directory; refuse it as the caller's mistake. */
function checkPath(path: string): void {
  if (typeof path !== 'string' || path === '') {
    throw new InvalidParameterError('path', 'must be a non-empty string');
  }
}

/** The JSON text of the file for `identity`. */
function formatIdentityFile(identity: Identity): string {
  const privateKey = identity.keyPair().privateKey;
  const content = {
    format: IDENTITY_FILE_FORMAT,
    version: IDENTITY_FILE_VERSION,
    eid: identity.eid.toString(),
    privateKey: Buffer.from(privateKey.buffer, privateKey.byteOffset, privateKey.length).toString(
      'base64url',
    ),
  };
  privateKey.fill(0);
  return `${JSON.stringify(content, null, 2)}\n`;
}

/**
 * Writes the file through a temporary file. `replace` renames over whatever is at `path`;
 * `create` hard-links the temporary file to `path`, which fails if `path` exists, and returns
 * false in that case (the existing file is untouched).
 */
async function writeIdentityFile(
  path: string,
  identity: Identity,
  mode: 'replace' | 'create',
): Promise<boolean> {
  const target = resolve(path);
  const directory = dirname(target);
  const temporary = join(directory, `.${basename(target)}.${randomBytes(8).toString('hex')}.tmp`);
  try {
    await mkdir(directory, { recursive: true, mode: DIRECTORY_MODE });
  } catch (error) {
    throw writeError(path, 'cannot create its directory', error);
  }

  let handle: FileHandle;
  try {
    // `wx` so that an existing file (a planted symbolic link included) is never written through.
    handle = await open(temporary, 'wx', FILE_MODE);
  } catch (error) {
    throw writeError(path, 'cannot create a temporary file beside it', error);
  }
  try {
    try {
      // The umask can only have removed bits from FILE_MODE, but set it exactly anyway.
      await handle.chmod(FILE_MODE);
      await handle.writeFile(formatIdentityFile(identity), 'utf8');
      // Flush before the rename, or a crash could leave the new name on an empty file.
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (mode === 'replace') {
      await rename(temporary, target);
    } else if (!(await linkExclusive(temporary, target))) {
      await removeQuietly(temporary);
      return false;
    }
  } catch (error) {
    await removeQuietly(temporary);
    throw writeError(path, 'cannot write', error);
  }
  await syncDirectory(directory);
  return true;
}

/**
 * Links `temporary` to `target` unless `target` exists; then removes `temporary`. Returns false
 * when `target` exists. File systems without hard links fall back to a rename, which cannot
 * detect a file created by another process in the meantime.
 */
async function linkExclusive(temporary: string, target: string): Promise<boolean> {
  try {
    await link(temporary, target);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') {
      throw error;
    }
    await rename(temporary, target);
    return true;
  }
  await removeQuietly(temporary);
  return true;
}

/**
 * Makes the rename durable. Best effort: Windows cannot open a directory for this, and a failure
 * here does not undo a rename that already took place.
 */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Nothing to do: the file is in place either way.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function removeQuietly(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => undefined);
}

/** Reads the file as text, mapping every failure to an {@link IdentityFileError}. */
async function readIdentityText(path: string): Promise<string> {
  let handle: FileHandle;
  try {
    // Non-blocking so that a FIFO at the path is reported instead of hanging the open.
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw readError(path, error);
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) {
      throw new IdentityFileError('unreadable', path, 'is a directory, not a file');
    }
    if (!stats.isFile()) {
      throw new IdentityFileError('unreadable', path, 'is not a regular file');
    }
    if (stats.size > MAX_FILE_BYTES) {
      throw new IdentityFileError('corrupt', path, `is ${stats.size} bytes, too large`);
    }
    const bytes = await handle.readFile();
    try {
      // `fatal` so that a binary file is reported as such rather than parsed with U+FFFD in it.
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new IdentityFileError('corrupt', path, 'is not UTF-8 text');
    } finally {
      bytes.fill(0);
    }
  } catch (error) {
    if (error instanceof IdentityFileError) throw error;
    throw readError(path, error);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Validates the file's content and derives the identity from it. */
function parseIdentityFile(path: string, text: string, suite: CryptoSuite): Identity {
  const corrupt = (detail: string): IdentityFileError =>
    new IdentityFileError('corrupt', path, `is corrupt: ${detail}`);
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch {
    // The SyntaxError is dropped: its message quotes the text around the error, key included.
    throw corrupt('not valid JSON');
  }
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    throw corrupt('not a JSON object');
  }
  const fields = content as Record<string, unknown>;
  // Field values are described, not quoted: a wrong file may hold some other secret.
  if (fields.format !== IDENTITY_FILE_FORMAT) {
    throw corrupt(`"format" is not "${IDENTITY_FILE_FORMAT}" (not an identity file?)`);
  }
  if (typeof fields.version !== 'number') {
    throw corrupt('"version" is missing or not a number');
  }
  if (fields.version !== IDENTITY_FILE_VERSION) {
    throw corrupt(
      `unsupported version ${fields.version} (this library reads version ${IDENTITY_FILE_VERSION})`,
    );
  }
  if (typeof fields.eid !== 'string') {
    throw corrupt('"eid" is missing or not a string');
  }
  let storedEid: Eid;
  try {
    storedEid = Eid.parse(fields.eid);
  } catch (error) {
    if (error instanceof InvalidEidError) throw corrupt(`"eid" is not valid: ${error.message}`);
    throw error;
  }
  const privateKey = decodePrivateKey(fields.privateKey);
  if (privateKey === undefined) {
    throw corrupt(
      `"privateKey" is not ${X25519_KEY_BYTES} bytes in base64url (43 characters, no padding)`,
    );
  }
  let identity: Identity;
  try {
    identity = Identity.fromPrivateKey(suite, privateKey);
  } finally {
    privateKey.fill(0);
  }
  if (!identity.eid.equals(storedEid)) {
    // Both EIDs are public keys, safe to show, and tell which of the two fields was edited.
    throw corrupt(
      `"eid" ${storedEid.toString()} is not the EID of "privateKey" (${identity.eid.toString()})`,
    );
  }
  return identity;
}

/** The 32 key bytes, or undefined unless `value` is their canonical unpadded base64url. */
function decodePrivateKey(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string' || !PRIVATE_KEY_PATTERN.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64url');
  // Node's decoder ignores the two spare bits of the last character; insist they are zero so
  // that each key has exactly one spelling.
  if (bytes.length !== X25519_KEY_BYTES || bytes.toString('base64url') !== value) {
    bytes.fill(0);
    return undefined;
  }
  const key = new Uint8Array(bytes);
  bytes.fill(0);
  return key;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function readError(path: string, error: unknown): IdentityFileError {
  const code = errorCode(error);
  if (code === 'ENOENT') return new IdentityFileError('not-found', path, 'not found', error);
  const detail =
    code === 'EACCES' || code === 'EPERM'
      ? `cannot be read: permission denied (${code})`
      : code === 'EISDIR'
        ? 'is a directory, not a file'
        : code === 'ENOTDIR'
          ? 'cannot be read: a component of the path is not a directory (ENOTDIR)'
          : `cannot be read (${code ?? String(error)})`;
  return new IdentityFileError('unreadable', path, detail, error);
}

function writeError(path: string, what: string, error: unknown): IdentityFileError {
  const code = errorCode(error);
  const detail =
    code === 'EISDIR'
      ? `${what}: a directory is in the way (EISDIR)`
      : code === 'EACCES' || code === 'EPERM'
        ? `${what}: permission denied (${code})`
        : `${what} (${code ?? String(error)})`;
  return new IdentityFileError('unwritable', path, detail, error);
}
