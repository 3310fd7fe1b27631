/**
 * The receiving side of the file transfer protocol (see file-transfer.ts). Each file is written
 * to a temporary name in the target directory and takes its own name only once its size and
 * SHA-256 are verified and it is flushed to disk; on any failure the temporary file is removed.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, link, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SssError } from '../net/errors.js';
import { StreamResetError } from '../streams/errors.js';
import type { Stream } from '../streams/stream.js';
import { TransferError } from './errors.js';
import {
  decodeHeader,
  decodeManifest,
  decodeTrailer,
  encodeRecord,
  type FileResult,
  MAX_RECORD_BYTES,
  sanitizeFileName,
} from './file-transfer.js';
import { partialName } from './partial-files.js';
import { StreamIo } from './stream-io.js';
import { pathExists } from './path-exists.js';

export interface ReceiveFilesOptions {
  /** The directory files are received into. */
  readonly dir: string;
  /** Replace files that exist; otherwise such a file fails. */
  readonly force: boolean;
  /** Target paths being written, shared by every transfer of the process. */
  readonly busy: Set<string>;
  /** Told of each file as it is done with. */
  readonly onFile?: (result: FileResult) => void;
  /** Called whenever bytes arrive or a file is written. */
  readonly onProgress?: () => void;
}

/** Bytes taken from a substream at a time. */
const CHUNK_BYTES = 256 * 1024;

/**
 * Receives one transfer on the top-level stream `parent`, which the peer just opened: call it
 * at once, in the same turn, since substreams arriving before `listen` would be refused.
 * Resolves with what became of each file once the transfer has ended; rejects when the
 * transfer broke (the sender reset it or vanished), after every partial file is removed.
 */
export async function receiveFiles(
  parent: StreamIo,
  options: ReceiveFilesOptions,
): Promise<FileResult[]> {
  const stream = parent.stream;
  stream.listen('accept');
  const files: Promise<FileResult>[] = [];
  const take = (child: Stream) => {
    const done = receiveFile(child, parent, options);
    files.push(done);
    if (options.onFile !== undefined) void done.then(options.onFile);
  };
  const subscription = stream.substreams$.subscribe(take);
  for (
    let child = stream.acceptSubstream();
    child !== undefined;
    child = stream.acceptSubstream()
  ) {
    take(child);
  }
  try {
    const record = await parent.readRecord(MAX_RECORD_BYTES);
    if (record === undefined) throw new TransferError('the sender ended before its manifest');
    const manifest = decodeManifest(record);
    // The sender's FIN comes after its last substream: every file has started.
    await parent.readEnd('the top-level stream');
    const results = await Promise.all(files);
    if (results.length !== manifest.files) {
      throw new TransferError(
        `the sender announced ${manifest.files} files and sent ${results.length}`,
      );
    }
    stream.shutdownWrite();
    // Lingers until the sender has our FIN (or left): a receiver that exits now could take the
    // last answers with it. The files are in place whatever happens here.
    await parent.finished().catch(() => undefined);
    return results;
  } catch (error) {
    parent.fail(error as Error);
    await Promise.allSettled(files);
    throw error;
  } finally {
    subscription.unsubscribe();
  }
}

/** Receives one file on its substream and answers with the result. */
async function receiveFile(
  child: Stream,
  parent: StreamIo,
  options: ReceiveFilesOptions,
): Promise<FileResult> {
  const io = new StreamIo(child);
  io.follow(parent);
  let name = '?';
  let claimed: string | undefined;
  let temp: PartialFile | undefined;
  try {
    const record = await io.readRecord(MAX_RECORD_BYTES);
    if (record === undefined) throw new TransferError('a file ended before its header');
    const header = decodeHeader(record);
    // Shown as sent (control characters escaped) should the name be refused.
    name = JSON.stringify(header.name).slice(1, -1);
    name = sanitizeFileName(header.name);
    const target = join(options.dir, name);
    if (options.busy.has(target)) {
      throw new TransferError(`${name} is being received by another transfer`);
    }
    options.busy.add(target);
    claimed = target;
    if (!options.force && (await pathExists(target))) throw existsError(name, options.dir);
    temp = await PartialFile.create(options.dir, name);
    const sha256 = await copy(io, temp.handle, header.size, options.onProgress);
    const trailer = await io.readRecord(MAX_RECORD_BYTES);
    if (trailer === undefined) throw new TransferError(`${name}: the sender sent no checksum`);
    const announced = decodeTrailer(trailer).sha256;
    await io.readEnd(`the substream of ${name}`);
    if (sha256 !== announced) {
      throw new TransferError(`${name}: SHA-256 ${sha256} is not the sender's ${announced}`);
    }
    await temp.publish(target, options.force, () => existsError(name, options.dir));
    options.onProgress?.();
    const result: FileResult = { ok: true, name, size: header.size, sha256 };
    answer(io, result);
    return result;
  } catch (error) {
    await temp?.discard();
    const result: FileResult = { ok: false, name, error: failureReason(error) };
    if (isStreamFailure(error)) child.reset();
    else answer(io, result);
    return result;
  } finally {
    if (claimed !== undefined) options.busy.delete(claimed);
    io.dispose();
  }
}

function failureReason(error: unknown): string {
  if (error instanceof StreamResetError && error.by === 'peer') {
    return `the sender abandoned it (its stream was reset, code ${error.errorCode})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The stream broke (reset, timeout, interruption): nobody is there to read an answer. Anything
 * else (a bad header, a checksum, a disk error) is told to the sender.
 */
function isStreamFailure(error: unknown): boolean {
  return error instanceof SssError && !(error instanceof TransferError);
}

/**
 * Sends the result and half-closes; after a failure also stops reading, so that the sender
 * (told by a STOP) does not send the rest for nothing.
 */
function answer(io: StreamIo, result: FileResult): void {
  try {
    io.stream.writeRecord(encodeRecord(result));
    io.stream.shutdownWrite();
    if (!result.ok && !io.stream.atEnd) io.stopReading();
  } catch {
    // The sender reset the substream meanwhile: nobody is listening.
    io.stream.reset();
  }
}

/** Copies the file's `size` bytes to `handle` and returns their SHA-256. */
async function copy(
  io: StreamIo,
  handle: FileHandle,
  size: number,
  onProgress: (() => void) | undefined,
): Promise<string> {
  const hash = createHash('sha256');
  for (let received = 0; received < size;) {
    // Never past the file's bytes: the checksum trailer follows them in the same record.
    const chunk = await io.readChunk(Math.min(CHUNK_BYTES, size - received));
    if (chunk === undefined) {
      throw new TransferError(`the sender ended after ${received} of ${size} bytes`);
    }
    received += chunk.length;
    hash.update(chunk);
    await writeAll(handle, chunk);
    onProgress?.();
  }
  return hash.digest('hex');
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let at = 0; at < chunk.length;) {
    const { bytesWritten } = await handle.write(chunk, at, chunk.length - at);
    if (bytesWritten === 0) throw new TransferError('the disk took no bytes');
    at += bytesWritten;
  }
}

/** A file being received, under a temporary name beside its final one. */
class PartialFile {
  readonly path: string;
  #handle: FileHandle | undefined;

  private constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  /** Creates the partial file for `name` in `dir` ({@link partialName}), exclusively. */
  static async create(dir: string, name: string): Promise<PartialFile> {
    const path = join(dir, partialName(name));
    return new PartialFile(path, await open(path, 'wx'));
  }

  get handle(): FileHandle {
    if (this.#handle === undefined) throw new Error('the partial file is closed');
    return this.#handle;
  }

  /**
   * Flushes the file to disk and gives it its final name: a hard link that fails if the name is
   * taken (unless `force`, which renames over it), where the file system has hard links.
   */
  async publish(target: string, force: boolean, taken: () => Error): Promise<void> {
    await this.handle.sync();
    await this.#close();
    if (force) return rename(this.path, target);
    try {
      await link(this.path, target);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EEXIST') throw taken();
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') {
        throw error;
      }
      // No hard links here: check, then rename (another process could slip in between).
      if (await pathExists(target)) throw taken();
      return rename(this.path, target);
    }
    await rm(this.path, { force: true });
  }

  /** Closes and removes the file, whatever state it is in. */
  async discard(): Promise<void> {
    await this.#close().catch(() => undefined);
    await rm(this.path, { force: true }).catch(() => undefined);
  }

  async #close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}

function existsError(name: string, dir: string): TransferError {
  return new TransferError(`${name} exists in ${dir} (receive --force replaces files)`);
}
