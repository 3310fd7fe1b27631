/**
 * Specification of the stream frames (docs/PROTOCOL.md §4.7): exact encodings, round trips
 * through the channel's frame decoder, and no exception on anything the network sends.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrames, type FrameVisitor, NO_ROOM } from '../../src/channel/frames.js';
import { InvalidParameterError } from '../../src/net/errors.js';
import {
  decodeStreamFrame,
  ROOT_PARENT,
  SESSION_ID_BYTES,
  StreamFlag,
  type StreamFrameVisitor,
  writeDatagramFrame,
  writeMaxStreamsFrame,
  writeResetFrame,
  writeSessionFrame,
  writeStopFrame,
  writeStreamFrame,
  writeWindowFrame,
} from '../../src/streams/stream-frames.js';

type Decoded = (string | number | number[])[];

/** Decodes a whole payload through the channel's decoder, as a channel would. */
function decodeAll(payload: Uint8Array): { frames: Decoded[]; ok: boolean } {
  const frames: Decoded[] = [];
  const streams: StreamFrameVisitor = {
    onStream: (id, offset, data, flags, parent) =>
      frames.push(['stream', id, offset, [...data], flags, Number.isNaN(parent) ? 'none' : parent]),
    onWindow: (id, maxOffset) => frames.push(['window', id, maxOffset]),
    onReset: (id, code, finalOffset) => frames.push(['reset', id, code, finalOffset]),
    onStop: (id, code) => frames.push(['stop', id, code]),
    onDatagram: (parent, id, total, at, data) =>
      frames.push(['datagram', parent, id, total, at, [...data]]),
    onSession: (id) => frames.push(['session', [...id]]),
    onMaxStreams: (count) => frames.push(['maxStreams', count]),
  };
  const visitor: FrameVisitor = {
    onPing: () => frames.push(['ping']),
    onAck: () => frames.push(['ack']),
    onClose: () => frames.push(['close']),
    onPathChallenge: () => frames.push(['challenge']),
    onPathResponse: () => frames.push(['response']),
    onExtension: (type, payload, cursor) => decodeStreamFrame(type, payload, cursor, streams),
  };
  return { frames, ok: decodeFrames(payload, visitor).ok };
}

const id = fc.nat({ max: 2 ** 40 });
const bytes = fc.uint8Array({ maxLength: 300 });

describe('stream frames', () => {
  it('a STREAM frame opening a top-level stream has this exact encoding', () => {
    const out = new Uint8Array(32);
    const end = writeStreamFrame(
      out,
      0,
      4,
      0,
      Uint8Array.of(0xaa, 0xbb),
      StreamFlag.record,
      ROOT_PARENT,
    );
    // type 08, id 04, offset 00, length 02, flags record|open = 06, parent 0 (root), data
    expect(Buffer.from(out.subarray(0, end)).toString('hex')).toBe('0804000206' + '00' + 'aabb');
  });

  it('STREAM frames round-trip with every flag combination and parent', () => {
    fc.assert(
      fc.property(
        id,
        fc.nat({ max: 2 ** 45 }),
        bytes,
        fc.nat({ max: 3 }),
        fc.option(id),
        (sid, offset, data, flags, parent) => {
          const out = new Uint8Array(400);
          const end = writeStreamFrame(out, 0, sid, offset, data, flags, parent ?? undefined);
          const open = parent === null ? 0 : StreamFlag.open;
          expect(decodeAll(out.subarray(0, end))).toEqual({
            ok: true,
            frames: [['stream', sid, offset, [...data], flags | open, parent ?? 'none']],
          });
        },
      ),
    );
  });

  it('WINDOW, RESET, STOP, MAX_STREAMS, SESSION and DATAGRAM frames round-trip', () => {
    fc.assert(
      fc.property(
        id,
        id,
        id,
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        bytes,
        fc.nat(1000),
        (a, b, c, session, data, extra) => {
          const out = new Uint8Array(600);
          let end = writeWindowFrame(out, 0, a, b);
          end = writeResetFrame(out, end, a, b, c);
          end = writeStopFrame(out, end, c, a);
          end = writeMaxStreamsFrame(out, end, b);
          end = writeSessionFrame(out, end, session);
          end = writeDatagramFrame(out, end, ROOT_PARENT, a, data.length + extra, extra, data);
          end = writeDatagramFrame(out, end, c, b, data.length, 0, data);
          expect(decodeAll(out.subarray(0, end))).toEqual({
            ok: true,
            frames: [
              ['window', a, b],
              ['reset', a, b, c],
              ['stop', c, a],
              ['maxStreams', b],
              ['session', [...session]],
              ['datagram', ROOT_PARENT, a, data.length + extra, extra, [...data]],
              ['datagram', c, b, data.length, 0, [...data]],
            ],
          });
        },
      ),
    );
  });

  it('a frame that does not fit writes nothing and returns NO_ROOM', () => {
    const out = new Uint8Array(10);
    expect(writeStreamFrame(out, 0, 1, 0, new Uint8Array(8), 0)).toBe(NO_ROOM);
    expect(writeSessionFrame(out, 5, new Uint8Array(SESSION_ID_BYTES))).toBe(NO_ROOM);
    expect(writeWindowFrame(out, 9, 1, 2 ** 40)).toBe(NO_ROOM);
    expect([...out]).toEqual(new Array(10).fill(0));
  });

  it('every truncation of a valid frame is malformed, never an exception', () => {
    fc.assert(
      fc.property(id, bytes, fc.option(id), (sid, data, parent) => {
        const out = new Uint8Array(400);
        const end = writeStreamFrame(out, 0, sid, 7, data, StreamFlag.fin, parent ?? undefined);
        for (let cut = 1; cut < end; cut++) expect(decodeAll(out.subarray(0, cut)).ok).toBe(false);
      }),
    );
  });

  it('unknown flag bits and fragments beyond their datagram are malformed', () => {
    expect(decodeAll(Uint8Array.of(0x08, 0x01, 0x00, 0x00, 0x08)).ok).toBe(false);
    // datagram: parent 0, id 1, total 2, fragment offset 1, length 2 -> ends at 3 > 2
    expect(decodeAll(Uint8Array.of(0x0c, 0x00, 0x01, 0x02, 0x01, 0x02, 0xaa, 0xbb)).ok).toBe(false);
  });

  it('random bytes never make the decoder throw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x08, max: 0x0e }),
        fc.uint8Array({ maxLength: 64 }),
        (type, rest) => {
          expect(() => decodeAll(Uint8Array.of(type, ...rest))).not.toThrow();
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('bad arguments from the application are typed errors', () => {
    const out = new Uint8Array(64);
    expect(() => writeStreamFrame(out, 0, -1, 0, new Uint8Array(1), 0)).toThrow(
      InvalidParameterError,
    );
    expect(() => writeStreamFrame(out, 0, 1, 0, new Uint8Array(1), StreamFlag.open)).toThrow(
      InvalidParameterError,
    );
    expect(() => writeDatagramFrame(out, 0, 1, 1, 1, 1, new Uint8Array(1))).toThrow(
      InvalidParameterError,
    );
    expect(() => writeSessionFrame(out, 0, new Uint8Array(4))).toThrow(InvalidParameterError);
  });
});
