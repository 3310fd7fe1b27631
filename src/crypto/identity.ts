/**
 * A host's long-term X25519 key pair, wrapped so that the private key does not leak by accident
 * into logs, error reports, JSON or debug output.
 *
 * @module
 */
import { InvalidParameterError } from '../net/errors.js';
import { Eid } from './eid.js';
import { X25519_KEY_BYTES } from './suite.js';
import type { CryptoSuite, KeyPair } from './suite.js';

/**
 * A host's identity: an X25519 key pair and the {@link Eid} it is known by.
 *
 * The private key lives in a `#private` field, so it is not an own property: `console.log`,
 * `util.inspect` (even with `showHidden`, `getters` or `customInspect: false`),
 * `JSON.stringify`, `String()`, template strings, `Object.keys`/`entries`, spreading and
 * `structuredClone` all see at most the EID. The only way to the private key is the explicit
 * {@link Identity.keyPair} call, which the handshake makes.
 *
 * JavaScript cannot promise that key bytes are ever wiped from memory; this class only prevents
 * accidental disclosure through the usual output paths.
 */
export class Identity {
  /** The EID, which is the public key. */
  readonly eid: Eid;
  readonly #privateKey: Uint8Array;

  private constructor(eid: Eid, privateKey: Uint8Array) {
    this.eid = eid;
    this.#privateKey = privateKey;
    Object.freeze(this);
  }

  /** A fresh identity, its private key drawn from `suite`'s random source. */
  static generate(suite: CryptoSuite): Identity {
    const pair = suite.generateKeyPair();
    // Copied because the suite may keep (or later overwrite) the arrays it returned.
    return new Identity(Eid.fromPublicKey(pair.publicKey), pair.privateKey.slice());
  }

  /**
   * The identity of an existing private key, e.g. one loaded from a settings file. The key is
   * copied, so the caller may wipe its array afterwards.
   * @throws InvalidParameterError (`privateKey`) unless `privateKey` is a 32-byte Uint8Array.
   */
  static fromPrivateKey(suite: CryptoSuite, privateKey: Uint8Array): Identity {
    if (!(privateKey instanceof Uint8Array)) {
      throw new InvalidParameterError('privateKey', 'must be a Uint8Array');
    }
    if (privateKey.length !== X25519_KEY_BYTES) {
      // Only the length is reported: the bytes are secret.
      throw new InvalidParameterError(
        'privateKey',
        `an X25519 private key has ${X25519_KEY_BYTES} bytes, got ${privateKey.length}`,
      );
    }
    const copy = privateKey.slice();
    return new Identity(Eid.fromPublicKey(suite.publicKey(copy)), copy);
  }

  /** The 32-byte public key (a fresh copy; the same bytes as `eid.publicKey`). */
  get publicKey(): Uint8Array {
    return this.eid.publicKey;
  }

  /**
   * The key pair, private key included, for the Noise handshake. Each call returns fresh copies,
   * so a caller that wipes or changes them does not damage the identity.
   */
  keyPair(): KeyPair {
    return { publicKey: this.eid.publicKey, privateKey: this.#privateKey.slice() };
  }

  /** Whether `other` has the same key pair (two identities with one EID have one private key). */
  equals(other: Identity): boolean {
    return other instanceof Identity && other.eid.equals(this.eid);
  }

  /** `Identity(<eid>)`: safe to log. */
  toString(): string {
    return `Identity(${this.eid.toString()})`;
  }

  /** `{ eid }` only, so that serializing an object that holds an identity exposes no secret. */
  toJSON(): { eid: string } {
    return { eid: this.eid.toString() };
  }

  /** `Identity(<eid>)` in `console.log` and `util.inspect`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
