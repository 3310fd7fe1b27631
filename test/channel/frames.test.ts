/**
 * Specification of the channel's frames (docs/PROTOCOL.md §4): exact encodings, round trips,
 * the reserved stream frame types and their extension point, and the decoder's refusal to throw
 * on anything the network sends.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../net/fixtures.js';
import {
  ackFrameLength,
  ChannelErrorCode,
  decodeCloseReason,
  decodeFrames,
  encodeCloseReason,
  FrameType,
  isAckEliciting,
  MAX_ACK_RANGES,
  MAX_CLOSE_REASON_BYTES,
  NO_ROOM,
  writeAckFrame,
  writeCloseFrame,
  writePadding,
  writePathChallengeFrame,
  writePathResponseFrame,
  writePingFrame,
  type AckRange,
  type ExtensionOutcome,
  type FrameDecodeResult,
  type FrameVisitor,
} from '../../src/channel/frames.js';
import { readVarint, VARINT_INVALID, writeVarint, type Cursor } from '../../src/channel/varint.js';
import { InvalidParameterError } from '../../src/net/errors.js';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** A frame as the tests describe it; the decoder's callbacks are turned into these. */
type Frame =
  | { kind: 'padding'; count: number }
  | { kind: 'ping' }
  | { kind: 'ack'; ackDelay: number; ranges: [number, number][] }
  | { kind: 'close'; errorCode: number; reason: string }
  | { kind: 'pathChallenge'; data: string }
  | { kind: 'pathResponse'; data: string }
  | { kind: 'stream'; type: number; body: string };

/**
 * A test stream frame for the reserved types: type, length varint, body. Stands in for what the
 * streams milestone will register.
 */
function writeTestStreamFrame(out: Uint8Array, offset: number, type: number, body: Uint8Array) {
  let at = writeVarint(out, offset, type);
  at = writeVarint(out, at, body.length);
  out.set(body, at);
  return at + body.length;
}

/** Records every callback, copying what the decoder only lends. */
class Recorder implements FrameVisitor {
  readonly frames: Frame[] = [];
  onExtension?: FrameVisitor['onExtension'];

  constructor(withStreams = false) {
    if (withStreams)
      this.onExtension = (type, payload, cursor) => this.stream(type, payload, cursor);
  }

  onPing(): void {
    this.frames.push({ kind: 'ping' });
  }
  onAck(frame: { ackDelay: number; ranges: readonly AckRange[] }): void {
    const ranges = frame.ranges.map(([low, high]): [number, number] => [low, high]);
    this.frames.push({ kind: 'ack', ackDelay: frame.ackDelay, ranges });
  }
  onClose(errorCode: number, reason: Uint8Array): void {
    this.frames.push({ kind: 'close', errorCode, reason: decodeCloseReason(reason) });
  }
  onPathChallenge(data: Uint8Array): void {
    this.frames.push({ kind: 'pathChallenge', data: toHex(data) });
  }
  onPathResponse(data: Uint8Array): void {
    this.frames.push({ kind: 'pathResponse', data: toHex(data) });
  }

  private stream(type: number, payload: Uint8Array, cursor: Cursor): ExtensionOutcome {
    const length = readVarint(payload, cursor);
    if (length === VARINT_INVALID || cursor.offset + length > payload.length) return 'malformed';
    const body = payload.subarray(cursor.offset, cursor.offset + length);
    cursor.offset += length;
    this.frames.push({ kind: 'stream', type, body: toHex(body) });
    return 'decoded';
  }
}

function writeFrame(out: Uint8Array, offset: number, frame: Frame): number {
  switch (frame.kind) {
    case 'padding':
      return writePadding(out, offset, frame.count);
    case 'ping':
      return writePingFrame(out, offset);
    case 'ack':
      return writeAckFrame(out, offset, frame.ranges, frame.ackDelay);
    case 'close':
      return writeCloseFrame(out, offset, frame.errorCode, encodeCloseReason(frame.reason));
    case 'pathChallenge':
      return writePathChallengeFrame(out, offset, hex(frame.data));
    case 'pathResponse':
      return writePathResponseFrame(out, offset, hex(frame.data));
    case 'stream':
      return writeTestStreamFrame(out, offset, frame.type, hex(frame.body));
  }
}

function encodeFrames(frames: readonly Frame[]): Uint8Array {
  const out = new Uint8Array(64 * 1024);
  let offset = 0;
  for (const frame of frames) offset = writeFrame(out, offset, frame);
  return out.slice(0, offset);
}

function decode(payload: Uint8Array, withStreams = false) {
  const recorder = new Recorder(withStreams);
  const result = decodeFrames(payload, recorder);
  return { result, frames: recorder.frames };
}

function failure(result: FrameDecodeResult) {
  if (result.ok) throw new Error('expected the payload to be rejected');
  return result;
}

// --- Arbitraries ---------------------------------------------------------------------------

/** Descending, disjoint, non-adjacent ranges built from a largest number and (gap, length) pairs. */
const ackRanges = fc
  .tuple(
    fc.oneof(fc.nat(1000), fc.maxSafeNat()),
    fc.nat(1000),
    fc.array(fc.tuple(fc.nat(300), fc.nat(300)), { maxLength: 12 }),
  )
  .map(([largest, firstLength, rest]) => {
    const ranges: [number, number][] = [[Math.max(0, largest - firstLength), largest]];
    for (const [gap, length] of rest) {
      const high = (ranges.at(-1) as [number, number])[0] - gap - 2;
      if (high - length < 0) break;
      ranges.push([high - length, high]);
    }
    return ranges;
  });

const bytesHex = (length: number) =>
  fc.uint8Array({ minLength: length, maxLength: length }).map(toHex);

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ kind: fc.constant('padding' as const), count: fc.integer({ min: 1, max: 20 }) }),
  fc.constant({ kind: 'ping' as const }),
  fc.record({
    kind: fc.constant('ack' as const),
    ackDelay: fc.oneof(fc.nat(100_000), fc.maxSafeNat()),
    ranges: ackRanges,
  }),
  fc.record({
    kind: fc.constant('close' as const),
    errorCode: fc.oneof(fc.constantFrom(...Object.values(ChannelErrorCode)), fc.maxSafeNat()),
    reason: fc.string({ maxLength: 40 }),
  }),
  fc.record({ kind: fc.constant('pathChallenge' as const), data: bytesHex(8) }),
  fc.record({ kind: fc.constant('pathResponse' as const), data: bytesHex(8) }),
  fc.record({
    kind: fc.constant('stream' as const),
    type: fc.integer({ min: 0x08, max: 0x1f }),
    body: fc.uint8Array({ maxLength: 30 }).map(toHex),
  }),
);

/** The decoder skips padding silently, so the expected frames leave it out. */
function withoutPadding(frames: readonly Frame[]): Frame[] {
  return frames.filter((frame) => frame.kind !== 'padding');
}

// --- Tests ---------------------------------------------------------------------------------

describe('frame encodings', () => {
  it('writes PING, PATH_CHALLENGE and PATH_RESPONSE byte for byte', () => {
    const out = new Uint8Array(20);
    expect(writePingFrame(out, 0)).toBe(1);
    expect(writePathChallengeFrame(out, 1, hex('0001020304050607'))).toBe(10);
    expect(writePathResponseFrame(out, 10, hex('08090a0b0c0d0e0f'))).toBe(19);
    expect(toHex(out.subarray(0, 19))).toBe(
      '01' + '04' + '0001020304050607' + '05' + '08090a0b0c0d0e0f',
    );
  });

  it('writes ACK gaps and lengths as RFC 9000 §19.3.1 counts them', () => {
    // 100..120 and 90..95 and 50: gaps of 100-95-2 = 3 and 90-50-2 = 38.
    const ranges: AckRange[] = [
      [100, 120],
      [90, 95],
      [50, 50],
    ];
    const out = new Uint8Array(32);
    const end = writeAckFrame(out, 0, ranges, 1000);
    // type, largest 120, delay 1000 (2 bytes), 2 more ranges, first length 20, (3, 5), (38, 0)
    expect(toHex(out.subarray(0, end))).toBe(
      '02' + '40' + '78' + '43e8' + '02' + '14' + '0305' + '2600',
    );
    expect(end).toBe(ackFrameLength(ranges, 1000));
    expect(decode(out.subarray(0, end)).frames).toEqual([{ kind: 'ack', ackDelay: 1000, ranges }]);
  });

  it('writes CLOSE as error code, reason length and UTF-8 reason', () => {
    const out = new Uint8Array(16);
    const end = writeCloseFrame(out, 0, ChannelErrorCode.application, encodeCloseReason('bye'));
    expect(toHex(out.subarray(0, end))).toBe('03' + '04' + '03' + '627965');
  });

  it('writes PADDING as zero bytes', () => {
    const out = new Uint8Array(6).fill(0xff);
    expect(writePadding(out, 1, 4)).toBe(5);
    expect(toHex(out)).toBe('ff00000000ff');
  });

  it('property: any sequence of frames round-trips through the writers and decodeFrames', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), (frames) => {
        const payload = encodeFrames(frames);
        const { result, frames: decoded } = decode(payload, true);
        expect(result).toEqual({
          ok: true,
          ackEliciting: frames.some((f) => !['padding', 'ack', 'close'].includes(f.kind)),
        });
        expect(decoded).toEqual(withoutPadding(frames));
      }),
      { numRuns: 300 },
    );
  });

  it('property: ackFrameLength is exactly what writeAckFrame writes', () => {
    fc.assert(
      fc.property(ackRanges, fc.maxSafeNat(), (ranges, delay) => {
        const out = new Uint8Array(1024);
        expect(writeAckFrame(out, 3, ranges, delay)).toBe(3 + ackFrameLength(ranges, delay));
      }),
    );
  });

  it('property: a frame that does not fit returns NO_ROOM and writes nothing', () => {
    fc.assert(
      fc.property(
        frameArb.filter((f) => f.kind !== 'stream'),
        fc.nat(),
        (frame, pick) => {
          const needed = encodeFrames([frame]).length;
          const out = new Uint8Array(pick % needed).fill(0xee);
          expect(writeFrame(out, 0, frame)).toBe(NO_ROOM);
          expect(out.every((b) => b === 0xee)).toBe(true);
        },
      ),
    );
  });

  it('writes only the newest maxRanges ranges, and never more than MAX_ACK_RANGES', () => {
    const ranges: AckRange[] = Array.from({ length: 300 }, (_, i): AckRange => {
      const high = 10_000 - 3 * i;
      return [high - 1, high];
    });
    const out = new Uint8Array(4096);
    const three = decode(out.subarray(0, writeAckFrame(out, 0, ranges, 0, 3))).frames;
    expect(three).toEqual([{ kind: 'ack', ackDelay: 0, ranges: ranges.slice(0, 3) }]);
    const capped = decode(out.subarray(0, writeAckFrame(out, 0, ranges, 0, 1000))).frames;
    expect(capped).toEqual([{ kind: 'ack', ackDelay: 0, ranges: ranges.slice(0, MAX_ACK_RANGES) }]);
  });

  it('throws InvalidParameterError for ACK ranges that are not descending, disjoint and apart', () => {
    const out = new Uint8Array(64);
    const bad: AckRange[][] = [
      [],
      [[5, 4]],
      [[-1, 3]],
      [[1.5, 3]],
      [
        [10, 12],
        [9, 9],
      ], // adjacent: no unacknowledged packet between
      [
        [10, 12],
        [8, 11],
      ], // overlapping
      [
        [10, 12],
        [20, 30],
      ], // ascending
    ];
    for (const ranges of bad) {
      expect(() => writeAckFrame(out, 0, ranges, 0)).toThrow(InvalidParameterError);
    }
    expect(parameterOf(() => writeAckFrame(out, 0, [[1, 2]], -1))).toBe('ackDelay');
    expect(parameterOf(() => writeAckFrame(out, 0, [[1, 2]], 0, 0))).toBe('maxRanges');
    expect(parameterOf(() => writeAckFrame(out, 65, [[1, 2]], 0))).toBe('offset');
  });

  it('throws InvalidParameterError for other misuse', () => {
    const out = new Uint8Array(2048);
    expect(parameterOf(() => writePathChallengeFrame(out, 0, new Uint8Array(7)))).toBe('data');
    expect(parameterOf(() => writePathResponseFrame(out, 0, new Uint8Array(9)))).toBe('data');
    const long = new Uint8Array(MAX_CLOSE_REASON_BYTES + 1);
    expect(parameterOf(() => writeCloseFrame(out, 0, 0, long))).toBe('reason');
    expect(parameterOf(() => writeCloseFrame(out, 0, -1, new Uint8Array(0)))).toBe('errorCode');
    expect(parameterOf(() => writePadding(out, 0, -1))).toBe('count');
    expect(parameterOf(() => writePingFrame(out, -1))).toBe('offset');
  });

  it('cuts a long CLOSE reason at a character boundary, and reads bad UTF-8 without failing', () => {
    expect(encodeCloseReason('é'.repeat(600))).toHaveLength(1024);
    const euros = encodeCloseReason('€'.repeat(400));
    expect(euros).toHaveLength(1023);
    expect(decodeCloseReason(euros)).toBe('€'.repeat(341));
    expect(decodeCloseReason(hex('ff41'))).toBe('\ufffdA');
  });

  it('tells ack-eliciting frames apart (RFC 9002 §2)', () => {
    expect(isAckEliciting(FrameType.padding)).toBe(false);
    expect(isAckEliciting(FrameType.ack)).toBe(false);
    expect(isAckEliciting(FrameType.close)).toBe(false);
    expect(isAckEliciting(FrameType.ping)).toBe(true);
    expect(isAckEliciting(FrameType.pathChallenge)).toBe(true);
    expect(isAckEliciting(FrameType.pathResponse)).toBe(true);
    expect(isAckEliciting(0x08)).toBe(true);
  });
});

describe('decodeFrames', () => {
  it('skips runs of padding; a payload of padding alone is valid and not ack-eliciting', () => {
    expect(decode(hex('000000010000'))).toEqual({
      result: { ok: true, ackEliciting: true },
      frames: [{ kind: 'ping' }],
    });
    expect(decode(new Uint8Array(50))).toEqual({
      result: { ok: true, ackEliciting: false },
      frames: [],
    });
  });

  it('reports an empty payload as a protocol violation (RFC 9000 §12.4)', () => {
    expect(failure(decode(new Uint8Array(0)).result)).toEqual({
      ok: false,
      failure: 'empty',
      errorCode: ChannelErrorCode.protocolViolation,
      frameType: -1,
      offset: 0,
    });
  });

  it('reports unknown frame types with their type and offset, after the frames before them', () => {
    for (const [bytes, type] of [
      ['06', 0x06],
      ['07', 0x07],
      ['20', 0x20],
      ['3f', 0x3f],
      ['4100', 0x100],
    ] as const) {
      const { result, frames } = decode(hex('0100' + bytes + '01'));
      expect(frames).toEqual([{ kind: 'ping' }]);
      expect(failure(result)).toEqual({
        ok: false,
        failure: 'unknown',
        errorCode: ChannelErrorCode.frameEncoding,
        frameType: type,
        offset: 2,
      });
    }
  });

  it('treats the reserved stream types 0x08-0x1f as unknown when no extension handles them', () => {
    for (let type = 0x08; type <= 0x1f; type++) {
      const payload = new Uint8Array([type, 0]);
      expect(failure(decode(payload).result)).toMatchObject({
        failure: 'unknown',
        frameType: type,
      });
      expect(decode(payload, true).result).toEqual({ ok: true, ackEliciting: true });
    }
  });

  it('passes on what an extension handler reports', () => {
    const payload = hex('0a00' + '01');
    const visitor = (outcome: ExtensionOutcome): FrameVisitor => ({
      onPing() {},
      onAck() {},
      onClose() {},
      onPathChallenge() {},
      onPathResponse() {},
      onExtension: (_type, _payload, cursor) => {
        cursor.offset += 1;
        return outcome;
      },
    });
    expect(decodeFrames(payload, visitor('decoded'))).toEqual({ ok: true, ackEliciting: true });
    expect(failure(decodeFrames(payload, visitor('malformed')))).toMatchObject({
      failure: 'malformed',
      errorCode: ChannelErrorCode.frameEncoding,
      frameType: 0x0a,
      offset: 0,
    });
    expect(failure(decodeFrames(payload, visitor('unknown')))).toMatchObject({
      failure: 'unknown',
      frameType: 0x0a,
    });
  });

  it('throws when an extension handler leaves the cursor outside its frame (a bug of ours)', () => {
    const recorder = new Recorder();
    recorder.onExtension = (_type, payload, cursor) => {
      cursor.offset = payload.length + 1;
      return 'decoded';
    };
    expect(parameterOf(() => decodeFrames(hex('0a00'), recorder))).toBe('onExtension');
  });

  it('reports malformed frames with the frame-encoding error code', () => {
    const cases: [string, string, number][] = [
      ['non-minimal frame type', '4001', -1],
      ['truncated frame type', '40', -1],
      ['frame type above 2^53', 'ffffffffffffffff', -1],
      ['ACK without its fields', '02', 0x02],
      ['ACK whose first range passes zero', '02' + '05' + '00' + '00' + '06', 0x02],
      ['ACK whose gap passes zero', '02' + '05' + '00' + '01' + '01' + '03' + '00', 0x02],
      ['ACK whose range passes zero', '02' + '05' + '00' + '01' + '01' + '00' + '03', 0x02],
      ['ACK with a truncated range', '02' + '10' + '00' + '02' + '01' + '0101', 0x02],
      ['ACK with too many ranges', '02' + '3f' + '00' + '80000100' + '00', 0x02],
      ['CLOSE without reason length', '03' + '00', 0x03],
      ['CLOSE with a truncated reason', '03' + '00' + '05' + '61626364', 0x03],
      ['CLOSE with a reason over 1024 bytes', '03' + '00' + '4401' + '00'.repeat(1025), 0x03],
      ['truncated PATH_CHALLENGE', '04' + '00'.repeat(7), 0x04],
      ['truncated PATH_RESPONSE', '05', 0x05],
    ];
    for (const [name, bytes, type] of cases) {
      const { result } = decode(hex('01' + bytes));
      expect(failure(result), name).toEqual({
        ok: false,
        failure: 'malformed',
        errorCode: ChannelErrorCode.frameEncoding,
        frameType: type,
        offset: 1,
      });
    }
  });

  it('decodes an ACK frame whose lowest range reaches packet 0', () => {
    // largest 5, first range 4..5, gap 0 (packet 3 missing), then 0..2
    const { frames } = decode(hex('02' + '05' + '00' + '01' + '01' + '00' + '02'));
    expect(frames).toEqual([
      {
        kind: 'ack',
        ackDelay: 0,
        ranges: [
          [4, 5],
          [0, 2],
        ],
      },
    ]);
  });

  it('property: every proper prefix of a frame is malformed, never a shorter frame', () => {
    fc.assert(
      fc.property(
        frameArb.filter((f) => f.kind !== 'padding' && f.kind !== 'ping'),
        fc.nat(),
        (frame, pick) => {
          const bytes = encodeFrames([frame]);
          const cut = 1 + (pick % (bytes.length - 1));
          const { result } = decode(bytes.subarray(0, cut), true);
          expect(failure(result).failure).toBe('malformed');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: random bytes never make the decoder throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, withStreams) => {
        const { result } = decode(bytes, withStreams);
        if (!result.ok) {
          expect(Object.values(ChannelErrorCode)).toContain(result.errorCode);
          expect(result.offset).toBeLessThan(Math.max(1, bytes.length));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('property: random bytes behind valid frames never make the decoder throw', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 4 }),
        fc.uint8Array({ maxLength: 60 }),
        (f, junk) => {
          const prefix = encodeFrames(f);
          const payload = new Uint8Array(prefix.length + junk.length);
          payload.set(prefix);
          payload.set(junk, prefix.length);
          const { frames } = decode(payload, true);
          expect(frames.slice(0, withoutPadding(f).length)).toEqual(withoutPadding(f));
        },
      ),
      { numRuns: 500 },
    );
  });
});
