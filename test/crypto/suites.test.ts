/**
 * Specification of the CryptoSuite implementations (noble; native with its AEAD addon, and native
 * on node:crypto alone): published known answers for each, the Wycheproof vectors for each,
 * tamper resistance, and byte-for-byte agreement between them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../net/fixtures.js';
import { createNativeSuite } from '../../src/crypto/native-suite.js';
import { createNobleSuite } from '../../src/crypto/noble-suite.js';
import {
  AEAD_TAG_BYTES,
  type CryptoSuite,
  type HashName,
  type KeyPair,
} from '../../src/crypto/suite.js';
import { InvalidParameterError } from '../../src/net/errors.js';
import { cryptoRandom, seededRandom } from '../../src/net/random.js';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
/** `count` consecutive byte values from `first`, as RFC 5869 test case 2 writes its inputs. */
const byteRange = (first: number, count: number): Uint8Array =>
  Uint8Array.from({ length: count }, (_, i) => first + i);
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));

const noble = createNobleSuite();
const native = createNativeSuite();
/** The native suite on node:crypto alone, as where the AEAD addon was not built. */
const nativeNodeCrypto: CryptoSuite = {
  ...createNativeSuite(cryptoRandom, { aeadAddon: false }),
  name: 'native (node:crypto AEAD)',
};
const suites: readonly CryptoSuite[] = [noble, native, nativeNodeCrypto];

// --- Known answers ---------------------------------------------------------------------------

/** RFC 7748 §5.2, the two single scalar multiplications. */
const X25519_SCALAR_MULT = [
  {
    scalar: 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
    u: 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
    out: 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
  },
  {
    scalar: '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
    u: 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
    out: '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
  },
] as const;

/** RFC 7748 §6.1, the Diffie-Hellman example. */
const X25519_ALICE_BOB = {
  alicePrivate: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  alicePublic: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
  bobPrivate: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
  bobPublic: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
  shared: '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
} as const;

/**
 * u-coordinates of small order (and encodings that reduce to them), for which every clamped
 * scalar gives an all-zero shared secret.
 */
const LOW_ORDER_POINTS = {
  zero: '0000000000000000000000000000000000000000000000000000000000000000',
  one: '0100000000000000000000000000000000000000000000000000000000000000',
  'p - 1': 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'p (non-canonical zero)': 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'p + 1 (non-canonical one)': 'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'zero with the top bit set': '0000000000000000000000000000000000000000000000000000000000000080',
  'order 8, first': 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  'order 8, second': '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
} as const;

/** RFC 8439 §2.8.2, the AEAD example. */
const AEAD_EXAMPLE = {
  key: '808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f',
  nonce: '070000004041424344454647',
  ad: '50515253c0c1c2c3c4c5c6c7',
  plaintext:
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, " +
    'sunscreen would be it.',
  ciphertext:
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6' +
    '3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36' +
    '92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc' +
    '3ff4def08e4b7a9de576d26586cec64b6116',
  tag: '1ae10b594f09e26a7e902ecbd0600691',
} as const;

/** RFC 5869 Appendix A, test cases 1 to 3 (the SHA-256 ones). */
const HKDF_CASES = [
  {
    name: 'test case 1 (basic)',
    ikm: hex('0b'.repeat(22)),
    salt: byteRange(0x00, 13),
    info: byteRange(0xf0, 10),
    okm: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  },
  {
    name: 'test case 2 (longer inputs and outputs)',
    ikm: byteRange(0x00, 80),
    salt: byteRange(0x60, 80),
    info: byteRange(0xb0, 80),
    okm:
      'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c' +
      '59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71' +
      'cc30c58179ec3e87c14c01d5c1f3434f1d87',
  },
  {
    name: 'test case 3 (empty salt and info)',
    ikm: hex('0b'.repeat(22)),
    salt: new Uint8Array(0),
    info: new Uint8Array(0),
    okm: '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
  },
] as const;

describe.each(suites)('$name suite: known answers', (suite) => {
  it('X25519 scalar multiplication (RFC 7748 §5.2)', () => {
    for (const { scalar, u, out } of X25519_SCALAR_MULT) {
      expect(toHex(suite.dh(hex(scalar), hex(u)))).toBe(out);
    }
  });

  it('X25519 Diffie-Hellman (RFC 7748 §6.1)', () => {
    const v = X25519_ALICE_BOB;
    expect(toHex(suite.publicKey(hex(v.alicePrivate)))).toBe(v.alicePublic);
    expect(toHex(suite.publicKey(hex(v.bobPrivate)))).toBe(v.bobPublic);
    expect(toHex(suite.dh(hex(v.alicePrivate), hex(v.bobPublic)))).toBe(v.shared);
    expect(toHex(suite.dh(hex(v.bobPrivate), hex(v.alicePublic)))).toBe(v.shared);
  });

  it('ChaCha20-Poly1305 (RFC 8439 §2.8.2)', () => {
    const v = AEAD_EXAMPLE;
    const [key, nonce, ad, plaintext] = [hex(v.key), hex(v.nonce), hex(v.ad), utf8(v.plaintext)];
    const sealed = suite.seal(key, nonce, ad, plaintext);
    expect(toHex(sealed)).toBe(v.ciphertext + v.tag);
    const opened = suite.open(key, nonce, ad, hex(v.ciphertext + v.tag));
    expect(opened && new TextDecoder().decode(opened)).toBe(v.plaintext);
  });

  it.each(HKDF_CASES)('HKDF-SHA256 RFC 5869 $name', ({ ikm, salt, info, okm }) => {
    expect(toHex(suite.hkdf('SHA256', salt, ikm, info, okm.length / 2))).toBe(okm);
  });

  it('SHA-256 and BLAKE2s-256 of "abc" (FIPS 180-4, RFC 7693 Appendix B)', () => {
    expect(toHex(suite.hash('SHA256', utf8('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(toHex(suite.hash('BLAKE2s', utf8('abc')))).toBe(
      '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982',
    );
    // The parts are concatenated, wherever they are split.
    expect(toHex(suite.hash('SHA256', utf8('a'), new Uint8Array(0), utf8('bc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('HMAC-SHA256 (RFC 4231 test case 2)', () => {
    expect(toHex(suite.hmac('SHA256', utf8('Jefe'), utf8('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(toHex(suite.hmac('SHA256', utf8('Jefe'), utf8('what do ya '), utf8('want')))).toBe(
      toHex(suite.hmac('SHA256', utf8('Jefe'), utf8('what do ya want'))),
    );
  });
});

// --- Contract details ------------------------------------------------------------------------

describe.each(suites)('$name suite: contract', (suite) => {
  const key = new Uint8Array(32).fill(7);
  const nonce = new Uint8Array(12).fill(9);
  const ad = utf8('header');

  it('rejects every low-order public key with InvalidParameterError(publicKey)', () => {
    const privateKey = hex(X25519_ALICE_BOB.alicePrivate);
    for (const [name, point] of Object.entries(LOW_ORDER_POINTS)) {
      expect(
        parameterOf(() => suite.dh(privateKey, hex(point))),
        name,
      ).toBe('publicKey');
    }
  });

  it('rejects X25519 keys of the wrong length', () => {
    const good = hex(X25519_ALICE_BOB.alicePrivate);
    expect(parameterOf(() => suite.publicKey(good.subarray(1)))).toBe('privateKey');
    expect(parameterOf(() => suite.dh(good.subarray(1), good))).toBe('privateKey');
    expect(parameterOf(() => suite.dh(good, new Uint8Array(33)))).toBe('publicKey');
  });

  it('names the key or nonce whose length is wrong, in every AEAD call', () => {
    const sealed = suite.seal(key, nonce, ad, utf8('x'));
    const out = new Uint8Array(64);
    for (const [badKey, badNonce, parameter] of [
      [new Uint8Array(31), nonce, 'key'],
      [new Uint8Array(33), nonce, 'key'],
      [new Uint8Array(16), nonce, 'key'],
      [key, new Uint8Array(11), 'nonce'],
      [key, new Uint8Array(13), 'nonce'],
      [key, new Uint8Array(24), 'nonce'],
    ] as const) {
      expect(parameterOf(() => suite.seal(badKey, badNonce, ad, utf8('x')))).toBe(parameter);
      expect(parameterOf(() => suite.sealInto(badKey, badNonce, ad, utf8('x'), out, 0))).toBe(
        parameter,
      );
      expect(parameterOf(() => suite.open(badKey, badNonce, ad, sealed))).toBe(parameter);
      expect(parameterOf(() => suite.openInto(badKey, badNonce, ad, sealed, out, 0))).toBe(
        parameter,
      );
    }
  });

  it('seals and opens the empty message as a bare tag', () => {
    const sealed = suite.seal(key, nonce, ad, new Uint8Array(0));
    expect(sealed.length).toBe(AEAD_TAG_BYTES);
    expect(suite.open(key, nonce, ad, sealed)).toEqual(new Uint8Array(0));
    expect(suite.openInto(key, nonce, ad, sealed, new Uint8Array(0), 0)).toBe(0);
  });

  it('open gives null and openInto -1 for input shorter than a tag', () => {
    const out = new Uint8Array(32);
    for (let length = 0; length < AEAD_TAG_BYTES; length++) {
      expect(suite.open(key, nonce, ad, new Uint8Array(length))).toBeNull();
      expect(suite.openInto(key, nonce, ad, new Uint8Array(length), out, 0)).toBe(-1);
    }
  });

  it('refuses an output range that does not fit', () => {
    const plaintext = utf8('twelve bytes');
    const sealed = suite.seal(key, nonce, ad, plaintext);
    const roomy = new Uint8Array(sealed.length + 4);
    expect(suite.sealInto(key, nonce, ad, plaintext, roomy, 4)).toBe(sealed.length);
    expect(() => suite.sealInto(key, nonce, ad, plaintext, roomy, 5)).toThrow(
      InvalidParameterError,
    );
    expect(() => suite.sealInto(key, nonce, ad, plaintext, roomy, -1)).toThrow(
      InvalidParameterError,
    );
    expect(suite.openInto(key, nonce, ad, sealed, new Uint8Array(14), 2)).toBe(plaintext.length);
    expect(() => suite.openInto(key, nonce, ad, sealed, new Uint8Array(14), 3)).toThrow(
      InvalidParameterError,
    );
  });

  it('opens in place, over its own ciphertext', () => {
    const plaintext = utf8('decrypt me where I lie');
    const buffer = new Uint8Array(8 + plaintext.length + AEAD_TAG_BYTES);
    suite.sealInto(key, nonce, ad, plaintext, buffer, 8);
    const ciphertext = buffer.subarray(8);
    expect(suite.openInto(key, nonce, ad, ciphertext, buffer, 8)).toBe(plaintext.length);
    expect(buffer.subarray(8, 8 + plaintext.length)).toEqual(plaintext);
  });

  it('HKDF gives 0 to 255 × 32 bytes and names the length when asked for more', () => {
    const ikm = utf8('input keying material');
    const empty = new Uint8Array(0);
    for (const name of ['SHA256', 'BLAKE2s'] as const) {
      expect(suite.hkdf(name, empty, ikm, empty, 0)).toEqual(empty);
      expect(suite.hkdf(name, empty, ikm, empty, 1).length).toBe(1);
      const longest = suite.hkdf(name, empty, ikm, empty, 8160);
      expect(longest.length).toBe(8160);
      // Output is a prefix of any longer output (RFC 5869 §2.3).
      expect(suite.hkdf(name, empty, ikm, empty, 33)).toEqual(longest.subarray(0, 33));
      for (const bad of [-1, 8161, 1.5]) {
        expect(parameterOf(() => suite.hkdf(name, ikm, ikm, ikm, bad))).toBe('length');
      }
    }
  });

  it('draws key pairs from its random source', () => {
    const pairs = (seed: number): KeyPair[] => {
      const seeded = suite.name === 'noble' ? createNobleSuite : createNativeSuite;
      const instance = seeded(seededRandom(seed));
      return [instance.generateKeyPair(), instance.generateKeyPair()];
    };
    const [first, second] = pairs(42);
    expect(pairs(42)).toEqual([first, second]);
    expect(first?.privateKey).not.toEqual(second?.privateKey);
    expect(pairs(43)[0]).not.toEqual(first);
    expect(first && suite.publicKey(first.privateKey)).toEqual(first?.publicKey);
  });
});

it('the noble suite imports no node: module (it must run in browsers)', () => {
  const source = readFileSync(new URL('../../src/crypto/noble-suite.ts', import.meta.url), 'utf8');
  expect(source).not.toMatch(/from\s+['"]node:/);
  expect(source).not.toMatch(/import\(\s*['"]node:/);
});

// --- Tampering -------------------------------------------------------------------------------

/** A copy of `bytes` with bit `bit` (0 = least significant bit of byte 0) inverted. */
function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

describe.each(suites)('$name suite: tampering', (suite) => {
  it('every single-bit flip of ciphertext, tag, AD or nonce is rejected', () => {
    const key = byteRange(0x40, 32);
    const nonce = byteRange(0x10, 12);
    const ad = utf8('associated');
    const plaintext = utf8('attack at dawn');
    const sealed = suite.seal(key, nonce, ad, plaintext);
    const out = new Uint8Array(sealed.length);
    const rejects = (k: Uint8Array, n: Uint8Array, a: Uint8Array, c: Uint8Array): boolean =>
      suite.open(k, n, a, c) === null && suite.openInto(k, n, a, c, out, 0) === -1;
    expect(suite.open(key, nonce, ad, sealed)).toEqual(plaintext);
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      expect(rejects(key, nonce, ad, flipBit(sealed, bit)), `ciphertext bit ${bit}`).toBe(true);
    }
    for (let bit = 0; bit < ad.length * 8; bit++) {
      expect(rejects(key, nonce, flipBit(ad, bit), sealed), `AD bit ${bit}`).toBe(true);
    }
    for (let bit = 0; bit < nonce.length * 8; bit++) {
      expect(rejects(key, flipBit(nonce, bit), ad, sealed), `nonce bit ${bit}`).toBe(true);
    }
    // Truncation, extension and a different key are rejected too.
    expect(rejects(key, nonce, ad, sealed.subarray(0, -1))).toBe(true);
    expect(rejects(key, nonce, ad, concat(sealed, new Uint8Array(1)))).toBe(true);
    expect(rejects(flipBit(key, 0), nonce, ad, sealed)).toBe(true);
  });

  it('property: a random bit flip anywhere is rejected', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(),
        (key, nonce, ad, plaintext, choice) => {
          const sealed = suite.seal(key, nonce, ad, plaintext);
          const bits = (sealed.length + ad.length + nonce.length) * 8;
          let bit = choice % bits;
          let [n, a, c] = [nonce, ad, sealed] as [Uint8Array, Uint8Array, Uint8Array];
          if (bit < sealed.length * 8) c = flipBit(sealed, bit);
          else if ((bit -= sealed.length * 8) < ad.length * 8) a = flipBit(ad, bit);
          else n = flipBit(nonce, bit - ad.length * 8);
          expect(suite.open(key, n, a, c)).toBeNull();
        },
      ),
      { numRuns: 100 },
    );
  });
});

// --- Agreement between the suites ------------------------------------------------------------

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const bytes12 = fc.uint8Array({ minLength: 12, maxLength: 12 });
/** A message size: always-tried edge cases (empty, 64 KiB) beside small and middling ones. */
const messageSize = fc.oneof(
  fc.constant(0),
  fc.constant(65536),
  fc.integer({ min: 1, max: 64 }),
  fc.integer({ min: 65, max: 4096 }),
);
/** A message of an interesting size, its bytes from a seeded source so that 64 KiB stays cheap. */
const message = fc.tuple(messageSize, fc.integer()).map(([size, seed]) => seededBytes(size, seed));

function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  seededRandom(seed).fillBytes(out);
  return out;
}

/** Key, nonce, associated data and message of one AEAD call. */
const aeadCase = [bytes32, bytes12, fc.uint8Array({ maxLength: 32 }), message] as const;

describe('native and noble agree byte for byte', () => {
  it('property: AEAD seal output is identical and each opens the other', () => {
    fc.assert(
      fc.property(bytes32, bytes12, fc.uint8Array({ maxLength: 64 }), message, (k, n, ad, msg) => {
        const fromNative = native.seal(k, n, ad, msg);
        const fromNoble = noble.seal(k, n, ad, msg);
        expect(fromNative.length).toBe(msg.length + AEAD_TAG_BYTES);
        expect(toHex(fromNoble)).toBe(toHex(fromNative));
        expect(toHex(nativeNodeCrypto.seal(k, n, ad, msg))).toBe(toHex(fromNative));
        expect(toHex(noble.open(k, n, ad, fromNative) ?? new Uint8Array(1))).toBe(toHex(msg));
        expect(toHex(native.open(k, n, ad, fromNoble) ?? new Uint8Array(1))).toBe(toHex(msg));
      }),
      { numRuns: 100 },
    );
  });

  it('property: sealInto and openInto at any offset agree with seal and open', () => {
    fc.assert(
      fc.property(
        ...aeadCase,
        fc.nat({ max: 100 }),
        fc.nat({ max: 100 }),
        (k, n, ad, msg, offset, slack) => {
          const sealed = noble.seal(k, n, ad, msg);
          for (const suite of suites) {
            const buffer = new Uint8Array(offset + sealed.length + slack).fill(0xa5);
            expect(suite.sealInto(k, n, ad, msg, buffer, offset)).toBe(sealed.length);
            expect(toHex(buffer.subarray(offset, offset + sealed.length))).toBe(toHex(sealed));
            expect(buffer.subarray(0, offset).every((b) => b === 0xa5)).toBe(true);
            expect(buffer.subarray(offset + sealed.length).every((b) => b === 0xa5)).toBe(true);

            const plain = new Uint8Array(offset + msg.length + slack).fill(0x5a);
            expect(suite.openInto(k, n, ad, sealed, plain, offset)).toBe(msg.length);
            expect(toHex(plain.subarray(offset, offset + msg.length))).toBe(toHex(msg));
            expect(plain.subarray(0, offset).every((b) => b === 0x5a)).toBe(true);
            expect(plain.subarray(offset + msg.length).every((b) => b === 0x5a)).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('property: openInto over the ciphertext itself opens in place, or fails', () => {
    fc.assert(
      fc.property(
        ...aeadCase,
        fc.nat({ max: 40 }),
        fc.option(fc.nat(), { nil: undefined }),
        (k, n, ad, msg, offset, flip) => {
          const sealed = noble.seal(k, n, ad, msg);
          for (const suite of suites) {
            const buffer = new Uint8Array(offset + sealed.length);
            buffer.set(sealed, offset);
            if (flip !== undefined) {
              const at = offset + (flip % sealed.length);
              buffer[at] = (buffer[at] as number) ^ 0x10;
            }
            const ciphertext = buffer.subarray(offset);
            const opened = suite.openInto(k, n, ad, ciphertext, buffer, offset);
            if (flip === undefined) {
              expect(opened, suite.name).toBe(msg.length);
              expect(toHex(buffer.subarray(offset, offset + msg.length))).toBe(toHex(msg));
            } else {
              expect(opened, suite.name).toBe(-1);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('property: X25519 public keys and shared secrets are identical', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (a, b) => {
        const [publicA, publicB] = [native.publicKey(a), native.publicKey(b)];
        expect(toHex(noble.publicKey(a))).toBe(toHex(publicA));
        expect(toHex(noble.publicKey(b))).toBe(toHex(publicB));
        const shared = toHex(native.dh(a, publicB));
        expect(toHex(noble.dh(a, publicB))).toBe(shared);
        expect(toHex(noble.dh(b, publicA))).toBe(shared);
      }),
      { numRuns: 20 },
    );
  });

  it('property: X25519 with an arbitrary 32-byte peer key agrees, result or rejection', () => {
    const outcome = (suite: CryptoSuite, a: Uint8Array, u: Uint8Array): string => {
      try {
        return toHex(suite.dh(a, u));
      } catch (error) {
        return error instanceof InvalidParameterError ? `rejected ${error.parameter}` : 'other';
      }
    };
    const lowOrder = fc.constantFrom(...Object.values(LOW_ORDER_POINTS)).map(hex);
    fc.assert(
      fc.property(bytes32, fc.oneof(bytes32, lowOrder), (a, u) => {
        expect(outcome(noble, a, u)).toBe(outcome(native, a, u));
      }),
      { numRuns: 30 },
    );
  });

  const hashName = fc.constantFrom<HashName>('SHA256', 'BLAKE2s');
  const parts = fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 4 });

  it('property: hash, HMAC and HKDF are identical for both hash functions', () => {
    fc.assert(
      fc.property(
        hashName,
        parts,
        fc.uint8Array({ maxLength: 100 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.oneof(
          fc.constantFrom(0, 1, 32, 33, 8160),
          fc.integer({ min: 1, max: 128 }),
          fc.integer({ min: 1, max: 8160 }),
        ),
        (name, chunks, key, info, length) => {
          expect(toHex(noble.hash(name, ...chunks))).toBe(toHex(native.hash(name, ...chunks)));
          expect(toHex(noble.hmac(name, key, ...chunks))).toBe(
            toHex(native.hmac(name, key, ...chunks)),
          );
          const ikm = concat(...chunks);
          expect(toHex(noble.hkdf(name, key, ikm, info, length))).toBe(
            toHex(native.hkdf(name, key, ikm, info, length)),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('property: the same seed gives the same key pairs and random bytes in both', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (seed) => {
        const a = createNobleSuite(seededRandom(seed));
        const b = createNativeSuite(seededRandom(seed));
        expect(a.generateKeyPair()).toEqual(b.generateKeyPair());
        expect(a.generateKeyPair()).toEqual(b.generateKeyPair());
        expect(a.randomBytes(17)).toEqual(b.randomBytes(17));
      }),
      { numRuns: 20 },
    );
  });
});

// --- Wycheproof ------------------------------------------------------------------------------

/** Shared, read-only vectors beside the checkout (`../shared/vectors/`, see its README). */
const VECTORS = new URL('../../../shared/vectors/', import.meta.url);
const AEAD_FILE = new URL('wycheproof-chacha20-poly1305.json', VECTORS);
const HKDF_FILE = new URL('wycheproof-hkdf-sha256.json', VECTORS);
const vectorsPresent = existsSync(AEAD_FILE) && existsSync(HKDF_FILE);

interface WycheproofFile<T> {
  readonly numberOfTests: number;
  readonly testGroups: readonly { readonly tests: readonly T[] }[];
}
type WycheproofResult = 'valid' | 'invalid' | 'acceptable';
interface AeadVector {
  readonly tcId: number;
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly msg: string;
  readonly ct: string;
  readonly tag: string;
  readonly result: WycheproofResult;
}
interface HkdfVector {
  readonly tcId: number;
  readonly ikm: string;
  readonly salt: string;
  readonly info: string;
  readonly size: number;
  readonly okm: string;
  readonly result: WycheproofResult;
}

function loadTests<T>(file: URL): T[] {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as WycheproofFile<T>;
  const tests = parsed.testGroups.flatMap((group) => group.tests);
  expect(tests.length).toBe(parsed.numberOfTests);
  return tests;
}

it('Wycheproof vectors: present and complete, or reported as skipped', () => {
  if (!vectorsPresent) {
    console.warn(`Wycheproof vectors not found at ${fileURLToPath(VECTORS)}, skipped`);
    return;
  }
  expect(loadTests<AeadVector>(AEAD_FILE).length).toBeGreaterThan(0);
  expect(loadTests<HkdfVector>(HKDF_FILE).length).toBeGreaterThan(0);
});

describe.runIf(vectorsPresent).each(suites)('$name suite: Wycheproof', (suite) => {
  it('ChaCha20-Poly1305: valid cases round-trip, invalid ones are rejected', () => {
    const tally = { valid: 0, invalid: 0, badParameter: 0, acceptable: 0, acceptableOpened: 0 };
    const tests = loadTests<AeadVector>(AEAD_FILE);
    for (const t of tests) {
      const [key, nonce, ad, msg] = [hex(t.key), hex(t.iv), hex(t.aad), hex(t.msg)];
      const sealed = hex(t.ct + t.tag);
      const label = `tcId ${t.tcId}`;
      if (key.length !== 32 || nonce.length !== 12) {
        // Only the AEAD's own sizes are accepted; the wrong ones are named, not guessed at.
        expect(t.result, label).toBe('invalid');
        const parameter = key.length !== 32 ? 'key' : 'nonce';
        expect(
          parameterOf(() => suite.seal(key, nonce, ad, msg)),
          label,
        ).toBe(parameter);
        expect(
          parameterOf(() => suite.open(key, nonce, ad, sealed)),
          label,
        ).toBe(parameter);
        tally.badParameter++;
      } else if (t.result === 'valid') {
        expect(toHex(suite.seal(key, nonce, ad, msg)), label).toBe(t.ct + t.tag);
        const opened = suite.open(key, nonce, ad, sealed);
        expect(opened && toHex(opened), label).toBe(t.msg);
        const out = new Uint8Array(msg.length);
        expect(suite.openInto(key, nonce, ad, sealed, out, 0), label).toBe(msg.length);
        expect(toHex(out), label).toBe(t.msg);
        tally.valid++;
      } else if (t.result === 'invalid') {
        expect(suite.open(key, nonce, ad, sealed), label).toBeNull();
        expect(suite.openInto(key, nonce, ad, sealed, new Uint8Array(msg.length), 0)).toBe(-1);
        tally.invalid++;
      } else {
        // Wycheproof leaves "acceptable" cases to the implementation: counted, not judged.
        tally.acceptable++;
        if (suite.open(key, nonce, ad, sealed) !== null) tally.acceptableOpened++;
      }
    }
    expect(tally.valid + tally.invalid + tally.badParameter + tally.acceptable).toBe(tests.length);
    expect(tally).toMatchObject({
      valid: tests.filter((t) => t.result === 'valid').length,
      acceptable: tests.filter((t) => t.result === 'acceptable').length,
    });
  });

  it('HKDF-SHA256: valid outputs match, oversized outputs are refused', () => {
    let valid = 0;
    let invalid = 0;
    const tests = loadTests<HkdfVector>(HKDF_FILE);
    for (const t of tests) {
      const run = (): Uint8Array =>
        suite.hkdf('SHA256', hex(t.salt), hex(t.ikm), hex(t.info), t.size);
      if (t.result === 'invalid') {
        expect(parameterOf(run), `tcId ${t.tcId}`).toBe('length');
        invalid++;
      } else {
        expect(toHex(run()), `tcId ${t.tcId}`).toBe(t.okm);
        valid++;
      }
    }
    expect(valid + invalid).toBe(tests.length);
    expect(invalid).toBeGreaterThan(0);
  });
});
