import { describe, expect, it } from 'vitest';

import { createNativeSuite } from '../../src/crypto/native-suite.js';
import type { HashName } from '../../src/crypto/suite.js';
import { seededRandom } from '../../src/net/random.js';
import { parameterOf } from '../net/fixtures.js';

const suite = createNativeSuite();

function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Bytes `from`, `from + 1`, ..., `to`, as the RFC test vectors write them. */
function range(from: number, to: number): Uint8Array {
  return Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('X25519 (RFC 7748)', () => {
  it('§5.2: two scalar multiplications', () => {
    expect(
      toHex(
        suite.dh(
          hex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'),
          hex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c'),
        ),
      ),
    ).toBe('c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552');
    expect(
      toHex(
        suite.dh(
          hex('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d'),
          hex('e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493'),
        ),
      ),
    ).toBe('95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957');
  });

  it('§5.2: 1 and 1000 iterations from k = u = 9', () => {
    let k: Uint8Array = new Uint8Array(32);
    k[0] = 9;
    let u: Uint8Array = k.slice();
    for (let i = 1; i <= 1000; i++) {
      [k, u] = [suite.dh(k, u), k];
      if (i === 1) {
        expect(toHex(k)).toBe('422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079');
      }
    }
    expect(toHex(k)).toBe('684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51');
  });

  it('§6.1: key pairs and the shared secret of Alice and Bob', () => {
    const alicePrivate = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bobPrivate = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const alicePublic = suite.publicKey(alicePrivate);
    const bobPublic = suite.publicKey(bobPrivate);
    expect(toHex(alicePublic)).toBe(
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
    expect(toHex(bobPublic)).toBe(
      'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
    );
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(toHex(suite.dh(alicePrivate, bobPublic))).toBe(shared);
    expect(toHex(suite.dh(bobPrivate, alicePublic))).toBe(shared);
  });

  it('rejects public keys that give an all-zero result, naming publicKey', () => {
    const { privateKey } = suite.generateKeyPair();
    const one = new Uint8Array(32);
    one[0] = 1;
    // Points of order 1, 2 and 8 (zero, one, and a point of order 8; RFC 7748 §6.1).
    const lowOrder = [
      new Uint8Array(32),
      one,
      hex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'),
    ];
    for (const publicKey of lowOrder) {
      expect(parameterOf(() => suite.dh(privateKey, publicKey))).toBe('publicKey');
    }
  });

  it('gives the same answer when the caller reuses its private key array for another key', () => {
    const a = suite.generateKeyPair();
    const b = suite.generateKeyPair();
    const c = suite.generateKeyPair();
    const buffer = a.privateKey.slice();
    const first = suite.dh(buffer, b.publicKey);
    buffer.set(c.privateKey);
    expect(suite.dh(buffer, b.publicKey)).toEqual(suite.dh(c.privateKey, b.publicKey));
    expect(suite.dh(buffer, b.publicKey)).not.toEqual(first);
    expect(suite.publicKey(buffer)).toEqual(c.publicKey);

    // The same with a Buffer, whose `slice` is a view rather than a copy.
    const nodeBuffer = Buffer.from(a.privateKey);
    expect(suite.dh(nodeBuffer, b.publicKey)).toEqual(first);
    nodeBuffer.set(c.privateKey);
    expect(suite.dh(nodeBuffer, b.publicKey)).toEqual(suite.dh(c.privateKey, b.publicKey));
  });

  it('checks key lengths, naming the parameter', () => {
    const pair = suite.generateKeyPair();
    expect(parameterOf(() => suite.dh(new Uint8Array(31), pair.publicKey))).toBe('privateKey');
    expect(parameterOf(() => suite.dh(pair.privateKey, new Uint8Array(33)))).toBe('publicKey');
    expect(parameterOf(() => suite.publicKey(new Uint8Array(0)))).toBe('privateKey');
  });
});

describe('key generation', () => {
  it('draws private keys from the given random source, so seeded runs repeat', () => {
    const first = createNativeSuite(seededRandom(42)).generateKeyPair();
    const again = createNativeSuite(seededRandom(42)).generateKeyPair();
    const other = createNativeSuite(seededRandom(43)).generateKeyPair();
    expect(again).toEqual(first);
    expect(other.privateKey).not.toEqual(first.privateKey);
    expect(suite.publicKey(first.privateKey)).toEqual(first.publicKey);
  });

  it('randomBytes reads the random source too', () => {
    expect(createNativeSuite(seededRandom(1)).randomBytes(40)).toEqual(
      createNativeSuite(seededRandom(1)).randomBytes(40),
    );
    expect(parameterOf(() => suite.randomBytes(-1))).toBe('length');
  });

  it('is named native and returns plain Uint8Arrays, never Buffers', () => {
    expect(suite.name).toBe('native');
    const { publicKey } = suite.generateKeyPair();
    for (const bytes of [publicKey, suite.hash('SHA256', publicKey)]) {
      expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
    }
  });
});

describe('ChaCha20-Poly1305 (RFC 8439)', () => {
  // §2.8.2.
  const key = range(0x80, 0x9f);
  const nonce = hex('07000000 4041424344454647');
  const ad = hex('50515253c0c1c2c3c4c5c6c7');
  const plaintext = ascii(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const sealed = hex(`
    d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
    3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
    92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
    3ff4def08e4b7a9de576d26586cec64b6116
    1ae10b594f09e26a7e902ecbd0600691`);

  it('§2.8.2: seal gives the published ciphertext and tag; open inverts it', () => {
    expect(toHex(suite.seal(key, nonce, ad, plaintext))).toBe(toHex(sealed));
    expect(suite.open(key, nonce, ad, sealed)).toEqual(plaintext);
  });

  it('rejects a changed ciphertext, tag, associated data, nonce or key', () => {
    for (let i = 0; i < sealed.length; i += 7) {
      const tampered = sealed.slice();
      tampered[i] = (tampered[i] as number) ^ 0x01;
      expect(suite.open(key, nonce, ad, tampered)).toBeNull();
    }
    const lastTagByte = sealed.slice();
    lastTagByte[sealed.length - 1] = (lastTagByte[sealed.length - 1] as number) ^ 0x80;
    expect(suite.open(key, nonce, ad, lastTagByte)).toBeNull();
    expect(suite.open(key, nonce, ad.subarray(1), sealed)).toBeNull();
    expect(suite.open(key, nonce, new Uint8Array(0), sealed)).toBeNull();
    expect(suite.open(key, new Uint8Array(12), ad, sealed)).toBeNull();
    expect(suite.open(range(0, 31), nonce, ad, sealed)).toBeNull();
  });

  it('fails cleanly on inputs shorter than a tag', () => {
    for (const length of [0, 1, 15]) {
      expect(suite.open(key, nonce, ad, new Uint8Array(length))).toBeNull();
      expect(suite.openInto(key, nonce, ad, new Uint8Array(length), new Uint8Array(64), 0)).toBe(
        -1,
      );
    }
  });

  it('seals and opens an empty plaintext (a bare tag)', () => {
    const tag = suite.seal(key, nonce, ad, new Uint8Array(0));
    expect(tag.length).toBe(16);
    expect(suite.open(key, nonce, ad, tag)).toEqual(new Uint8Array(0));
  });

  it('sealInto and openInto work at offsets and touch only their range', () => {
    const out = new Uint8Array(sealed.length + 10).fill(0xee);
    expect(suite.sealInto(key, nonce, ad, plaintext, out, 7)).toBe(sealed.length);
    expect(out.subarray(7, 7 + sealed.length)).toEqual(sealed);
    expect(out.subarray(0, 7).every((byte) => byte === 0xee)).toBe(true);
    expect(out.subarray(7 + sealed.length).every((byte) => byte === 0xee)).toBe(true);

    const back = new Uint8Array(plaintext.length + 5).fill(0xdd);
    expect(suite.openInto(key, nonce, ad, sealed, back, 5)).toBe(plaintext.length);
    expect(back.subarray(5)).toEqual(plaintext);
    expect(back.subarray(0, 5).every((byte) => byte === 0xdd)).toBe(true);

    const tampered = sealed.slice();
    tampered[3] = (tampered[3] as number) ^ 4;
    expect(suite.openInto(key, nonce, ad, tampered, back, 5)).toBe(-1);
  });

  it('checks the key, the nonce and the output range, naming the parameter', () => {
    const out = new Uint8Array(200);
    expect(parameterOf(() => suite.seal(key.subarray(1), nonce, ad, plaintext))).toBe('key');
    expect(parameterOf(() => suite.seal(key, nonce.subarray(1), ad, plaintext))).toBe('nonce');
    expect(parameterOf(() => suite.open(key, new Uint8Array(8), ad, sealed))).toBe('nonce');
    expect(parameterOf(() => suite.open(new Uint8Array(16), nonce, ad, sealed))).toBe('key');
    expect(parameterOf(() => suite.sealInto(key, new Uint8Array(24), ad, plaintext, out, 0))).toBe(
      'nonce',
    );
    expect(parameterOf(() => suite.openInto(new Uint8Array(0), nonce, ad, sealed, out, 0))).toBe(
      'key',
    );
    expect(parameterOf(() => suite.sealInto(key, nonce, ad, plaintext, out, 100))).toBe('out');
    expect(parameterOf(() => suite.sealInto(key, nonce, ad, plaintext, out, -1))).toBe('offset');
    expect(parameterOf(() => suite.openInto(key, nonce, ad, sealed, out, 150))).toBe('out');
  });
});

describe('hashes, HMAC and HKDF', () => {
  it('SHA-256 and BLAKE2s-256 of "abc" (FIPS 180-2, RFC 7693 Appendix B)', () => {
    expect(toHex(suite.hash('SHA256', ascii('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(toHex(suite.hash('BLAKE2s', ascii('abc')))).toBe(
      '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982',
    );
  });

  it('hashes the concatenation of its parts', () => {
    for (const name of ['SHA256', 'BLAKE2s'] as const) {
      expect(suite.hash(name, ascii('a'), ascii(''), ascii('bc'))).toEqual(
        suite.hash(name, ascii('abc')),
      );
    }
  });

  /** RFC 2104 written out over the suite's hash, with the 64-byte block of both hashes. */
  function referenceHmac(name: HashName, key: Uint8Array, message: Uint8Array): Uint8Array {
    const block = new Uint8Array(64);
    block.set(key.length > 64 ? suite.hash(name, key) : key);
    const inner = suite.hash(
      name,
      block.map((byte) => byte ^ 0x36),
      message,
    );
    return suite.hash(
      name,
      block.map((byte) => byte ^ 0x5c),
      inner,
    );
  }

  it('HMAC is RFC 2104 with a 64-byte block for both hashes, short and long keys', () => {
    const message = ascii('what do ya want for nothing?');
    for (const name of ['SHA256', 'BLAKE2s'] as const) {
      for (const key of [ascii('Jefe'), range(0, 63), range(0, 99)]) {
        expect(suite.hmac(name, key, message.subarray(0, 4), message.subarray(4))).toEqual(
          referenceHmac(name, key, message),
        );
      }
    }
  });

  it('HMAC-SHA-256 of RFC 4231 test case 2', () => {
    expect(toHex(suite.hmac('SHA256', ascii('Jefe'), ascii('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('HKDF-SHA-256: RFC 5869 test cases 1 to 3', () => {
    const ikm = new Uint8Array(22).fill(0x0b);
    expect(toHex(suite.hkdf('SHA256', range(0x00, 0x0c), ikm, range(0xf0, 0xf9), 42))).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
    expect(
      toHex(suite.hkdf('SHA256', range(0x60, 0xaf), range(0x00, 0x4f), range(0xb0, 0xff), 82)),
    ).toBe(
      'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c' +
        '59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71' +
        'cc30c58179ec3e87c14c01d5c1f3434f1d87',
    );
    const empty = new Uint8Array(0);
    expect(toHex(suite.hkdf('SHA256', empty, ikm, empty, 42))).toBe(
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    );
  });

  it('HKDF with BLAKE2s is extract-then-expand over the suite HMAC (RFC 5869 §2)', () => {
    const salt = range(0, 31);
    const ikm = range(100, 131);
    const prk = suite.hmac('BLAKE2s', salt, ikm);
    const t1 = suite.hmac('BLAKE2s', prk, Uint8Array.of(1));
    const t2 = suite.hmac('BLAKE2s', prk, t1, Uint8Array.of(2));
    const t3 = suite.hmac('BLAKE2s', prk, t2, Uint8Array.of(3));
    const expected = new Uint8Array(96);
    expected.set(t1, 0);
    expected.set(t2, 32);
    expected.set(t3, 64);
    expect(suite.hkdf('BLAKE2s', salt, ikm, new Uint8Array(0), 96)).toEqual(expected);
    // An empty input key (Noise's Split) is allowed.
    expect(suite.hkdf('BLAKE2s', salt, new Uint8Array(0), new Uint8Array(0), 64).length).toBe(64);
  });

  it('HKDF checks the output length, naming it', () => {
    const empty = new Uint8Array(0);
    expect(suite.hkdf('SHA256', empty, empty, empty, 255 * 32).length).toBe(255 * 32);
    expect(parameterOf(() => suite.hkdf('SHA256', empty, empty, empty, 255 * 32 + 1))).toBe(
      'length',
    );
    expect(parameterOf(() => suite.hkdf('SHA256', empty, empty, empty, -1))).toBe('length');
  });

  it('rejects an unknown hash name, naming it', () => {
    const bogus = 'MD5' as HashName;
    expect(parameterOf(() => suite.hash(bogus, ascii('x')))).toBe('name');
    expect(parameterOf(() => suite.hmac(bogus, ascii('k'), ascii('x')))).toBe('name');
  });
});
