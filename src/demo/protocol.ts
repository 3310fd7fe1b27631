/**
 * The demo's fetch protocol, on one top-level stream to (`files`, `fetch/1`):
 *
 * - the top-level stream is the control stream: the client writes ping records, the server
 *   writes each one back unchanged, and the client times the round trip;
 * - each file travels on a substream the client opens: its first record is a request (format
 *   version 1, the priority the server should send it at as a signed 32-bit integer, the file
 *   name in UTF-8), then the client half-closes;
 * - the server answers with a header record (status; when found, the size as a 64-bit integer
 *   and the SHA-256 of the content), then the content as plain bytes, then FIN.
 *
 * Integers are big-endian. A malformed record decodes to `undefined`.
 */
import { InvalidParameterError } from '../net/errors.js';

export const FETCH_SERVICE = 'files';
export const FETCH_PROTOCOL = 'fetch/1';

const REQUEST_VERSION = 1;
const MAX_NAME_BYTES = 255;
const SHA256_BYTES = 32;
const HEADER_FOUND_BYTES = 1 + 8 + SHA256_BYTES;
const PING_BYTES = 5;
const PING_TAG = 0x50;

/** What a client asks for. */
export interface FetchRequest {
  readonly name: string;
  readonly priority: number;
}

/** The server's answer before the content; `found: false` when it has no file of that name. */
export type FetchHeader =
  | { readonly found: true; readonly size: number; readonly sha256: Uint8Array }
  | { readonly found: false };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** @throws InvalidParameterError for an empty or over-long name, or a priority that is not int32. */
export function encodeRequest(request: FetchRequest): Uint8Array {
  const name = encoder.encode(request.name);
  if (name.length === 0 || name.length > MAX_NAME_BYTES) {
    throw new InvalidParameterError('name', `must be 1 to ${MAX_NAME_BYTES} bytes of UTF-8`);
  }
  if ((request.priority | 0) !== request.priority) {
    throw new InvalidParameterError(
      'priority',
      `must be a 32-bit integer, got ${request.priority}`,
    );
  }
  const out = new Uint8Array(5 + name.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, REQUEST_VERSION);
  view.setInt32(1, request.priority);
  out.set(name, 5);
  return out;
}

export function decodeRequest(record: Uint8Array): FetchRequest | undefined {
  if (record.length < 6 || record.length > 5 + MAX_NAME_BYTES || record[0] !== REQUEST_VERSION) {
    return undefined;
  }
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  try {
    return { priority: view.getInt32(1), name: decoder.decode(record.subarray(5)) };
  } catch {
    return undefined;
  }
}

export function encodeHeader(header: FetchHeader): Uint8Array {
  if (!header.found) return Uint8Array.of(1);
  const out = new Uint8Array(HEADER_FOUND_BYTES);
  new DataView(out.buffer).setBigUint64(1, BigInt(header.size));
  out.set(header.sha256, 9);
  return out;
}

export function decodeHeader(record: Uint8Array): FetchHeader | undefined {
  if (record.length === 1 && record[0] === 1) return { found: false };
  if (record.length !== HEADER_FOUND_BYTES || record[0] !== 0) return undefined;
  const size = new DataView(record.buffer, record.byteOffset, record.byteLength).getBigUint64(1);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { found: true, size: Number(size), sha256: record.slice(9) };
}

/** A ping record with its sequence number. */
export function encodePing(sequence: number): Uint8Array {
  const out = new Uint8Array(PING_BYTES);
  const view = new DataView(out.buffer);
  view.setUint8(0, PING_TAG);
  view.setUint32(1, sequence);
  return out;
}

/** The sequence number of a ping record (as the server echoes it), or undefined. */
export function decodePing(record: Uint8Array): number | undefined {
  if (record.length !== PING_BYTES || record[0] !== PING_TAG) return undefined;
  return new DataView(record.buffer, record.byteOffset, record.byteLength).getUint32(1);
}
