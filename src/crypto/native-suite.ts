/**
 * The fast {@link CryptoSuite} on Node: every primitive is OpenSSL, through `node:crypto` or, for
 * the AEAD on the per-packet path, through the addon of `aead-addon.ts` where it was built. It must
 * produce exactly the bytes of the portable noble suite; the Noise vectors and the cross-suite
 * tests check that.
 *
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
} from 'node:crypto';

import { InvalidParameterError } from '../net/errors.js';
import { cryptoRandom, type RandomSource } from '../net/random.js';
import {
  AEAD_TAG_BYTES,
  HASH_BYTES,
  X25519_KEY_BYTES,
  type AeadIntoFunction,
  type CryptoSuite,
  type HashName,
  type KeyPair,
} from './suite.js';
import { aeadAddon, type AeadAddon } from './aead-addon.js';
import { equalBytes, isAllZero } from './bytes.js';
import { checkAead, checkLength, checkRange } from './suite-checks.js';

/** RFC 5869 §2.3: at most 255 blocks of output. */
const MAX_HKDF_BYTES = 255 * HASH_BYTES;

/** PKCS#8 wrapping of a raw X25519 private key (RFC 8410 §7): this prefix, then the 32 bytes. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** OpenSSL's names for the Noise hash names (Noise spec rev. 34 §12.5, §12.7). */
const OPENSSL_HASH: Readonly<Record<HashName, string>> = {
  SHA256: 'sha256',
  BLAKE2s: 'blake2s256',
};

function opensslHash(name: HashName): string {
  const algorithm = OPENSSL_HASH[name];
  if (algorithm === undefined) {
    throw new InvalidParameterError('name', `unknown hash ${String(name)}`);
  }
  return algorithm;
}

/**
 * A plain Uint8Array view of a Buffer, without copying. Callers must not get Buffers: a Buffer's
 * `slice` is a view, not a copy, which would silently alias key material.
 */
function asBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Imports a raw private key. The JWK form goes straight to OpenSSL's raw-key constructor and is
 * about ten times faster than decoding PKCS#8 DER (~36 µs against ~400 µs here, where the DER
 * decoder dominates a whole handshake). Node ignores `x` when importing a private JWK; should a
 * later Node insist on it, the DER path keeps the suite working, only slower.
 */
function importPrivateKey(privateKey: Uint8Array): KeyObject {
  try {
    return createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', d: base64url(privateKey), x: '' },
      format: 'jwk',
    });
  } catch {
    return createPrivateKey({
      key: Buffer.concat([PKCS8_X25519_PREFIX, privateKey]),
      format: 'der',
      type: 'pkcs8',
    });
  }
}

/** Imports a raw public key (JWK again: ~7 µs against ~80 µs for SPKI DER). */
function importPublicKey(publicKey: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: base64url(publicKey) },
    format: 'jwk',
  });
}

function exportPublicKey(privateKey: KeyObject): Uint8Array {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('X25519 public key export lacks x');
  return asBytes(Buffer.from(jwk.x, 'base64url'));
}

interface CachedKey {
  readonly bytes: Uint8Array;
  readonly key: KeyObject;
}

/**
 * Imported keys, by the array that holds them. A static key takes part in every handshake and an
 * ephemeral one in two DHs; a private import costs a scalar multiplication and a public one a
 * point decoding. The entry keeps a copy of the bytes and is used only while the array still
 * holds them, so a caller that reuses or wipes its array gets a fresh import, never a stale key.
 */
class KeyCache {
  private readonly entries = new WeakMap<Uint8Array, CachedKey>();

  constructor(private readonly importKey: (raw: Uint8Array) => KeyObject) {}

  get(raw: Uint8Array): KeyObject {
    const cached = this.entries.get(raw);
    if (cached !== undefined && equalBytes(cached.bytes, raw)) return cached.key;
    const key = this.importKey(raw);
    // A real copy: `slice` on a Buffer would be a view of the very bytes we compare against.
    this.entries.set(raw, { bytes: new Uint8Array(raw), key });
    return key;
  }
}

/**
 * ChaCha20-Poly1305 as the suite runs it; lengths and ranges are checked before any call. Two
 * implementations with the same bytes: the addon's, and node:crypto's.
 */
interface Aead extends Pick<CryptoSuite, 'open'> {
  /** Whether {@link Aead.openAt} writes straight into `out`, so opening in place saves a buffer. */
  readonly inPlace: boolean;
  readonly sealAt: AeadIntoFunction;
  readonly openAt: AeadIntoFunction;
}

/** The addon: no object and no Buffer per call, and `out` may be the input's own bytes. */
function addonAead(addon: AeadAddon): Aead {
  return {
    inPlace: true,
    sealAt: addon.seal,
    open(key, nonce, ad, ciphertext) {
      const out = new Uint8Array(ciphertext.length - AEAD_TAG_BYTES);
      return addon.open(key, nonce, ad, ciphertext, out, 0) < 0 ? null : out;
    },
    openAt: addon.open,
  };
}

/** node:crypto: a cipher object per call, and its output in a Buffer of its own. */
const nodeCryptoAead: Aead = {
  inPlace: false,
  sealAt(key, nonce, ad, plaintext, out, offset) {
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, {
      authTagLength: AEAD_TAG_BYTES,
    });
    cipher.setAAD(ad, { plaintextLength: plaintext.length });
    const body = cipher.update(plaintext);
    cipher.final();
    out.set(body, offset);
    out.set(cipher.getAuthTag(), offset + body.length);
    return body.length + AEAD_TAG_BYTES;
  },
  /**
   * OpenSSL releases plaintext before it checks the tag, so nothing is returned (or copied to a
   * caller's buffer) until `final` succeeds.
   */
  open(key, nonce, ad, ciphertext) {
    const bodyLength = ciphertext.length - AEAD_TAG_BYTES;
    const decipher = createDecipheriv('chacha20-poly1305', key, nonce, {
      authTagLength: AEAD_TAG_BYTES,
    });
    decipher.setAAD(ad, { plaintextLength: bodyLength });
    decipher.setAuthTag(ciphertext.subarray(bodyLength));
    const body = decipher.update(ciphertext.subarray(0, bodyLength));
    try {
      decipher.final();
    } catch {
      return null;
    }
    return asBytes(body);
  },
  openAt(key, nonce, ad, ciphertext, out, offset) {
    const body = nodeCryptoAead.open(key, nonce, ad, ciphertext);
    if (body === null) return -1;
    out.set(body, offset);
    return body.length;
  },
};

/** Options of {@link createNativeSuite}. */
export interface NativeSuiteOptions {
  /**
   * Whether ChaCha20-Poly1305 runs in the addon built at install (`native/aead.c`) when it is
   * there (default true), or always through node:crypto. The bytes are the same; the addon
   * spares a cipher object and an output buffer per packet (one stream over loopback moved 1.4
   * to 1.9 times as much with it in bench:streams). {@link nativeAeadBackend} says which one a
   * suite got.
   */
  readonly aeadAddon?: boolean;
}

/** Which ChaCha20-Poly1305 a native suite made now with `options` runs on. */
export function nativeAeadBackend(options: NativeSuiteOptions = {}): 'addon' | 'node:crypto' {
  return options.aeadAddon !== false && aeadAddon !== undefined ? 'addon' : 'node:crypto';
}

/**
 * A {@link CryptoSuite} over `node:crypto` (OpenSSL): X25519, ChaCha20-Poly1305, SHA-256,
 * BLAKE2s-256, HMAC and HKDF.
 *
 * @param random the source of private keys and {@link CryptoSuite.randomBytes}; give a seeded
 * source for replayable simulations (the suite itself never draws platform randomness).
 */
export function createNativeSuite(
  random: RandomSource = cryptoRandom,
  options: NativeSuiteOptions = {},
): CryptoSuite {
  const aead =
    nativeAeadBackend(options) === 'addon' && aeadAddon !== undefined
      ? addonAead(aeadAddon)
      : nodeCryptoAead;
  const privateKeys = new KeyCache(importPrivateKey);
  const publicKeys = new KeyCache(importPublicKey);

  function randomBytes(length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new InvalidParameterError('length', `must be a non-negative integer, got ${length}`);
    }
    const out = new Uint8Array(length);
    random.fillBytes(out);
    return out;
  }

  function publicKey(privateKey: Uint8Array): Uint8Array {
    checkLength('privateKey', privateKey, X25519_KEY_BYTES);
    return exportPublicKey(privateKeys.get(privateKey));
  }

  function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    checkLength('privateKey', privateKey, X25519_KEY_BYTES);
    checkLength('publicKey', publicKey, X25519_KEY_BYTES);
    const ownKey = privateKeys.get(privateKey);
    let shared: Buffer;
    try {
      shared = diffieHellman({ privateKey: ownKey, publicKey: publicKeys.get(publicKey) });
    } catch {
      // OpenSSL refuses to return an all-zero X25519 result (RFC 7748 §6.1); that is the only
      // way this can fail once both lengths are right.
      throw new InvalidParameterError('publicKey', 'low-order point: the X25519 result is zero');
    }
    if (isAllZero(shared)) {
      throw new InvalidParameterError('publicKey', 'low-order point: the X25519 result is zero');
    }
    return asBytes(shared);
  }

  function sealInto(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
    offset: number,
  ): number {
    checkAead(key, nonce);
    checkRange(out, offset, plaintext.length + AEAD_TAG_BYTES);
    return aead.sealAt(key, nonce, ad, plaintext, out, offset);
  }

  function openInto(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    ciphertext: Uint8Array,
    out: Uint8Array,
    offset: number,
  ): number {
    checkAead(key, nonce);
    if (ciphertext.length < AEAD_TAG_BYTES) return -1;
    checkRange(out, offset, ciphertext.length - AEAD_TAG_BYTES);
    return aead.openAt(key, nonce, ad, ciphertext, out, offset);
  }

  function hmac(name: HashName, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
    // OpenSSL's HMAC uses each digest's own block size, 64 bytes for both SHA-256 and BLAKE2s,
    // which is the B of RFC 2104 that Noise (rev. 34 §4.3) asks for.
    const mac = createHmac(opensslHash(name), key);
    for (const part of parts) mac.update(part);
    return asBytes(mac.digest());
  }

  /**
   * RFC 5869 §2.3 HKDF-Expand with `hmac`. Written out rather than `hkdfSync`, which costs half
   * as much again per call for the short outputs Noise asks for (two or three 32-byte blocks,
   * ten times a handshake).
   */
  function expand(name: HashName, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let block: Uint8Array = new Uint8Array(0);
    const counter = new Uint8Array(1);
    for (let offset = 0, i = 1; offset < length; offset += HASH_BYTES, i++) {
      counter[0] = i;
      block = hmac(name, prk, block, info, counter);
      out.set(block.subarray(0, Math.min(HASH_BYTES, length - offset)), offset);
    }
    return out;
  }

  return {
    name: 'native',
    opensInPlace: aead.inPlace,
    randomBytes,
    publicKey,
    dh,
    sealInto,
    openInto,
    hmac,

    generateKeyPair(): KeyPair {
      const privateKey = randomBytes(X25519_KEY_BYTES);
      return { privateKey, publicKey: publicKey(privateKey) };
    },

    seal(key, nonce, ad, plaintext) {
      checkAead(key, nonce);
      const out = new Uint8Array(plaintext.length + AEAD_TAG_BYTES);
      aead.sealAt(key, nonce, ad, plaintext, out, 0);
      return out;
    },

    open(key, nonce, ad, ciphertext) {
      checkAead(key, nonce);
      return ciphertext.length < AEAD_TAG_BYTES ? null : aead.open(key, nonce, ad, ciphertext);
    },

    hash(name, ...parts) {
      const digest = createHash(opensslHash(name));
      for (const part of parts) digest.update(part);
      return asBytes(digest.digest());
    },

    hkdf(name, salt, ikm, info, length) {
      if (!Number.isSafeInteger(length) || length < 0 || length > MAX_HKDF_BYTES) {
        throw new InvalidParameterError('length', `must be 0 to ${MAX_HKDF_BYTES}, got ${length}`);
      }
      return expand(name, hmac(name, salt, ikm), info, length);
    },
  };
}
