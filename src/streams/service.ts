/**
 * Service rendezvous (SST's connect, PROTOCOL.md §4.9): the first record a top-level stream
 * carries names the service and protocol it wants; the first record back says whether they are
 * served. Names are UTF-8, at most {@link MAX_SERVICE_NAME_BYTES} bytes each.
 */
import { InvalidParameterError } from '../net/errors.js';
import { encodedLength, readVarint, writeVarint } from '../channel/varint.js';

export const MAX_SERVICE_NAME_BYTES = 255;

const REQUEST = 0x01;
const REPLY = 0x02;

/** The answer to a service request. */
export const ServiceStatus = { ok: 0, notFound: 1 } as const;

export interface ServiceRequest {
  readonly service: string;
  readonly protocol: string;
}

/** The request record: `0x01, service length, service, protocol length, protocol`. */
export function encodeServiceRequest(service: string, protocol: string): Uint8Array {
  const s = nameBytes('service', service);
  const p = nameBytes('protocol', protocol);
  const out = new Uint8Array(
    1 + encodedLength(s.length) + s.length + encodedLength(p.length) + p.length,
  );
  let end = writeVarint(out, 0, REQUEST);
  end = writeVarint(out, end, s.length);
  out.set(s, end);
  end = writeVarint(out, end + s.length, p.length);
  out.set(p, end);
  return out;
}

/** The request in `record`, or undefined when it is not one. */
export function decodeServiceRequest(record: Uint8Array): ServiceRequest | undefined {
  const cursor = { offset: 0 };
  if (readVarint(record, cursor) !== REQUEST) return undefined;
  const service = readName(record, cursor);
  const protocol = readName(record, cursor);
  if (service === undefined || protocol === undefined || cursor.offset !== record.length) {
    return undefined;
  }
  return { service, protocol };
}

/** The reply record: `0x02, status`. */
export function encodeServiceReply(status: number): Uint8Array {
  return Uint8Array.of(REPLY, status);
}

/** The status in a reply record, or undefined when it is not one. */
export function decodeServiceReply(record: Uint8Array): number | undefined {
  if (record.length !== 2 || record[0] !== REPLY) return undefined;
  return record[1];
}

function nameBytes(parameter: string, name: string): Uint8Array {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length === 0 || bytes.length > MAX_SERVICE_NAME_BYTES) {
    throw new InvalidParameterError(
      parameter,
      `must be 1 to ${MAX_SERVICE_NAME_BYTES} bytes of UTF-8, got ${bytes.length}`,
    );
  }
  return bytes;
}

function readName(record: Uint8Array, cursor: { offset: number }): string | undefined {
  const length = readVarint(record, cursor);
  if (length < 1 || length > MAX_SERVICE_NAME_BYTES || cursor.offset + length > record.length) {
    return undefined;
  }
  const bytes = record.subarray(cursor.offset, cursor.offset + length);
  cursor.offset += length;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
