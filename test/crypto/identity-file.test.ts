import { execFileSync } from 'node:child_process';
import {
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import type * as FsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Identity } from '../../src/crypto/identity.js';
import {
  IDENTITY_FILE_FORMAT,
  IDENTITY_FILE_VERSION,
  IdentityFileError,
  loadIdentity,
  loadOrCreateIdentity,
  saveIdentity,
} from '../../src/crypto/identity-file.js';
import type { IdentityFileErrorReason } from '../../src/crypto/identity-file.js';
import { createNativeSuite } from '../../src/crypto/native-suite.js';
import { InvalidParameterError } from '../../src/net/errors.js';

// The file functions are wrapped (calling through by default) so that single tests can make one
// operation fail, as a full disk or a crash would, without touching the others.
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof FsPromises>();
  return {
    ...actual,
    open: vi.fn(actual.open),
    rename: vi.fn(actual.rename),
    link: vi.fn(actual.link),
  };
});

const suite = createNativeSuite();

/**
 * Root reads and writes files whatever their permission bits, so permission-denied cases can
 * only be produced by the file system for other users; as root those tests are skipped and the
 * error mapping is checked with an injected EACCES instead.
 */
const isRoot = process.getuid?.() === 0;
const isWindows = process.platform === 'win32';

/** RFC 7748 §6.1 Alice's private key, so that file contents are predictable. */
const ALICE_PRIVATE = Uint8Array.from(
  Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex'),
);
const ALICE_EID = 'quqpacmjgctvi5elpxolipxxlig36oqney4bv5hlusuy5ku3jzvgw4rd';
const ALICE_KEY_B64URL = Buffer.from(ALICE_PRIVATE).toString('base64url');
const alice = Identity.fromPrivateKey(suite, ALICE_PRIVATE);

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sss-identity-'));
});

afterEach(async () => {
  vi.mocked(open).mockClear();
  vi.mocked(rename).mockClear();
  vi.mocked(link).mockClear();
  // Restore permissions that tests removed, so that the directory can be deleted.
  await chmod(dir, 0o700).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

function modeOf(stats: { mode: number }): number {
  return stats.mode & 0o777;
}

/** The rejection of `promise`, which must be an IdentityFileError with `reason`. */
async function fileError(
  promise: Promise<unknown>,
  reason: IdentityFileErrorReason,
): Promise<IdentityFileError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected IdentityFileError ${reason}, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IdentityFileError);
  const fileError = error as IdentityFileError;
  expect(fileError.reason, fileError.message).toBe(reason);
  expect(fileError.code).toBe('identity-file');
  return fileError;
}

/** Alice's key in every spelling a message or cause could carry it in. */
function expectNoKeyMaterial(error: IdentityFileError): void {
  const key = Buffer.from(ALICE_PRIVATE);
  const text = `${error.message}\n${String(error.cause)}\n${error.stack ?? ''}`;
  for (const form of [
    key.toString('hex').slice(0, 16),
    key.toString('base64').slice(0, 12),
    key.toString('base64url').slice(0, 12),
  ]) {
    expect(text).not.toContain(form);
  }
}

function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected failure`), { code });
}

async function writeJson(path: string, content: unknown): Promise<void> {
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
}

function aliceFile(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: IDENTITY_FILE_FORMAT,
    version: IDENTITY_FILE_VERSION,
    eid: ALICE_EID,
    privateKey: ALICE_KEY_B64URL,
    ...overrides,
  };
}

describe('saveIdentity and loadIdentity', () => {
  it('round-trip an identity', async () => {
    const path = join(dir, 'identity.json');
    const identity = Identity.generate(suite);
    await saveIdentity(path, identity);
    const loaded = await loadIdentity(path, suite);
    expect(loaded.equals(identity)).toBe(true);
    expect(loaded.keyPair()).toEqual(identity.keyPair());
  });

  it('write the documented JSON format', async () => {
    const path = join(dir, 'identity.json');
    await saveIdentity(path, alice);
    const text = await readFile(path, 'utf8');
    expect(JSON.parse(text)).toEqual({
      format: 'sss-identity',
      version: 1,
      eid: ALICE_EID,
      privateKey: ALICE_KEY_B64URL,
    });
    expect(ALICE_KEY_B64URL).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(text.endsWith('}\n')).toBe(true);
  });

  it.skipIf(isWindows)('create the file with mode 0600', async () => {
    const path = join(dir, 'identity.json');
    await saveIdentity(path, alice);
    expect(modeOf(await stat(path))).toBe(0o600);
  });

  it.skipIf(isWindows)('leave mode 0600 when replacing a world-writable file', async () => {
    const path = join(dir, 'identity.json');
    await writeFile(path, 'old', { mode: 0o666 });
    await chmod(path, 0o666); // past the umask
    expect(modeOf(await stat(path))).toBe(0o666);
    await saveIdentity(path, alice);
    expect(modeOf(await stat(path))).toBe(0o600);
    expect((await loadIdentity(path, suite)).equals(alice)).toBe(true);
  });

  it.skipIf(isWindows)('create missing parent directories with mode 0700', async () => {
    const path = join(dir, 'a', 'b', 'identity.json');
    await saveIdentity(path, alice);
    expect(modeOf(await stat(join(dir, 'a')))).toBe(0o700);
    expect(modeOf(await stat(join(dir, 'a', 'b')))).toBe(0o700);
    expect((await loadIdentity(path, suite)).equals(alice)).toBe(true);
  });

  it('replace an existing identity and leave no temporary file behind', async () => {
    const path = join(dir, 'identity.json');
    await saveIdentity(path, Identity.generate(suite));
    await saveIdentity(path, alice);
    expect((await loadIdentity(path, suite)).equals(alice)).toBe(true);
    expect(await readdir(dir)).toEqual(['identity.json']);
  });

  it('replace a symbolic link at the path instead of writing through it', async () => {
    const path = join(dir, 'identity.json');
    const elsewhere = join(dir, 'elsewhere');
    await writeFile(elsewhere, 'untouched');
    await symlink(elsewhere, path);
    await saveIdentity(path, alice);
    expect((await lstat(path)).isFile()).toBe(true);
    expect(await readFile(elsewhere, 'utf8')).toBe('untouched');
  });

  it('refuse an empty path or a non-Identity as the caller mistake it is', async () => {
    await expect(saveIdentity('', alice)).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(loadIdentity('', suite)).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(loadOrCreateIdentity('', suite)).rejects.toBeInstanceOf(InvalidParameterError);
    const fake = { eid: alice.eid } as unknown as Identity;
    await expect(saveIdentity(join(dir, 'x'), fake)).rejects.toThrow(/^identity: /);
  });
});

describe('saveIdentity failures leave the previous file intact', () => {
  it('a rename that fails (simulated crash before the rename) keeps the old file', async () => {
    const path = join(dir, 'identity.json');
    await saveIdentity(path, alice);
    const before = await readFile(path);
    vi.mocked(rename).mockRejectedValueOnce(errnoError('EIO'));
    const error = await fileError(saveIdentity(path, Identity.generate(suite)), 'unwritable');
    expect(error.message).toContain(path);
    expect(error.message).toContain('EIO');
    expect(await readFile(path)).toEqual(before);
    expect(await readdir(dir)).toEqual(['identity.json']);
  });

  it('a non-empty directory at the path: rename fails for real, nothing is left', async () => {
    const path = join(dir, 'identity.json');
    await mkdir(path);
    await writeFile(join(path, 'keep'), 'content');
    const error = await fileError(saveIdentity(path, alice), 'unwritable');
    expect(error.message).toContain(path);
    expect(error.cause).toBeInstanceOf(Error);
    expect(await readdir(dir)).toEqual(['identity.json']);
    expect(await readFile(join(path, 'keep'), 'utf8')).toBe('content');
  });

  it('a temporary file that cannot be created: nothing is written', async () => {
    const path = join(dir, 'identity.json');
    vi.mocked(open).mockRejectedValueOnce(errnoError('ENOSPC'));
    const error = await fileError(saveIdentity(path, alice), 'unwritable');
    expect(error.message).toContain('ENOSPC');
    expect(await readdir(dir)).toEqual([]);
  });

  it('a parent path that is a file: the directory cannot be created', async () => {
    await writeFile(join(dir, 'file'), '');
    const error = await fileError(saveIdentity(join(dir, 'file', 'id.json'), alice), 'unwritable');
    expect(error.message).toContain('cannot create its directory');
  });

  it.skipIf(isRoot || isWindows)('a read-only directory (EACCES; skipped as root)', async () => {
    const sub = join(dir, 'ro');
    await mkdir(sub);
    await chmod(sub, 0o500);
    try {
      const error = await fileError(saveIdentity(join(sub, 'id.json'), alice), 'unwritable');
      expect(error.message).toContain('permission denied');
    } finally {
      await chmod(sub, 0o700);
    }
    expect(await readdir(sub)).toEqual([]);
  });
});

describe('loadIdentity errors', () => {
  it('a missing file is not-found, naming the path', async () => {
    const path = join(dir, 'missing.json');
    const error = await fileError(loadIdentity(path, suite), 'not-found');
    expect(error.message).toBe(`identity file ${path}: not found`);
    expect(error.path).toBe(path);
    expect(error.name).toBe('IdentityFileError');
  });

  it('a directory is unreadable', async () => {
    const error = await fileError(loadIdentity(dir, suite), 'unreadable');
    expect(error.message).toContain('is a directory');
  });

  it('a path through a regular file (ENOTDIR) is unreadable, not not-found', async () => {
    // not-found would make loadOrCreateIdentity try, and fail, to create it.
    await writeFile(join(dir, 'file'), '');
    const error = await fileError(loadIdentity(join(dir, 'file', 'id.json'), suite), 'unreadable');
    expect(error.message).toContain('ENOTDIR');
  });

  it.skipIf(isWindows)('a FIFO is unreadable, without blocking on the open', async () => {
    const fifo = join(dir, 'fifo');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      return; // no mkfifo on this system
    }
    const error = await fileError(loadIdentity(fifo, suite), 'unreadable');
    expect(error.message).toContain('not a regular file');
  });

  it.skipIf(isRoot || isWindows)('a file without read permission (skipped as root)', async () => {
    const path = join(dir, 'identity.json');
    await saveIdentity(path, alice);
    await chmod(path, 0o000);
    const error = await fileError(loadIdentity(path, suite), 'unreadable');
    expect(error.message).toContain('permission denied (EACCES)');
    expectNoKeyMaterial(error);
  });

  it.runIf(isRoot && !isWindows)(
    'as root, a mode 000 file is still read (documents why the above is skipped)',
    async () => {
      const path = join(dir, 'identity.json');
      await saveIdentity(path, alice);
      await chmod(path, 0o000);
      expect((await loadIdentity(path, suite)).equals(alice)).toBe(true);
    },
  );

  it('permission denied, injected so that the mapping is tested as root too', async () => {
    const path = join(dir, 'identity.json');
    await saveIdentity(path, alice);
    vi.mocked(open).mockRejectedValueOnce(errnoError('EACCES'));
    const error = await fileError(loadIdentity(path, suite), 'unreadable');
    expect(error.message).toBe(`identity file ${path}: cannot be read: permission denied (EACCES)`);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EACCES');
  });

  const corruptCases: [string, unknown, string][] = [
    ['text that is not JSON', `{"privateKey": "${ALICE_KEY_B64URL}"`, 'not valid JSON'],
    ['an empty file', '', 'not valid JSON'],
    ['a JSON array', [aliceFile()], 'not a JSON object'],
    ['JSON null', 'null', 'not a JSON object'],
    ['a JSON string', JSON.stringify(ALICE_KEY_B64URL), 'not a JSON object'],
    ['another format', aliceFile({ format: 'ssh-key' }), '"format" is not "sss-identity"'],
    ['no format', aliceFile({ format: undefined }), '"format" is not'],
    ['no version', aliceFile({ version: undefined }), '"version" is missing'],
    ['a version as a string', aliceFile({ version: '1' }), '"version" is missing or not a number'],
    ['version 2', aliceFile({ version: 2 }), 'unsupported version 2'],
    ['no eid', aliceFile({ eid: undefined }), '"eid" is missing'],
    ['a mistyped eid', aliceFile({ eid: `b${ALICE_EID.slice(1)}` }), 'checksum mismatch'],
    ['no private key', aliceFile({ privateKey: undefined }), '"privateKey" is not 32 bytes'],
    ['a truncated key', aliceFile({ privateKey: ALICE_KEY_B64URL.slice(0, 42) }), 'privateKey'],
    ['a longer key', aliceFile({ privateKey: `${ALICE_KEY_B64URL}AAAA` }), 'privateKey'],
    ['a padded key', aliceFile({ privateKey: `${ALICE_KEY_B64URL}=` }), 'privateKey'],
    [
      'a key in base64',
      aliceFile({ privateKey: Buffer.from(ALICE_PRIVATE).toString('base64') }),
      'privateKey',
    ],
    [
      'a key in hex',
      aliceFile({ privateKey: Buffer.from(ALICE_PRIVATE).toString('hex') }),
      'privateKey',
    ],
    [
      'a key with an invalid character',
      aliceFile({ privateKey: `${ALICE_KEY_B64URL.slice(0, 42)}.` }),
      'privateKey',
    ],
    ['a key as a byte array', aliceFile({ privateKey: [...ALICE_PRIVATE] }), 'privateKey'],
  ];

  it.each(corruptCases)('%s is corrupt', async (_name, content, fragment) => {
    const path = join(dir, 'identity.json');
    await writeJson(path, content);
    const error = await fileError(loadIdentity(path, suite), 'corrupt');
    expect(error.message).toContain(path);
    expect(error.message).toContain(fragment);
    expectNoKeyMaterial(error);
  });

  it('a key whose last character has nonzero spare bits is corrupt (one spelling per key)', async () => {
    const path = join(dir, 'identity.json');
    const last = ALICE_KEY_B64URL.at(-1) ?? '';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // The same 6-bit group with one of the two unused low bits set decodes to the same bytes.
    const sloppy = alphabet[alphabet.indexOf(last) | 1] ?? '';
    expect(sloppy).not.toBe(last);
    expect(Buffer.from(ALICE_KEY_B64URL.slice(0, 42) + sloppy, 'base64url')).toEqual(
      Buffer.from(ALICE_PRIVATE),
    );
    await writeJson(path, aliceFile({ privateKey: ALICE_KEY_B64URL.slice(0, 42) + sloppy }));
    await fileError(loadIdentity(path, suite), 'corrupt');
  });

  it('an eid that is not the private key is corrupt, showing both EIDs but no key', async () => {
    const path = join(dir, 'identity.json');
    const other = Identity.generate(suite).eid.toString();
    await writeJson(path, aliceFile({ eid: other }));
    const error = await fileError(loadIdentity(path, suite), 'corrupt');
    expect(error.message).toContain(`"eid" ${other} is not the EID of "privateKey" (${ALICE_EID})`);
    expectNoKeyMaterial(error);
  });

  it('binary content is corrupt (not UTF-8)', async () => {
    const path = join(dir, 'identity.json');
    await writeFile(path, Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]));
    const error = await fileError(loadIdentity(path, suite), 'corrupt');
    expect(error.message).toContain('not UTF-8');
  });

  it('a file far too large is corrupt, refused before reading', async () => {
    const path = join(dir, 'identity.json');
    await writeFile(path, ' '.repeat(100_000));
    const error = await fileError(loadIdentity(path, suite), 'corrupt');
    expect(error.message).toContain('too large');
  });

  it('accepts a byte order mark, extra fields and any key order (hand-edited files)', async () => {
    const path = join(dir, 'identity.json');
    const { privateKey, eid, version, format } = aliceFile();
    const content = { comment: 'laptop', privateKey, eid, version, format };
    await writeFile(path, `\ufeff${JSON.stringify(content, null, 4)}\r\n`);
    expect((await loadIdentity(path, suite)).equals(alice)).toBe(true);
  });

  it.skipIf(isWindows)('accepts a group- and world-readable file (documented choice)', async () => {
    const path = join(dir, 'identity.json');
    await saveIdentity(path, alice);
    await chmod(path, 0o644);
    expect((await loadIdentity(path, suite)).equals(alice)).toBe(true);
    expect(modeOf(await stat(path))).toBe(0o644); // loading changes nothing
  });

  it.skipIf(isWindows)('follows a symbolic link to the file', async () => {
    const real = join(dir, 'real.json');
    await saveIdentity(real, alice);
    await symlink(real, join(dir, 'link.json'));
    expect((await loadIdentity(join(dir, 'link.json'), suite)).equals(alice)).toBe(true);
  });
});

describe('loadOrCreateIdentity', () => {
  it('creates a 0600 file when none exists, then keeps returning that identity', async () => {
    const path = join(dir, 'sub', 'identity.json');
    const created = await loadOrCreateIdentity(path, suite);
    if (!isWindows) expect(modeOf(await stat(path))).toBe(0o600);
    const again = await loadOrCreateIdentity(path, suite);
    expect(again.equals(created)).toBe(true);
    expect((await loadIdentity(path, suite)).equals(created)).toBe(true);
    expect(await readdir(join(dir, 'sub'))).toEqual(['identity.json']);
  });

  it('loads an existing identity without rewriting the file', async () => {
    const path = join(dir, 'identity.json');
    await saveIdentity(path, alice);
    const before = await stat(path);
    expect((await loadOrCreateIdentity(path, suite)).equals(alice)).toBe(true);
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
  });

  it('does not replace a corrupt file with a new identity', async () => {
    const path = join(dir, 'identity.json');
    await writeFile(path, '{ not json');
    await fileError(loadOrCreateIdentity(path, suite), 'corrupt');
    expect(await readFile(path, 'utf8')).toBe('{ not json');
  });

  it('concurrent callers all get the one identity that won the race', async () => {
    const path = join(dir, 'identity.json');
    const results = await Promise.all(
      Array.from({ length: 8 }, () => loadOrCreateIdentity(path, suite)),
    );
    const onDisk = await loadIdentity(path, suite);
    for (const identity of results) expect(identity.equals(onDisk)).toBe(true);
    expect(await readdir(dir)).toEqual(['identity.json']);
  });

  it('falls back to a rename where hard links are not supported', async () => {
    const path = join(dir, 'identity.json');
    vi.mocked(link).mockRejectedValueOnce(errnoError('EPERM'));
    const created = await loadOrCreateIdentity(path, suite);
    expect((await loadIdentity(path, suite)).equals(created)).toBe(true);
    expect(await readdir(dir)).toEqual(['identity.json']);
  });

  it.skipIf(isWindows)(
    'reports a dangling symbolic link as unwritable, not not-found',
    async () => {
      const path = join(dir, 'identity.json');
      await symlink(join(dir, 'nowhere'), path);
      const error = await fileError(loadOrCreateIdentity(path, suite), 'unwritable');
      expect(error.message).toContain('dangling symbolic link');
      expect(await readdir(dir)).toEqual(['identity.json']);
    },
  );
});
