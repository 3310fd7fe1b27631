/**
 * The wire protocol of `sss send` and `sss receive` (docs/CLI.md, "File transfer protocol"):
 *
 * - The sender opens one top-level stream to (`files`, `sss-files/1`) and writes a manifest
 *   record `{"files": N, "bytes": B}`; then it opens one substream per file and, once every
 *   substream is open, half-closes the top-level stream.
 * - On each substream: a header record `{"name", "size"}`, then exactly `size` bytes, then a
 *   trailer `{"sha256"}` (of those bytes, lowercase hex) that ends the record the bytes began,
 *   then the FIN. The checksum trails the bytes so that the sender reads each file once, and
 *   starts sending at once.
 * - The receiver answers on each substream with one result record, `{"ok": true, "name", "size",
 *   "sha256"}` once the file is verified and in place, or `{"ok": false, "name", "error"}`, then
 *   its FIN. Once the sender's top-level stream has ended and every substream is answered, it
 *   half-closes the top-level stream too.
 *
 * Records are UTF-8 JSON of at most {@link MAX_RECORD_BYTES}; anything else is a protocol error.
 */
import { TransferError } from './errors.js';

/** The service and protocol `send` and `receive` use unless told otherwise. */
export const FILES_SERVICE = 'files';
export const FILES_PROTOCOL = 'sss-files/1';

/** Largest manifest, header or result record, bytes. */
export const MAX_RECORD_BYTES = 4096;

/** Temporary files of transfers under way end in this; no received file may. */
export const PARTIAL_SUFFIX = '.sss-partial';

/** The longest file name most file systems take, bytes of UTF-8. */
const MAX_NAME_BYTES = 255;

export interface Manifest {
  readonly files: number;
  readonly bytes: number;
}

export interface FileHeader {
  readonly name: string;
  readonly size: number;
}

export interface FileTrailer {
  readonly sha256: string;
}

/** What the receiver says of one file. */
export type FileResult =
  | { readonly ok: true; readonly name: string; readonly size: number; readonly sha256: string }
  | { readonly ok: false; readonly name: string; readonly error: string };

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function encodeRecord(value: Manifest | FileHeader | FileTrailer | FileResult): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** The fields of a JSON object record. @throws TransferError for anything else. */
function decodeObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new TransferError(`the peer's ${what} is not UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TransferError(`the peer's ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function decodeManifest(bytes: Uint8Array): Manifest {
  const { files, bytes: total } = decodeObject(bytes, 'manifest');
  if (!isCount(files) || !isCount(total)) {
    throw new TransferError("the peer's manifest needs counts 'files' and 'bytes'");
  }
  return { files, bytes: total };
}

export function decodeHeader(bytes: Uint8Array): FileHeader {
  const { name, size } = decodeObject(bytes, 'file header');
  if (typeof name !== 'string' || !isCount(size)) {
    throw new TransferError("the peer's file header needs 'name' and 'size'");
  }
  return { name, size };
}

export function decodeTrailer(bytes: Uint8Array): FileTrailer {
  const { sha256 } = decodeObject(bytes, 'file trailer');
  if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) {
    throw new TransferError("the peer's file trailer needs a 'sha256' of 64 hex digits");
  }
  return { sha256 };
}

export function decodeResult(bytes: Uint8Array): FileResult {
  const { ok, name, size, sha256, error } = decodeObject(bytes, 'result');
  if (typeof name !== 'string') throw new TransferError("the peer's result has no 'name'");
  if (ok === true && isCount(size) && typeof sha256 === 'string') {
    return { ok, name, size, sha256 };
  }
  if (ok === false && typeof error === 'string') return { ok, name, error };
  throw new TransferError("the peer's result is neither a success nor a failure");
}

/**
 * A name the receiver may create inside its target directory: the last component of `name`
 * (after any `/` or `\`), so that no absolute path or `..` leads out of it, with control
 * characters replaced by `_`. @throws TransferError when nothing usable is left (`""`, `.`,
 * `..`), or for a name that is too long or ends in {@link PARTIAL_SUFFIX}.
 */
export function sanitizeFileName(name: string): string {
  const last = name.split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  const clean = last.replace(/[\u0000-\u001f\u007f]/g, '_');
  if (clean === '' || clean === '.' || clean === '..') {
    throw new TransferError(`'${JSON.stringify(name).slice(1, -1)}' has no usable file name`);
  }
  if (Buffer.byteLength(clean) > MAX_NAME_BYTES) {
    throw new TransferError(`a file name is over ${MAX_NAME_BYTES} bytes`);
  }
  if (clean.endsWith(PARTIAL_SUFFIX)) {
    throw new TransferError(`file names ending in ${PARTIAL_SUFFIX} are reserved`);
  }
  return clean;
}
