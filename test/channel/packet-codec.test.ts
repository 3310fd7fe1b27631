/**
 * Specification of transport packets (docs/PROTOCOL.md §3): the clear header, the nonce and
 * associated data, agreement of the two suites, and that nothing changed in flight, sealed under
 * another key or cut short ever opens or throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../net/fixtures.js';
import { createNativeSuite } from '../../src/crypto/native-suite.js';
import { createNobleSuite } from '../../src/crypto/noble-suite.js';
import { AEAD_TAG_BYTES, type CryptoSuite } from '../../src/crypto/suite.js';
import { decodePacketNumber, NO_PACKET } from '../../src/channel/packet-number.js';
import {
  isTransportPacketType,
  MAX_HEADER_BYTES,
  MAX_PACKET_BYTES,
  MAX_PACKET_OVERHEAD,
  MIN_HEADER_BYTES,
  MIN_PACKET_BYTES,
  openFrames,
  openPacket,
  packetOverhead,
  readHeader,
  sealedLength,
  sealPacket,
  type KeyPhase,
  type PacketSealParams,
  type TransportHeader,
} from '../../src/channel/packet-codec.js';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

const suites: readonly CryptoSuite[] = [createNativeSuite(), createNobleSuite()];
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const OTHER_KEY = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);

function seal(
  suite: CryptoSuite,
  params: PacketSealParams,
  plaintext: Uint8Array,
  key = KEY,
): Uint8Array {
  const out = new Uint8Array(plaintext.length + MAX_PACKET_OVERHEAD);
  return out.slice(0, sealPacket(suite, key, params, plaintext, out, 0));
}

/** readHeader then openPacket, as a host does; the frames, or null. */
function open(
  suite: CryptoSuite,
  datagram: Uint8Array,
  largestReceived: number,
  key = KEY,
): { packetNumber: number; plaintext: Uint8Array; header: TransportHeader } | null {
  const header = readHeader(datagram);
  if (header === null) return null;
  const out = new Uint8Array(datagram.length);
  const opened = openPacket(suite, key, header, datagram, largestReceived, out);
  if (opened === null) return null;
  return {
    packetNumber: opened.packetNumber,
    plaintext: out.slice(0, opened.length),
    header,
  };
}

const sealParams = fc
  .record({
    channelId: fc.integer({ min: 1, max: 0xffff_ffff }),
    packetNumber: fc.oneof(fc.nat(1000), fc.nat(2 ** 40), fc.maxSafeNat()),
    distance: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 2 ** 31 })),
    keyPhase: fc.constantFrom<KeyPhase>(0, 1),
  })
  .map(({ channelId, packetNumber, distance, keyPhase }): PacketSealParams => {
    const pn = Math.max(packetNumber, distance - 1);
    return { channelId, packetNumber: pn, largestAcked: pn - distance, keyPhase };
  });

const plaintextArb = fc.uint8Array({ minLength: 1, maxLength: 300 });
const params: PacketSealParams = {
  channelId: 0x0a0b0c0d,
  packetNumber: 1000,
  largestAcked: 990,
  keyPhase: 0,
};

describe('transport packets', () => {
  it('have the sizes PROTOCOL.md §3 gives', () => {
    expect(MIN_HEADER_BYTES).toBe(6);
    expect(MAX_HEADER_BYTES).toBe(9);
    expect(MAX_PACKET_OVERHEAD).toBe(25);
    expect(MIN_PACKET_BYTES).toBe(23);
    expect(packetOverhead(1)).toBe(22);
    expect(packetOverhead(4)).toBe(25);
  });

  it('lay out the clear header as 0b0001_0KLL, channel id, truncated packet number', () => {
    const suite = suites[0] as CryptoSuite;
    const packet = seal(
      suite,
      {
        channelId: 0x0a0b0c0d,
        packetNumber: 0x0102_0304_0506,
        largestAcked: 0x0102_0300_0000,
        keyPhase: 1,
      },
      hex('01'),
    );
    // 0x40506 packets unacknowledged: 3 bytes, so LL = 2; K = 1.
    expect(toHex(packet.subarray(0, 8))).toBe('16' + '0a0b0c0d' + '040506');
    expect(packet).toHaveLength(8 + 1 + AEAD_TAG_BYTES);
    expect(readHeader(packet)).toEqual({
      keyPhase: 1,
      channelId: 0x0a0b0c0d,
      pnLength: 3,
      truncatedPn: 0x040506,
      headerLength: 8,
    });
  });

  it('seal with nonce = 4 zero bytes ‖ 64-bit packet number and the clear header as associated data', () => {
    for (const suite of suites) {
      const frames = hex('0102030405');
      const packet = seal(
        suite,
        {
          channelId: 7,
          packetNumber: 0x0102_0304_0506,
          largestAcked: 0x0102_0304_0500,
          keyPhase: 0,
        },
        frames,
      );
      const header = packet.subarray(0, 6);
      const nonce = hex('00000000' + '00000102' + '03040506');
      expect(toHex(packet.subarray(6))).toBe(toHex(suite.seal(KEY, nonce, header, frames)));
    }
  });

  it('are distinguishable from handshake packets by the first byte', () => {
    for (let byte = 0; byte < 256; byte++) {
      expect(isTransportPacketType(byte)).toBe(byte >= 0x10 && byte <= 0x17);
    }
  });

  it('property: any frames round-trip under any key, channel id, packet number and suite', () => {
    fc.assert(
      fc.property(
        sealParams,
        plaintextArb,
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat(8),
        fc.nat(),
        (p, plaintext, key, offset, pick) => {
          const suite = suites[pick % suites.length] as CryptoSuite;
          const out = new Uint8Array(offset + plaintext.length + MAX_PACKET_OVERHEAD);
          const length = sealPacket(suite, key, p, plaintext, out, offset);
          const datagram = out.slice(offset, offset + length);
          // The receiver has at least the acknowledged packet.
          const opened = open(suite, datagram, Math.max(p.largestAcked, NO_PACKET), key);
          expect(opened?.packetNumber).toBe(p.packetNumber);
          expect(opened?.header).toMatchObject({ channelId: p.channelId, keyPhase: p.keyPhase });
          expect(toHex(opened?.plaintext ?? new Uint8Array(0))).toBe(toHex(plaintext));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: sealedLength is the length sealPacket gives; openFrames opens what openPacket does, in a buffer of the frames alone', () => {
    fc.assert(
      fc.property(sealParams, plaintextArb, fc.nat(), (p, plaintext, pick) => {
        const suite = suites[pick % suites.length] as CryptoSuite;
        const packet = seal(suite, p, plaintext);
        expect(sealedLength(p, plaintext.length)).toBe(packet.length);
        const header = readHeader(packet) as TransportHeader;
        const largest = Math.max(p.largestAcked, NO_PACKET);
        const pn = decodePacketNumber(largest, header.truncatedPn, header.pnLength);
        // Each call gets a copy: openFrames may open the datagram where it lies.
        const frames = openFrames(suite, KEY, header, packet.slice(), pn);
        expect(toHex(frames ?? new Uint8Array(0))).toBe(toHex(plaintext));
        expect(frames?.byteLength).toBe(plaintext.length);
        expect(openFrames(suite, OTHER_KEY, header, packet.slice(), pn)).toBeNull();
        expect(openFrames(suite, KEY, header, packet.slice(), pn + 1)).toBeNull();
      }),
      { numRuns: 150 },
    );
  });

  it('openFrames opens in place where the suite does: the frames are the datagram, a failure leaves zeros', () => {
    for (const suite of suites) {
      const plaintext = hex('0102030405060708');
      const packet = seal(suite, params, plaintext);
      const header = readHeader(packet) as TransportHeader;
      const frames = openFrames(suite, KEY, header, packet, 1000) as Uint8Array;
      expect(toHex(frames)).toBe(toHex(plaintext));
      expect(frames.buffer === packet.buffer, suite.name).toBe(suite.opensInPlace);
      const body = packet.subarray(header.headerLength, header.headerLength + plaintext.length);
      expect(toHex(body) === toHex(plaintext), suite.name).toBe(suite.opensInPlace);

      const forged = seal(suite, params, plaintext);
      expect(openFrames(suite, OTHER_KEY, header, forged, 1000)).toBeNull();
      const forgedBody = forged.subarray(header.headerLength, forged.length - AEAD_TAG_BYTES);
      expect(
        forgedBody.every((byte) => byte === 0),
        suite.name,
      ).toBe(suite.opensInPlace);
    }
  });

  it('openFrames drops a packet number beyond 2^53 - 1 and a datagram without a frame byte', () => {
    const suite = suites[0] as CryptoSuite;
    const packet = seal(suite, params, hex('01'));
    const header = readHeader(packet) as TransportHeader;
    expect(openFrames(suite, KEY, header, packet, 1000)).not.toBeNull();
    expect(openFrames(suite, KEY, header, packet, 2 ** 53)).toBeNull();
    const short = { ...header, headerLength: packet.length - AEAD_TAG_BYTES };
    expect(openFrames(suite, KEY, short, packet, 1000)).toBeNull();
  });

  it('property: the native and noble suites produce and open the same bytes', () => {
    const [native, noble] = suites as [CryptoSuite, CryptoSuite];
    fc.assert(
      fc.property(sealParams, plaintextArb, (p, plaintext) => {
        const packet = seal(native, p, plaintext);
        expect(toHex(seal(noble, p, plaintext))).toBe(toHex(packet));
        expect(open(noble, packet, p.largestAcked)?.packetNumber).toBe(p.packetNumber);
      }),
      { numRuns: 100 },
    );
  });

  it('property: any bit flipped anywhere in the datagram makes it unopenable', () => {
    for (const suite of suites) {
      const plaintext = Uint8Array.from({ length: 40 }, (_, i) => i);
      const packet = seal(suite, params, plaintext);
      expect(open(suite, packet, 995)?.packetNumber).toBe(1000);
      fc.assert(
        fc.property(fc.nat(packet.length * 8 - 1), (bit) => {
          const flipped = packet.slice();
          flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
          expect(open(suite, flipped, 995)).toBeNull();
        }),
        { numRuns: 150 },
      );
    }
  });

  it('do not open under another key, or from a largest received that rebuilds another number', () => {
    for (const suite of suites) {
      const packet = seal(suite, params, hex('01'));
      expect(open(suite, packet, 990, OTHER_KEY)).toBeNull();
      // 1000 carried in 1 byte (0xe8); from 2000 the window rebuilds it as 1768 + 256k, not 1000.
      expect(open(suite, packet, 2000)).toBeNull();
      expect(open(suite, packet, 990)?.packetNumber).toBe(1000);
    }
  });

  it('property: a datagram cut short is dropped, never thrown', () => {
    for (const suite of suites) {
      const packet = seal(suite, params, new Uint8Array(30).fill(1));
      fc.assert(
        fc.property(fc.nat(packet.length - 1), (length) => {
          expect(open(suite, packet.subarray(0, length), 995)).toBeNull();
        }),
        { numRuns: 60 },
      );
    }
  });

  it('property: random datagrams are dropped by readHeader or openPacket, never thrown', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 120 }),
        fc.boolean(),
        fc.oneof(fc.constant(NO_PACKET), fc.maxSafeNat()),
        fc.nat(),
        (junk, transportByte, largestReceived, pick) => {
          // Half the runs get a transport first byte, so that openPacket is reached.
          if (transportByte && junk.length > 0) junk[0] = 0x10 | ((junk[0] as number) & 7);
          const suite = suites[pick % suites.length] as CryptoSuite;
          expect(open(suite, junk, largestReceived)).toBeNull();
        },
      ),
      { numRuns: 400 },
    );
  });

  it('readHeader refuses handshake packets, channel id 0, and datagrams too short or too long', () => {
    const suite = suites[0] as CryptoSuite;
    const packet = seal(suite, params, hex('01'));
    expect(readHeader(packet)).not.toBeNull();
    for (const type of [0x01, 0x02, 0x03, 0x18, 0x00, 0xff]) {
      const other = packet.slice();
      other[0] = type;
      expect(readHeader(other)).toBeNull();
    }
    const zeroId = packet.slice();
    zeroId.fill(0, 1, 5);
    expect(readHeader(zeroId)).toBeNull();
    expect(readHeader(packet.subarray(0, MIN_PACKET_BYTES - 1))).toBeNull();
    const huge = new Uint8Array(MAX_PACKET_BYTES + 1);
    huge.set(packet);
    expect(readHeader(huge)).toBeNull();
    // A 4-byte packet number needs three more bytes than the smallest packet.
    const long = packet.slice(0, MIN_PACKET_BYTES);
    long[0] = 0x13;
    expect(readHeader(long)).toBeNull();
  });

  it('readHeader fills a reused header object when given one', () => {
    const suite = suites[0] as CryptoSuite;
    const reused = {} as TransportHeader;
    const first = readHeader(seal(suite, params, hex('01')), reused);
    expect(first).toBe(reused);
    expect(reused).toEqual({
      keyPhase: 0,
      channelId: 0x0a0b0c0d,
      pnLength: 1,
      truncatedPn: 1000 % 256,
      headerLength: 6,
    });
  });

  it('openPacket drops a packet whose frames would not fit in out', () => {
    const suite = suites[0] as CryptoSuite;
    const packet = seal(suite, params, new Uint8Array(10).fill(1));
    const header = readHeader(packet) as TransportHeader;
    expect(openPacket(suite, KEY, header, packet, 995, new Uint8Array(9))).toBeNull();
    expect(openPacket(suite, KEY, header, packet, 995, new Uint8Array(12), 3)).toBeNull();
    expect(openPacket(suite, KEY, header, packet, 995, new Uint8Array(13), 3)).toEqual({
      packetNumber: 1000,
      length: 10,
    });
  });

  it('sealPacket throws InvalidParameterError on misuse', () => {
    const suite = suites[0] as CryptoSuite;
    const out = new Uint8Array(100);
    const one = hex('01');
    const call = (p: Partial<PacketSealParams>, plaintext = one, buffer = out, offset = 0) =>
      parameterOf(() => sealPacket(suite, KEY, { ...params, ...p }, plaintext, buffer, offset));
    expect(call({ channelId: 0 })).toBe('channelId');
    expect(call({ channelId: 2 ** 32 })).toBe('channelId');
    expect(call({ channelId: 1.5 })).toBe('channelId');
    expect(call({ keyPhase: 2 as KeyPhase })).toBe('keyPhase');
    expect(call({ packetNumber: 990 })).toBe('packetNumber');
    expect(call({ packetNumber: 2 ** 53 })).toBe('packetNumber');
    expect(call({}, new Uint8Array(0))).toBe('plaintext');
    expect(call({}, new Uint8Array(MAX_PACKET_BYTES))).toBe('plaintext');
    expect(call({}, one, new Uint8Array(22))).toBe('out');
    expect(call({}, one, out, 90)).toBe('out');
    expect(call({}, one, out, -1)).toBe('out');
    expect(call({}, one, new Uint8Array(23))).toBeUndefined();
  });
});
