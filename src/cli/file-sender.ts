/** The sending side of the file transfer protocol (see file-transfer.ts). */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { StreamResetError } from '../streams/errors.js';
import { TransferError } from './errors.js';
import { decodeResult, encodeRecord, type FileResult, MAX_RECORD_BYTES } from './file-transfer.js';
import type { ProgressItem } from './progress.js';
import type { RateLimiter } from './rate-limit.js';
import { StreamIo } from './stream-io.js';

/** A file to send, checked before connecting. */
export interface LocalFile {
  readonly path: string;
  /** The name the receiver is asked to give it. */
  readonly name: string;
  readonly size: number;
}

export interface SendFilesOptions {
  /** Files sent at once, one substream each. */
  readonly parallel: number;
  /** Unacknowledged bytes per substream before the sender waits (default 1 MiB). */
  readonly sendAhead?: number;
  readonly limiter?: RateLimiter;
  /** Progress per file, in the order of the files; updated as the peer acknowledges. */
  readonly progress?: readonly ProgressItem[];
  /** Called whenever something moved: bytes acknowledged, a result received. */
  readonly onProgress?: () => void;
}

/** Bytes read from a file at a time. */
const CHUNK_BYTES = 64 * 1024;
const DEFAULT_SEND_AHEAD = 1024 * 1024;

/**
 * Sends `files` on the top-level stream of `parent`, `parallel` at a time, and returns what the
 * receiver said of each, in order; a file that failed on our side (unreadable, shrunk while
 * sent, its substream reset) has a failure of its own. Ends with our half-close of `parent`.
 */
export async function sendFiles(
  parent: StreamIo,
  files: readonly LocalFile[],
  options: SendFilesOptions,
): Promise<FileResult[]> {
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  parent.stream.writeRecord(encodeRecord({ files: files.length, bytes }));
  const results: FileResult[] = [];
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < files.length; index = next++) {
      results[index] = await sendFile(parent, files[index] as LocalFile, options, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.parallel, files.length) }, worker));
  // Every substream is open: the FIN may go (the session holds it until they exist there).
  parent.stream.shutdownWrite();
  return results;
}

/** Waits for the receiver to end the top-level stream, as it does once all is answered. */
export async function finishTransfer(parent: StreamIo): Promise<void> {
  await parent.readEnd('the top-level stream');
  await parent.finished();
}

async function sendFile(
  parent: StreamIo,
  file: LocalFile,
  options: SendFilesOptions,
  index: number,
): Promise<FileResult> {
  const item = options.progress?.[index];
  let sub: StreamIo | undefined;
  try {
    sub = new StreamIo(parent.stream.openSubstream());
    sub.follow(parent);
    const header = encodeRecord({ name: file.name, size: file.size });
    countAcknowledged(sub, header.length, (bytes) => {
      if (item !== undefined) item.done = Math.min(file.size, item.done + bytes);
      options.onProgress?.();
    });
    sub.stream.writeRecord(header);
    if (item !== undefined) item.state = 'sending';
    const sha256 = await sendBytes(sub, file, options);
    sub.stream.writeRecord(encodeRecord({ sha256 }));
    sub.stream.shutdownWrite();
    const result = await readResult(sub, file, sha256);
    options.onProgress?.();
    await sub.readEnd(`the substream of ${file.name}`);
    await sub.finished();
    if (item !== undefined) item.state = result.ok ? 'verified' : 'failed';
    return result;
  } catch (error) {
    if (item !== undefined) item.state = 'failed';
    return { ok: false, name: file.name, error: await failureReason(sub, error) };
  } finally {
    sub?.dispose();
  }
}

/**
 * Calls `onData` with the bytes the peer acknowledges beyond the header (the trailer's are
 * counted too, and clamped by the caller).
 */
function countAcknowledged(sub: StreamIo, headerBytes: number, onData: (bytes: number) => void) {
  let header = headerBytes;
  sub.stream.bytesWritten$.subscribe((bytes) => {
    const ofHeader = Math.min(header, bytes);
    header -= ofHeader;
    onData(bytes - ofHeader);
  });
}

/**
 * Why a file failed. The receiver stopping our substream (STOP) comes with its result, which
 * says why (the file exists, the disk is full); otherwise the substream is reset, so that the
 * receiver drops the partial file at once.
 */
async function failureReason(sub: StreamIo | undefined, error: unknown): Promise<string> {
  if (sub !== undefined && sub.error === undefined && error instanceof StreamResetError) {
    const said = await sub.readRecord(MAX_RECORD_BYTES).catch(() => undefined);
    const result = said === undefined ? undefined : tryDecodeResult(said);
    if (result !== undefined && !result.ok) return result.error;
  }
  sub?.stream.reset();
  return error instanceof Error ? error.message : String(error);
}

function tryDecodeResult(record: Uint8Array): FileResult | undefined {
  try {
    return decodeResult(record);
  } catch {
    return undefined;
  }
}

function readFile(file: LocalFile): Iterable<Buffer> | AsyncIterable<Buffer> {
  if (file.size === 0) return [];
  return createReadStream(file.path, { start: 0, end: file.size - 1, highWaterMark: CHUNK_BYTES });
}

/**
 * Writes the file's first `size` bytes as flow control allows and returns their SHA-256. A file
 * that shrank since it was checked fails; one that grew is sent as it was.
 */
async function sendBytes(
  sub: StreamIo,
  file: LocalFile,
  options: SendFilesOptions,
): Promise<string> {
  const hash = createHash('sha256');
  let sent = 0;
  for await (const chunk of readFile(file)) {
    hash.update(chunk);
    sent += chunk.length;
    await options.limiter?.take(chunk.length);
    await sub.write(chunk, options.sendAhead ?? DEFAULT_SEND_AHEAD);
  }
  if (sent !== file.size) {
    throw new TransferError(`${file.path} shrank to ${sent} bytes while it was being sent`);
  }
  return hash.digest('hex');
}

/** The receiver's result, checked against what we sent. */
async function readResult(sub: StreamIo, file: LocalFile, sha256: string): Promise<FileResult> {
  const record = await sub.readRecord(MAX_RECORD_BYTES);
  if (record === undefined) throw new TransferError(`the receiver sent no result for ${file.name}`);
  const result = decodeResult(record);
  if (result.ok && (result.size !== file.size || result.sha256 !== sha256)) {
    return {
      ok: false,
      name: result.name,
      error: 'the receiver verified other bytes than we sent',
    };
  }
  return result;
}
