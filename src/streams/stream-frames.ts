/**
 * The stream layer's frames (PROTOCOL.md §4.7), carried in channel packets in the frame-type
 * range the channel hands to its frame source. Writers return the new offset or
 * {@link NO_ROOM}; the decoder calls a visitor with views into the payload and never throws.
 */
import { InvalidParameterError } from '../net/errors.js';
import { type ExtensionOutcome, NO_ROOM } from '../channel/frames.js';
import {
  type Cursor,
  encodedLength,
  MAX_VARINT,
  readVarint,
  writeVarint,
} from '../channel/varint.js';

export const StreamFrameType = {
  stream: 0x08,
  window: 0x09,
  reset: 0x0a,
  stop: 0x0b,
  datagram: 0x0c,
  session: 0x0d,
  maxStreams: 0x0e,
} as const;

/** Flag bits of a STREAM frame. */
export const StreamFlag = {
  /** The stream's data ends with this frame's last byte. */
  fin: 0x01,
  /** A record ends with this frame's last byte. */
  record: 0x02,
  /** The frame opens the stream: a parent field follows the flags. */
  open: 0x04,
} as const;

const KNOWN_FLAGS = StreamFlag.fin | StreamFlag.record | StreamFlag.open;

/** Bytes of a SESSION frame's id. */
export const SESSION_ID_BYTES = 8;

/** The parent field's value for a top-level stream: a child of the channel's root. */
export const ROOT_PARENT = -1;

/** Receives decoded stream frames. `data` views the packet and is valid during the call only. */
export interface StreamFrameVisitor {
  onStream(id: number, offset: number, data: Uint8Array, flags: number, parent: number): void;
  onWindow(id: number, maxOffset: number): void;
  onReset(id: number, errorCode: number, finalOffset: number): void;
  onStop(id: number, errorCode: number): void;
  onDatagram(
    parent: number,
    datagramId: number,
    totalLength: number,
    fragmentOffset: number,
    data: Uint8Array,
  ): void;
  onSession(sessionId: Uint8Array): void;
  onMaxStreams(count: number): void;
}

/** Bytes a STREAM frame takes before its data. */
export function streamFrameOverhead(
  id: number,
  offset: number,
  length: number,
  parent?: number,
): number {
  const open = parent === undefined ? 0 : encodedLength(parentField(parent));
  return 1 + encodedLength(id) + encodedLength(offset) + encodedLength(length) + 1 + open;
}

/**
 * Writes a STREAM frame: `type, id, offset, length, flags[, parent], data`. A `parent` (a stream
 * id, or {@link ROOT_PARENT}) sets the open flag.
 */
export function writeStreamFrame(
  out: Uint8Array,
  at: number,
  id: number,
  offset: number,
  data: Uint8Array,
  flags: number,
  parent?: number,
): number {
  checkVarint('id', id);
  checkVarint('offset', offset);
  if ((flags & ~(StreamFlag.fin | StreamFlag.record)) !== 0) {
    throw new InvalidParameterError(
      'flags',
      'only fin and record may be given; open follows parent',
    );
  }
  if (offset + data.length > MAX_VARINT) {
    throw new InvalidParameterError('offset', 'the frame would end beyond the largest offset');
  }
  const size = streamFrameOverhead(id, offset, data.length, parent) + data.length;
  if (at + size > out.length) return NO_ROOM;
  let end = writeVarint(out, at, StreamFrameType.stream);
  end = writeVarint(out, end, id);
  end = writeVarint(out, end, offset);
  end = writeVarint(out, end, data.length);
  out[end++] = parent === undefined ? flags : flags | StreamFlag.open;
  if (parent !== undefined) end = writeVarint(out, end, parentField(parent));
  out.set(data, end);
  return end + data.length;
}

/** Writes a WINDOW frame: the peer may send stream `id` data below `maxOffset`. */
export function writeWindowFrame(out: Uint8Array, at: number, id: number, maxOffset: number) {
  return writeFields(out, at, StreamFrameType.window, id, maxOffset);
}

/** Writes a RESET frame: we abandon sending on `id`; `finalOffset` is how far we had written. */
export function writeResetFrame(
  out: Uint8Array,
  at: number,
  id: number,
  errorCode: number,
  finalOffset: number,
) {
  return writeFields(out, at, StreamFrameType.reset, id, errorCode, finalOffset);
}

/** Writes a STOP frame: we will not read `id` any more; the peer should reset it. */
export function writeStopFrame(out: Uint8Array, at: number, id: number, errorCode: number) {
  return writeFields(out, at, StreamFrameType.stop, id, errorCode);
}

/** Writes a MAX_STREAMS frame: the peer may open streams while it has opened fewer than `count`. */
export function writeMaxStreamsFrame(out: Uint8Array, at: number, count: number) {
  return writeFields(out, at, StreamFrameType.maxStreams, count);
}

/** Bytes a DATAGRAM frame takes before its data. */
export function datagramFrameOverhead(
  parent: number,
  datagramId: number,
  totalLength: number,
  fragmentOffset: number,
  length: number,
): number {
  return (
    1 +
    encodedLength(parentField(parent)) +
    encodedLength(datagramId) +
    encodedLength(totalLength) +
    encodedLength(fragmentOffset) +
    encodedLength(length)
  );
}

/**
 * Writes a DATAGRAM frame, one fragment of a best-effort datagram on stream `parent` (or the
 * root): `type, parent, datagram id, total length, fragment offset, length, data`.
 */
export function writeDatagramFrame(
  out: Uint8Array,
  at: number,
  parent: number,
  datagramId: number,
  totalLength: number,
  fragmentOffset: number,
  data: Uint8Array,
): number {
  checkVarint('datagramId', datagramId);
  checkVarint('totalLength', totalLength);
  if (fragmentOffset + data.length > totalLength) {
    throw new InvalidParameterError('fragmentOffset', 'the fragment ends beyond the datagram');
  }
  const size =
    datagramFrameOverhead(parent, datagramId, totalLength, fragmentOffset, data.length) +
    data.length;
  if (at + size > out.length) return NO_ROOM;
  let end = writeVarint(out, at, StreamFrameType.datagram);
  end = writeVarint(out, end, parentField(parent));
  end = writeVarint(out, end, datagramId);
  end = writeVarint(out, end, totalLength);
  end = writeVarint(out, end, fragmentOffset);
  end = writeVarint(out, end, data.length);
  out.set(data, end);
  return end + data.length;
}

/** Writes a SESSION frame: the id of the sender's stream session with this peer. */
export function writeSessionFrame(out: Uint8Array, at: number, sessionId: Uint8Array): number {
  if (sessionId.length !== SESSION_ID_BYTES) {
    throw new InvalidParameterError('sessionId', `must be ${SESSION_ID_BYTES} bytes`);
  }
  if (at + 1 + SESSION_ID_BYTES > out.length) return NO_ROOM;
  out[at] = StreamFrameType.session;
  out.set(sessionId, at + 1);
  return at + 1 + SESSION_ID_BYTES;
}

/**
 * Decodes one stream frame whose type byte the channel has read; `cursor` points past it and
 * is advanced past the frame. Returns `unknown` for a type outside this layer's.
 */
export function decodeStreamFrame(
  type: number,
  payload: Uint8Array,
  cursor: Cursor,
  visitor: StreamFrameVisitor,
): ExtensionOutcome {
  switch (type) {
    case StreamFrameType.stream:
      return decodeStream(payload, cursor, visitor);
    case StreamFrameType.window: {
      const id = readVarint(payload, cursor);
      const maxOffset = readVarint(payload, cursor);
      if (Math.min(id, maxOffset) < 0) return 'malformed';
      visitor.onWindow(id, maxOffset);
      return 'decoded';
    }
    case StreamFrameType.reset: {
      const id = readVarint(payload, cursor);
      const errorCode = readVarint(payload, cursor);
      const finalOffset = readVarint(payload, cursor);
      if (Math.min(id, errorCode, finalOffset) < 0) return 'malformed';
      visitor.onReset(id, errorCode, finalOffset);
      return 'decoded';
    }
    case StreamFrameType.stop: {
      const id = readVarint(payload, cursor);
      const errorCode = readVarint(payload, cursor);
      if (Math.min(id, errorCode) < 0) return 'malformed';
      visitor.onStop(id, errorCode);
      return 'decoded';
    }
    case StreamFrameType.datagram:
      return decodeDatagram(payload, cursor, visitor);
    case StreamFrameType.session: {
      if (cursor.offset + SESSION_ID_BYTES > payload.length) return 'malformed';
      const id = payload.subarray(cursor.offset, cursor.offset + SESSION_ID_BYTES);
      cursor.offset += SESSION_ID_BYTES;
      visitor.onSession(id);
      return 'decoded';
    }
    case StreamFrameType.maxStreams: {
      const count = readVarint(payload, cursor);
      if (count < 0) return 'malformed';
      visitor.onMaxStreams(count);
      return 'decoded';
    }
    default:
      return 'unknown';
  }
}

function decodeStream(
  payload: Uint8Array,
  cursor: Cursor,
  visitor: StreamFrameVisitor,
): ExtensionOutcome {
  const id = readVarint(payload, cursor);
  const offset = readVarint(payload, cursor);
  const length = readVarint(payload, cursor);
  if (Math.min(id, offset, length) < 0 || cursor.offset >= payload.length) return 'malformed';
  const flags = payload[cursor.offset++] as number;
  if ((flags & ~KNOWN_FLAGS) !== 0) return 'malformed';
  let parent = Number.NaN;
  if ((flags & StreamFlag.open) !== 0) {
    const field = readVarint(payload, cursor);
    if (field < 0) return 'malformed';
    parent = field - 1;
  }
  if (offset + length > MAX_VARINT || cursor.offset + length > payload.length) return 'malformed';
  const data = payload.subarray(cursor.offset, cursor.offset + length);
  cursor.offset += length;
  visitor.onStream(id, offset, data, flags, parent);
  return 'decoded';
}

function decodeDatagram(
  payload: Uint8Array,
  cursor: Cursor,
  visitor: StreamFrameVisitor,
): ExtensionOutcome {
  const parent = readVarint(payload, cursor);
  const datagramId = readVarint(payload, cursor);
  const totalLength = readVarint(payload, cursor);
  const fragmentOffset = readVarint(payload, cursor);
  const length = readVarint(payload, cursor);
  if (Math.min(parent, datagramId, totalLength, fragmentOffset, length) < 0) return 'malformed';
  if (fragmentOffset + length > totalLength || cursor.offset + length > payload.length) {
    return 'malformed';
  }
  const data = payload.subarray(cursor.offset, cursor.offset + length);
  cursor.offset += length;
  visitor.onDatagram(parent - 1, datagramId, totalLength, fragmentOffset, data);
  return 'decoded';
}

/** A parent on the wire: 0 for the root, a stream id plus one otherwise. */
function parentField(parent: number): number {
  if (parent === ROOT_PARENT) return 0;
  checkVarint('parent', parent);
  return parent + 1;
}

function writeFields(out: Uint8Array, at: number, type: number, ...fields: number[]): number {
  let size = 1;
  for (const [i, field] of fields.entries()) {
    checkVarint(`field ${i}`, field);
    size += encodedLength(field);
  }
  if (at + size > out.length) return NO_ROOM;
  let end = writeVarint(out, at, type);
  for (const field of fields) end = writeVarint(out, end, field);
  return end;
}

function checkVarint(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_VARINT - 1) {
    throw new InvalidParameterError(name, `must be an integer in 0 ..< 2^53 - 1, got ${value}`);
  }
}
