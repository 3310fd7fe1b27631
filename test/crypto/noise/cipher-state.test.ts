import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createNativeSuite } from '../../../src/crypto/native-suite.js';
import {
  CipherState,
  MAX_NONCE,
  SymmetricState,
  encodeNonce,
} from '../../../src/crypto/noise/index.js';
import { parameterOf } from '../../net/fixtures.js';
import { toHex } from './fixtures.js';
import { noiseCodeOf } from './fixtures.js';

const suite = createNativeSuite();
const EMPTY = new Uint8Array(0);

describe('CipherState (§5.1)', () => {
  it('encodes nonces as 4 zero bytes and a 64-bit little-endian counter (§12.3)', () => {
    expect(toHex(encodeNonce(0n))).toBe('000000000000000000000000');
    expect(toHex(encodeNonce(1n))).toBe('000000000100000000000000');
    expect(toHex(encodeNonce(0x0102030405060708n))).toBe('000000000807060504030201');
    expect(toHex(encodeNonce(MAX_NONCE))).toBe('00000000ffffffffffffffff');
  });

  it('without a key, passes data through unchanged', () => {
    const cipher = new CipherState(suite);
    expect(cipher.hasKey()).toBe(false);
    expect(cipher.key).toBeUndefined();
    expect(cipher.encryptWithAd(EMPTY, Uint8Array.of(1, 2))).toEqual(Uint8Array.of(1, 2));
    expect(cipher.decryptWithAd(EMPTY, Uint8Array.of(3))).toEqual(Uint8Array.of(3));
    expect(cipher.nonce).toBe(0n);
  });

  it('encrypts with the counter nonce, in step with a peer', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 40 })), {
          maxLength: 6,
        }),
        (key, messages) => {
          const sender = new CipherState(suite, key);
          const receiver = new CipherState(suite, key);
          messages.forEach(([ad, plaintext], n) => {
            const ciphertext = sender.encryptWithAd(ad, plaintext);
            expect(ciphertext).toEqual(suite.seal(key, encodeNonce(BigInt(n)), ad, plaintext));
            expect(receiver.decryptWithAd(ad, ciphertext)).toEqual(plaintext);
          });
          expect(sender.nonce).toBe(BigInt(messages.length));
          expect(receiver.nonce).toBe(BigInt(messages.length));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('does not advance the nonce when decryption fails', () => {
    const key = suite.randomBytes(32);
    const sender = new CipherState(suite, key);
    const receiver = new CipherState(suite, key);
    const ciphertext = sender.encryptWithAd(EMPTY, Uint8Array.of(7, 7, 7));
    const forged = ciphertext.slice();
    forged[0] = (forged[0] as number) ^ 1;
    expect(noiseCodeOf(() => receiver.decryptWithAd(EMPTY, forged))).toBe('noise-decrypt-failed');
    expect(noiseCodeOf(() => receiver.decryptWithAd(EMPTY, ciphertext.subarray(0, 10)))).toBe(
      'noise-decrypt-failed',
    );
    expect(receiver.nonce).toBe(0n);
    expect(receiver.decryptWithAd(EMPTY, ciphertext)).toEqual(Uint8Array.of(7, 7, 7));
  });

  it('refuses the reserved nonce 2^64 - 1 and allows the one before it', () => {
    const cipher = new CipherState(suite, suite.randomBytes(32));
    cipher.setNonce(MAX_NONCE - 1n);
    cipher.encryptWithAd(EMPTY, EMPTY);
    expect(cipher.nonce).toBe(MAX_NONCE);
    expect(noiseCodeOf(() => cipher.encryptWithAd(EMPTY, EMPTY))).toBe('noise-nonce-exhausted');
    expect(noiseCodeOf(() => cipher.decryptWithAd(EMPTY, new Uint8Array(16)))).toBe(
      'noise-nonce-exhausted',
    );
    expect(parameterOf(() => cipher.setNonce(MAX_NONCE + 1n))).toBe('nonce');
    expect(parameterOf(() => cipher.setNonce(-1n))).toBe('nonce');
  });

  it('setNonce lets a receiver decrypt out of order (§11.4)', () => {
    const key = suite.randomBytes(32);
    const sender = new CipherState(suite, key);
    const sent = [0, 1, 2].map((i) => sender.encryptWithAd(EMPTY, Uint8Array.of(i)));
    const receiver = new CipherState(suite, key);
    receiver.setNonce(2n);
    expect(receiver.decryptWithAd(EMPTY, sent[2] as Uint8Array)).toEqual(Uint8Array.of(2));
    receiver.setNonce(0n);
    expect(receiver.decryptWithAd(EMPTY, sent[0] as Uint8Array)).toEqual(Uint8Array.of(0));
  });

  it('rekeys to the first 32 bytes of ENCRYPT(k, 2^64 - 1, empty, zeros) (§4.2, §11.3)', () => {
    const key = suite.randomBytes(32);
    const a = new CipherState(suite, key);
    const b = new CipherState(suite, key);
    a.encryptWithAd(EMPTY, EMPTY);
    a.rekey();
    expect(a.nonce).toBe(1n);
    const expected = suite.seal(key, encodeNonce(MAX_NONCE), EMPTY, new Uint8Array(32));
    expect(a.key).toEqual(expected.subarray(0, 32));
    b.setNonce(1n);
    b.rekey();
    expect(b.decryptWithAd(EMPTY, a.encryptWithAd(EMPTY, Uint8Array.of(5)))).toEqual(
      Uint8Array.of(5),
    );
    expect(noiseCodeOf(() => new CipherState(suite).rekey())).toBe('noise-state');
  });

  it('keeps its own copy of the key', () => {
    const key = suite.randomBytes(32);
    const cipher = new CipherState(suite, key);
    const copy = key.slice();
    key.fill(0);
    expect(cipher.key).toEqual(copy);
    expect(parameterOf(() => new CipherState(suite, new Uint8Array(16)))).toBe('key');
  });
});

describe('SymmetricState (§5.2)', () => {
  it('starts from the zero-padded name when it fits in 32 bytes, else from its hash', () => {
    const short = 'Noise_NN_25519_ChaChaPoly_SHA256';
    expect(short.length).toBe(32);
    const padded = new Uint8Array(32);
    padded.set(new TextEncoder().encode(short));
    expect(new SymmetricState(suite, 'SHA256', short).handshakeHash).toEqual(padded);

    const long = 'Noise_NNpsk0_25519_ChaChaPoly_SHA256';
    expect(new SymmetricState(suite, 'SHA256', long).handshakeHash).toEqual(
      suite.hash('SHA256', new TextEncoder().encode(long)),
    );
  });

  it('mixHash hashes h with the data; encryption starts after the first mixKey', () => {
    const state = new SymmetricState(suite, 'BLAKE2s', 'Noise_XX_25519_ChaChaPoly_BLAKE2s');
    const h0 = state.handshakeHash;
    state.mixHash(Uint8Array.of(1, 2, 3));
    expect(state.handshakeHash).toEqual(suite.hash('BLAKE2s', h0, Uint8Array.of(1, 2, 3)));
    expect(state.hasKey()).toBe(false);
    expect(state.encryptAndHash(Uint8Array.of(9))).toEqual(Uint8Array.of(9));
    state.mixKey(suite.randomBytes(32));
    expect(state.hasKey()).toBe(true);
    expect(state.encryptAndHash(Uint8Array.of(9)).length).toBe(17);
  });

  it('restores a snapshot exactly', () => {
    const state = new SymmetricState(suite, 'SHA256', 'Noise_IK_25519_ChaChaPoly_SHA256');
    state.mixKey(suite.randomBytes(32));
    const saved = state.snapshot();
    const hash = state.handshakeHash;
    const reference = state.encryptAndHash(Uint8Array.of(1));
    state.restore(saved);
    state.mixKeyAndHash(suite.randomBytes(32));
    state.restore(saved);
    expect(state.handshakeHash).toEqual(hash);
    expect(state.encryptAndHash(Uint8Array.of(1))).toEqual(reference);
  });
});
