/**
 * The cryptographic primitives the transport uses, behind one interface so that the portable
 * (`noble`) and the fast (`native`, node:crypto) implementations are interchangeable and can be
 * checked against each other byte for byte.
 */

/** Hash functions a Noise protocol name may select (`..._SHA256` or `..._BLAKE2s`). */
export type HashName = 'SHA256' | 'BLAKE2s';

/** Length in bytes of every X25519 key and shared secret. */
export const X25519_KEY_BYTES = 32;
/** ChaCha20-Poly1305 key length. */
export const AEAD_KEY_BYTES = 32;
/** ChaCha20-Poly1305 nonce length (RFC 8439 §2.8). */
export const AEAD_NONCE_BYTES = 12;
/** Poly1305 tag length appended to every ciphertext. */
export const AEAD_TAG_BYTES = 16;
/** Output length of both SHA-256 and BLAKE2s-256. */
export const HASH_BYTES = 32;

/** An X25519 key pair. The private key is the clamped-on-use 32-byte scalar of RFC 7748. */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/**
 * ChaCha20-Poly1305 into a caller's buffer: `input` sealed (ciphertext and tag) or opened
 * (plaintext) into `out` at `offset`; the bytes written, or -1 when opening fails.
 */
export type AeadIntoFunction = (
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  input: Uint8Array,
  out: Uint8Array,
  offset: number,
) => number;

export interface CryptoSuite {
  /** `native` or `noble`; shown in benchmarks and diagnostics. */
  readonly name: string;
  /**
   * True when {@link CryptoSuite.openInto} writes straight into `out` with no buffer of its own,
   * so that a caller holding a datagram does best to open it where it lies. Every suite accepts
   * that call; only for these is it cheaper than {@link CryptoSuite.open}.
   */
  readonly opensInPlace: boolean;

  /** A fresh key pair, its private key drawn from the suite's random source. */
  generateKeyPair(): KeyPair;
  /** The public key of `privateKey` (X25519 base-point multiplication, RFC 7748 §6.1). */
  publicKey(privateKey: Uint8Array): Uint8Array;
  /**
   * X25519(privateKey, publicKey).
   * @throws InvalidParameterError when the result is all zeros (a low-order public key), which
   * Noise allows implementations to reject and which we always reject.
   */
  dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;

  /** ChaCha20-Poly1305 encryption (RFC 8439 §2.8): ciphertext followed by the 16-byte tag. */
  seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /**
   * Like {@link CryptoSuite.seal}, writing `plaintext.length + 16` bytes into `out` at `offset`
   * for the per-packet path. `out` must not overlap `plaintext`. Returns the bytes written.
   */
  sealInto(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
    offset: number,
  ): number;
  /** Decrypts and authenticates; `null` when the tag does not verify or the input is too short. */
  open(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    ciphertext: Uint8Array,
  ): Uint8Array | null;
  /**
   * Like {@link CryptoSuite.open}, writing the plaintext into `out` at `offset`. Returns its
   * length, or -1 when authentication fails (then `out` may hold garbage in that range). `out`
   * may start at the first byte of `ciphertext` itself, to open in place; no other overlap.
   */
  openInto(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    ciphertext: Uint8Array,
    out: Uint8Array,
    offset: number,
  ): number;

  /** The hash of the concatenation of `parts`. */
  hash(name: HashName, ...parts: Uint8Array[]): Uint8Array;
  /** HMAC (RFC 2104) over the concatenation of `parts`. */
  hmac(name: HashName, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  /** HKDF (RFC 5869), extract then expand to `length` bytes (at most 255 × 32). */
  hkdf(
    name: HashName,
    salt: Uint8Array,
    ikm: Uint8Array,
    info: Uint8Array,
    length: number,
  ): Uint8Array;

  /** `length` bytes from the suite's random source. */
  randomBytes(length: number): Uint8Array;
}
