/**
 * The Noise SymmetricState (spec rev. 34 §5.2): the chaining key `ck`, the handshake hash `h`
 * and the CipherState they key.
 *
 * Every operation replaces `ck` and `h` with new arrays instead of writing into them, so a
 * {@link SymmetricSnapshot} is a handful of references and restoring it is exact.
 *
 * @module
 */
import { AEAD_KEY_BYTES, HASH_BYTES, type CryptoSuite, type HashName } from '../suite.js';
import { CipherState } from './cipher-state.js';

const EMPTY = new Uint8Array(0);

/** Saved state of a {@link SymmetricState}, for undoing a message that turned out to be bad. */
export interface SymmetricSnapshot {
  readonly ck: Uint8Array;
  readonly h: Uint8Array;
  readonly cipher: CipherState;
}

/** The two transport keys of Split(): initiator → responder first. */
export type SplitKeys = readonly [
  initiatorToResponder: Uint8Array,
  responderToInitiator: Uint8Array,
];

export class SymmetricState {
  private readonly suite: CryptoSuite;
  private readonly hashName: HashName;
  private ck: Uint8Array;
  private h: Uint8Array;
  private cipher: CipherState;

  /**
   * InitializeSymmetric(protocol_name): `h` is the name itself when it fits in HASHLEN bytes
   * (zero-padded), otherwise its hash; `ck` starts equal to `h`.
   */
  constructor(suite: CryptoSuite, hashName: HashName, protocolName: string) {
    this.suite = suite;
    this.hashName = hashName;
    const name = new TextEncoder().encode(protocolName);
    if (name.length <= HASH_BYTES) {
      this.h = new Uint8Array(HASH_BYTES);
      this.h.set(name);
    } else {
      this.h = suite.hash(hashName, name);
    }
    this.ck = this.h;
    this.cipher = new CipherState(suite);
  }

  /** HKDF of §4.3: RFC 5869 with `ck` as salt and empty info, `count` outputs of HASHLEN. */
  private hkdf(ikm: Uint8Array, count: 2 | 3): Uint8Array[] {
    const okm = this.suite.hkdf(this.hashName, this.ck, ikm, EMPTY, count * HASH_BYTES);
    const outputs: Uint8Array[] = [];
    for (let i = 0; i < count; i++) outputs.push(okm.slice(i * HASH_BYTES, (i + 1) * HASH_BYTES));
    return outputs;
  }

  /** MixKey(input_key_material): a new `ck` and a new cipher key from a DH result. */
  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = this.hkdf(ikm, 2) as [Uint8Array, Uint8Array];
    this.ck = ck;
    this.cipher = new CipherState(this.suite, tempK.subarray(0, AEAD_KEY_BYTES));
  }

  /** MixHash(data): h = HASH(h || data). */
  mixHash(data: Uint8Array): void {
    this.h = this.suite.hash(this.hashName, this.h, data);
  }

  /** MixKeyAndHash(input_key_material), used for `psk` tokens (§9.2). */
  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, tempH, tempK] = this.hkdf(ikm, 3) as [Uint8Array, Uint8Array, Uint8Array];
    this.ck = ck;
    this.mixHash(tempH);
    this.cipher = new CipherState(this.suite, tempK.subarray(0, AEAD_KEY_BYTES));
  }

  /** GetHandshakeHash(): a copy of `h`, for channel binding (§11.2). */
  get handshakeHash(): Uint8Array {
    return this.h.slice();
  }

  /** Whether payloads and static keys are encrypted at this point of the handshake. */
  hasKey(): boolean {
    return this.cipher.hasKey();
  }

  /** EncryptAndHash(plaintext): encrypt with `h` as associated data, then hash the ciphertext. */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /**
   * DecryptAndHash(ciphertext).
   * @throws NoiseError `noise-decrypt-failed`; then nothing has changed.
   */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cipher.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** Split(): the two transport keys, HKDF(ck, empty) (§5.2). */
  split(): SplitKeys {
    const [k1, k2] = this.hkdf(EMPTY, 2) as [Uint8Array, Uint8Array];
    return [k1.slice(0, AEAD_KEY_BYTES), k2.slice(0, AEAD_KEY_BYTES)];
  }

  /** The current state, to {@link SymmetricState.restore} if a message must be undone. */
  snapshot(): SymmetricSnapshot {
    return { ck: this.ck, h: this.h, cipher: this.cipher.clone() };
  }

  /** Puts back a state taken by {@link SymmetricState.snapshot}. */
  restore(snapshot: SymmetricSnapshot): void {
    this.ck = snapshot.ck;
    this.h = snapshot.h;
    this.cipher = snapshot.cipher.clone();
  }
}
