import type { FrameSource } from '../../src/channel/channel-core.js';
import {
  encodedLength,
  readVarint,
  VARINT_INVALID,
  writeVarint,
  type Cursor,
} from '../../src/channel/varint.js';

/** The frame type the bench sends: the first of the range the channel gives its frame source. */
export const FILL_FRAME = 0x08;

/** Counters of a {@link FillSource}; the sending side fills the first four, the receiving side the rest. */
export interface FillStats {
  framesSent: number;
  payloadBytesSent: number;
  payloadBytesAcked: number;
  payloadBytesLost: number;
  framesReceived: number;
  payloadBytesReceived: number;
}

/**
 * A frame source for throughput: while `sending`, it fills every packet to the channel's limit
 * with one frame `0x08, length, payload`. Nothing is resent: a lost packet's payload is only
 * counted, since retransmission is the stream layer's job. Every frame that arrives was sent once
 * and the channel's replay window drops duplicates, so the receiving side's
 * `payloadBytesReceived` is unique delivered payload. The payload bytes are whatever the
 * channel's plaintext buffer holds; they are encrypted and authenticated like any others.
 */
export class FillSource implements FrameSource<number> {
  readonly stats: FillStats = {
    framesSent: 0,
    payloadBytesSent: 0,
    payloadBytesAcked: 0,
    payloadBytesLost: 0,
    framesReceived: 0,
    payloadBytesReceived: 0,
  };
  sending: boolean;

  constructor(sending: boolean) {
    this.sending = sending;
  }

  hasFrames(): boolean {
    return this.sending;
  }

  writeFrames(out: Uint8Array, offset: number, limit: number) {
    if (!this.sending) return undefined;
    const length = fillLength(limit - offset);
    if (length <= 0) return undefined;
    out[offset] = FILL_FRAME;
    const end = writeVarint(out, offset + 1, length) + length;
    this.stats.framesSent++;
    this.stats.payloadBytesSent += length;
    return { end, token: length };
  }

  onAcked(length: number): void {
    this.stats.payloadBytesAcked += length;
  }

  onLost(length: number): void {
    this.stats.payloadBytesLost += length;
  }

  onFrame(frameType: number, payload: Uint8Array, cursor: Cursor) {
    if (frameType !== FILL_FRAME) return 'unknown' as const;
    const length = readVarint(payload, cursor);
    if (length === VARINT_INVALID || cursor.offset + length > payload.length) {
      return 'malformed' as const;
    }
    cursor.offset += length;
    this.stats.framesReceived++;
    this.stats.payloadBytesReceived += length;
    return 'decoded' as const;
  }
}

/** The largest payload whose frame (one type byte, the length varint, the payload) fits `room`. */
function fillLength(room: number): number {
  for (const lengthBytes of [1, 2, 4] as const) {
    const length = room - 1 - lengthBytes;
    if (length >= 0 && encodedLength(length) === lengthBytes) return length;
  }
  // A room of 2^14 + 3 or 2^14 + 4 bytes: the payload falls a byte or two short of filling it.
  return room - 5;
}
