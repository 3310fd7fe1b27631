/**
 * The Noise CipherState (spec rev. 34 §5.1): a key and a counter nonce, with ChaChaPoly's nonce
 * encoding (§12.3) and the default rekey (§4.2, §11.3).
 *
 * @module
 */
import { InvalidParameterError } from '../../net/errors.js';
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, type CryptoSuite } from '../suite.js';
import { copyBytes } from '../bytes.js';
import { NoiseError } from './errors.js';

/** 2^64 - 1: never used to encrypt a message, reserved for {@link CipherState.rekey} (§5.1). */
export const MAX_NONCE = 0xffff_ffff_ffff_ffffn;

const EMPTY = new Uint8Array(0);
const ZERO_KEY = new Uint8Array(AEAD_KEY_BYTES);

/**
 * Writes ChaChaPoly's 96-bit nonce for counter `n` (§12.3): four zero bytes, then `n` as a
 * 64-bit little-endian integer.
 */
export function encodeNonce(
  n: bigint,
  out: Uint8Array = new Uint8Array(AEAD_NONCE_BYTES),
): Uint8Array {
  new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(4, n, true);
  return out;
}

/** One direction's key and nonce counter. Without a key, encryption is the identity (§5.1). */
export class CipherState {
  private readonly suite: CryptoSuite;
  private k: Uint8Array | undefined;
  private n = 0n;
  /** Reused nonce buffer: zero-filled, so only the counter bytes are ever written. */
  private readonly nonceBytes = new Uint8Array(AEAD_NONCE_BYTES);

  /** @param key a 32-byte key, or none for an empty CipherState. */
  constructor(suite: CryptoSuite, key?: Uint8Array) {
    this.suite = suite;
    this.initializeKey(key);
  }

  /** InitializeKey(key): sets the key (or clears it) and resets the nonce to zero. */
  initializeKey(key: Uint8Array | undefined): void {
    if (key !== undefined && key.length !== AEAD_KEY_BYTES) {
      throw new InvalidParameterError('key', `must be ${AEAD_KEY_BYTES} bytes, got ${key.length}`);
    }
    this.k = key === undefined ? undefined : copyBytes(key);
    this.n = 0n;
  }

  /** HasKey(). */
  hasKey(): boolean {
    return this.k !== undefined;
  }

  /**
   * The raw key, for a transport that sends its own packet numbers as nonces instead of using
   * this object's counter. A copy; undefined when empty.
   */
  get key(): Uint8Array | undefined {
    return this.k?.slice();
  }

  /** The nonce the next encryption or decryption will use. */
  get nonce(): bigint {
    return this.n;
  }

  /** SetNonce(n), e.g. to decrypt out of order (§11.4). */
  setNonce(nonce: bigint): void {
    if (nonce < 0n || nonce > MAX_NONCE) {
      throw new InvalidParameterError('nonce', `must be in [0, 2^64 - 1], got ${nonce}`);
    }
    this.n = nonce;
  }

  /** EncryptWithAd(ad, plaintext): the ciphertext, or a copy of `plaintext` without a key. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.k === undefined) return copyBytes(plaintext);
    const ciphertext = this.suite.seal(this.k, this.currentNonce(), ad, plaintext);
    this.n += 1n;
    return ciphertext;
  }

  /**
   * DecryptWithAd(ad, ciphertext). On failure the nonce is not advanced (§5.1), so a forged
   * message costs the receiver nothing but the attempt.
   * @throws NoiseError `noise-decrypt-failed` when authentication fails.
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.k === undefined) return copyBytes(ciphertext);
    const plaintext = this.suite.open(this.k, this.currentNonce(), ad, ciphertext);
    if (plaintext === null) {
      throw new NoiseError('noise-decrypt-failed', `authentication failed at nonce ${this.n}`);
    }
    this.n += 1n;
    return plaintext;
  }

  /**
   * Rekey() (§11.3) with the default REKEY of §4.2: the new key is the first 32 bytes of
   * ENCRYPT(k, 2^64 - 1, empty, 32 zero bytes). The nonce is unchanged.
   */
  rekey(): void {
    if (this.k === undefined) throw new NoiseError('noise-state', 'rekey without a key');
    const nonce = encodeNonce(MAX_NONCE);
    this.k = this.suite.seal(this.k, nonce, EMPTY, ZERO_KEY).slice(0, AEAD_KEY_BYTES);
  }

  /** An independent copy with the same key and nonce. */
  clone(): CipherState {
    const copy = new CipherState(this.suite, this.k);
    copy.n = this.n;
    return copy;
  }

  /** The nonce bytes for `n`, refusing the reserved value. */
  private currentNonce(): Uint8Array {
    if (this.n === MAX_NONCE) {
      throw new NoiseError(
        'noise-nonce-exhausted',
        'the nonce reached 2^64 - 1; rekey or rehandshake',
      );
    }
    return encodeNonce(this.n, this.nonceBytes);
  }
}
