/**
 * The portable {@link CryptoSuite}: pure JavaScript from the audited `@noble` libraries, so it runs
 * unchanged in browsers (the inspector) and anywhere `node:crypto` is missing. On Node the native
 * suite is faster; both must produce the same bytes, which `test/crypto/suites.test.ts` checks.
 *
 * This file must not import any `node:` module.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { hkdf as nobleHkdf } from '@noble/hashes/hkdf.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { CHash } from '@noble/hashes/utils.js';

import { InvalidParameterError } from '../net/errors.js';
import { cryptoRandom, type RandomSource } from '../net/random.js';
import {
  AEAD_TAG_BYTES,
  HASH_BYTES,
  X25519_KEY_BYTES,
  type CryptoSuite,
  type HashName,
  type KeyPair,
} from './suite.js';
import { isAllZero } from './bytes.js';
import { checkAead, checkLength, checkRange } from './suite-checks.js';

/** RFC 5869 §2.3: at most 255 blocks of output. */
const MAX_HKDF_BYTES = 255 * HASH_BYTES;

function hashFunction(name: HashName): CHash {
  switch (name) {
    case 'SHA256':
      return sha256;
    case 'BLAKE2s':
      return blake2s;
    default:
      throw new InvalidParameterError('name', `unknown hash ${String(name)}`);
  }
}

/**
 * A {@link CryptoSuite} over `@noble/curves` (X25519), `@noble/ciphers` (ChaCha20-Poly1305) and
 * `@noble/hashes` (SHA-256, BLAKE2s, HMAC, HKDF).
 *
 * @param random where private keys and {@link CryptoSuite.randomBytes} come from; a seeded
 * source makes key generation replay with a simulation run.
 */
export function createNobleSuite(random: RandomSource = cryptoRandom): CryptoSuite {
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
    return x25519.getPublicKey(privateKey);
  }

  return {
    name: 'noble',
    opensInPlace: false,

    generateKeyPair(): KeyPair {
      const privateKey = randomBytes(X25519_KEY_BYTES);
      return { publicKey: publicKey(privateKey), privateKey };
    },

    publicKey,

    dh(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
      checkLength('privateKey', privateKey, X25519_KEY_BYTES);
      checkLength('publicKey', peerPublicKey, X25519_KEY_BYTES);
      let shared: Uint8Array;
      try {
        // noble refuses the five low-order u-coordinates before running the ladder; with the
        // lengths checked above, that is the only way this call can throw.
        shared = x25519.getSharedSecret(privateKey, peerPublicKey);
      } catch {
        shared = new Uint8Array(X25519_KEY_BYTES);
      }
      if (isAllZero(shared)) {
        throw new InvalidParameterError(
          'publicKey',
          'low-order point: the X25519 shared secret would be all zeros',
        );
      }
      return shared;
    },

    seal(key, nonce, ad, plaintext) {
      checkAead(key, nonce);
      return chacha20poly1305(key, nonce, ad).encrypt(plaintext);
    },

    sealInto(key, nonce, ad, plaintext, out, offset) {
      checkAead(key, nonce);
      const length = plaintext.length + AEAD_TAG_BYTES;
      checkRange(out, offset, length);
      chacha20poly1305(key, nonce, ad).encrypt(plaintext, out.subarray(offset, offset + length));
      return length;
    },

    open(key, nonce, ad, ciphertext) {
      checkAead(key, nonce);
      if (ciphertext.length < AEAD_TAG_BYTES) return null;
      try {
        return chacha20poly1305(key, nonce, ad).decrypt(ciphertext);
      } catch {
        // With key, nonce and length checked, noble throws only for a tag that does not verify.
        return null;
      }
    },

    openInto(key, nonce, ad, ciphertext, out, offset) {
      checkAead(key, nonce);
      if (ciphertext.length < AEAD_TAG_BYTES) return -1;
      const length = ciphertext.length - AEAD_TAG_BYTES;
      checkRange(out, offset, length);
      try {
        chacha20poly1305(key, nonce, ad).decrypt(ciphertext, out.subarray(offset, offset + length));
      } catch {
        return -1;
      }
      return length;
    },

    hash(name, ...parts) {
      const state = hashFunction(name).create();
      for (const part of parts) state.update(part);
      return state.digest();
    },

    hmac(name, key, ...parts) {
      const state = nobleHmac.create(hashFunction(name), key);
      for (const part of parts) state.update(part);
      return state.digest();
    },

    hkdf(name, salt, ikm, info, length) {
      if (!Number.isSafeInteger(length) || length < 0 || length > MAX_HKDF_BYTES) {
        throw new InvalidParameterError(
          'length',
          `must be an integer from 0 to ${MAX_HKDF_BYTES}, got ${length}`,
        );
      }
      const hash = hashFunction(name);
      if (length === 0) return new Uint8Array(0);
      return nobleHkdf(hash, ikm, salt, info, length);
    },

    randomBytes,
  };
}
