/**
 * Endpoint identifiers (EIDs). A host's EID is its X25519 public key: knowing a peer's EID is
 * enough to authenticate it (the Noise `IK` handshake proves possession of the matching private
 * key), so EIDs are self-certifying and need no certificate authority.
 *
 * People copy EIDs between terminals, chat messages and configuration files, so the text form
 * carries a checksum that catches typing and copying mistakes before they turn into a
 * connection attempt that silently times out.
 *
 * This module is portable (Node and browsers): it hashes with `@noble/hashes` and needs no
 * `CryptoSuite`.
 *
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { InvalidParameterError, SssError } from '../net/errors.js';
import { X25519_KEY_BYTES } from './suite.js';

/** Bytes of SHA-256 kept as the checksum of the text form. */
const CHECKSUM_BYTES = 3;
/** Key and checksum together: 35 bytes = 280 bits, which base32 spells in exactly 56 characters. */
const ENCODED_BYTES = X25519_KEY_BYTES + CHECKSUM_BYTES;

/** Number of characters of an EID's text form, not counting display separators. */
export const EID_TEXT_LENGTH = (ENCODED_BYTES * 8) / 5;

/** Characters per group in {@link Eid.toDisplayString}; 56 characters make 7 groups of 8. */
const DISPLAY_GROUP = 8;

/**
 * Hashed before the key so that the checksum is specific to EIDs of this version: a 32-byte value
 * checksummed for some other purpose, or a future EID format, does not parse as a v1 EID.
 */
const CHECKSUM_DOMAIN = new TextEncoder().encode('sss-eid-v1');

/** RFC 4648 §6 base32 alphabet, lowercase because EIDs are shown lowercase. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** Table entry for a hyphen or ASCII whitespace, which parsing skips. */
const SEPARATOR = -2;
/** Table entry for a character that is neither base32 nor a separator. */
const INVALID = -1;

/** Decoding table for the ASCII range: the 5-bit value, {@link SEPARATOR} or {@link INVALID}. */
const DECODE: Int8Array = (() => {
  const table = new Int8Array(128).fill(INVALID);
  for (let value = 0; value < ALPHABET.length; value++) {
    const lower = ALPHABET.charCodeAt(value);
    table[lower] = value;
    // Uppercase is accepted because base32 is case-insensitive and people retype EIDs in caps.
    table[ALPHABET.toUpperCase().charCodeAt(value)] = value;
  }
  for (const separator of '- \t\n\r\f\v') table[separator.charCodeAt(0)] = SEPARATOR;
  return table;
})();

/** Why a text is not an EID. */
export type InvalidEidReason = 'length' | 'character' | 'checksum';

/**
 * A text given as an EID is not one. `reason` says which check failed; the message says, for a
 * person, what to look at (which character, how many characters, or that it was mistyped).
 */
export class InvalidEidError extends SssError {
  /**
   * `character`: a character that is neither base32 (`a`–`z`, `2`–`7`, either case) nor a
   * separator (`-` or whitespace); `length`: not 56 base32 characters; `checksum`: well-formed but
   * the checksum does not match, almost always a typing or copying mistake.
   */
  readonly reason: InvalidEidReason;
  /** For `character`: the UTF-16 index, counting from 0, of the offending character in the input. */
  readonly index: number | undefined;

  constructor(reason: InvalidEidReason, message: string, index?: number) {
    super('invalid-eid', `invalid EID: ${message}`);
    this.reason = reason;
    this.index = index;
  }
}

/**
 * The endpoint identifier of a host: its 32-byte X25519 public key.
 *
 * Text form ({@link Eid.toString}): the key followed by a 3-byte checksum, the first 3 bytes of
 * SHA-256(`"sss-eid-v1"` ‖ key), in lowercase RFC 4648 base32 without padding: exactly 56
 * characters. {@link Eid.toDisplayString} groups them as 7 groups of 8 joined by `-`.
 *
 * The checksum catches every change confined to its own characters, and any other change (a
 * substituted, transposed or otherwise altered key character) with probability 1 − 2^-24: one
 * random mistake in 16.7 million goes unnoticed and names a different, almost surely nonexistent
 * host. It is an error check, not a security measure: an attacker can compute checksums.
 *
 * Instances are immutable and frozen; {@link Eid.publicKey} returns a copy.
 *
 * Any 32 bytes are accepted as a key. X25519 ignores the top bit of the last byte, so a key and
 * the same key with that bit flipped name the same point but different EIDs; keys produced by
 * X25519 always have it clear. Low-order keys are not refused here but by `CryptoSuite.dh`
 * during the handshake.
 */
export class Eid {
  readonly #key: Uint8Array;
  readonly #text: string;

  private constructor(key: Uint8Array, text: string) {
    this.#key = key;
    this.#text = text;
    Object.freeze(this);
  }

  /**
   * The EID of an X25519 public key. The key is copied.
   * @throws InvalidParameterError (`publicKey`) unless `key` is a 32-byte Uint8Array.
   */
  static fromPublicKey(key: Uint8Array): Eid {
    if (!(key instanceof Uint8Array)) {
      throw new InvalidParameterError('publicKey', 'must be a Uint8Array');
    }
    if (key.length !== X25519_KEY_BYTES) {
      throw new InvalidParameterError(
        'publicKey',
        `an X25519 public key has ${X25519_KEY_BYTES} bytes, got ${key.length}`,
      );
    }
    const copy = key.slice();
    const encoded = new Uint8Array(ENCODED_BYTES);
    encoded.set(copy);
    encoded.set(checksum(copy), X25519_KEY_BYTES);
    return new Eid(copy, encodeBase32(encoded));
  }

  /**
   * Parses the text form. Accepts either case, and ignores `-` and whitespace wherever they
   * appear, so the grouped {@link Eid.toDisplayString} form and EIDs broken across lines parse.
   * @throws InvalidEidError for anything else, with `reason` `character`, `length` or
   * `checksum` (checked in that order) and a message saying what is wrong.
   * @throws InvalidParameterError (`text`) when `text` is not a string at all.
   */
  static parse(text: string): Eid {
    if (typeof text !== 'string') {
      throw new InvalidParameterError('text', 'an EID must be given as a string');
    }
    const encoded = decodeBase32(text);
    const key = encoded.slice(0, X25519_KEY_BYTES);
    const expected = checksum(key);
    for (let i = 0; i < CHECKSUM_BYTES; i++) {
      if (encoded[X25519_KEY_BYTES + i] !== expected[i]) {
        throw new InvalidEidError(
          'checksum',
          'checksum mismatch: mistyped EID? All 56 characters look valid, but their last ' +
            'characters are a checksum of the others and it does not match; compare it ' +
            'character by character with the original',
        );
      }
    }
    // Re-encoding gives the canonical lowercase text without separators.
    return new Eid(key, encodeBase32(encoded));
  }

  /** The 32-byte X25519 public key, as a fresh copy each time (the EID itself cannot change). */
  get publicKey(): Uint8Array {
    return this.#key.slice();
  }

  /** The canonical text form: 56 lowercase base32 characters. */
  toString(): string {
    return this.#text;
  }

  /** The text form in 7 groups of 8 characters joined by `-`, for people to read and compare. */
  toDisplayString(): string {
    const groups: string[] = [];
    for (let i = 0; i < this.#text.length; i += DISPLAY_GROUP) {
      groups.push(this.#text.slice(i, i + DISPLAY_GROUP));
    }
    return groups.join('-');
  }

  /** Whether `other` is the same key. */
  equals(other: Eid): boolean {
    // The canonical text is a function of the key alone, so comparing it compares the keys.
    return other instanceof Eid && other.#text === this.#text;
  }

  /** The canonical text form, so that EIDs serialize as strings in JSON. */
  toJSON(): string {
    return this.#text;
  }

  /** `Eid(<text>)` in `console.log` and `util.inspect` (the fields are private and not shown). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Eid(${this.#text})`;
  }
}

/** Whether `text` is a string that {@link Eid.parse} accepts. */
export function isEid(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  try {
    Eid.parse(text);
    return true;
  } catch (error) {
    if (error instanceof InvalidEidError) return false;
    throw error;
  }
}

/** The checksum bytes of `key`. */
function checksum(key: Uint8Array): Uint8Array {
  return sha256.create().update(CHECKSUM_DOMAIN).update(key).digest().subarray(0, CHECKSUM_BYTES);
}

/** Base32 of `bytes`, whose bit length must be a multiple of 5 (it is: 280 bits). */
function encodeBase32(bytes: Uint8Array): string {
  let text = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      text += ALPHABET[(buffer >>> bits) & 31];
    }
  }
  return text;
}

/**
 * The 35 bytes spelled by `text`, skipping separators.
 * @throws InvalidEidError `character` or `length`.
 */
function decodeBase32(text: string): Uint8Array {
  const out = new Uint8Array(ENCODED_BYTES);
  let count = 0;
  let buffer = 0;
  let bits = 0;
  let written = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const value = code < 128 ? (DECODE[code] ?? INVALID) : INVALID;
    if (value === SEPARATOR) continue;
    if (value === INVALID) {
      // Non-ASCII whitespace (no-break spaces and the like) arrives with copy and paste.
      if (code >= 128 && /\s/u.test(text.charAt(index))) continue;
      throw characterError(text, index);
    }
    count++;
    // Past 56 characters only the count matters, for the length message.
    if (count > EID_TEXT_LENGTH) continue;
    buffer = ((buffer << 5) | value) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[written++] = (buffer >>> bits) & 0xff;
    }
  }
  if (count !== EID_TEXT_LENGTH) {
    const hint =
      count === 52
        ? ' (52 characters is a bare 32-byte key in base32; an EID adds a checksum)'
        : count === 0
          ? ''
          : count < EID_TEXT_LENGTH
            ? ' (characters missing: truncated or mistyped?)'
            : ' (extra characters: two EIDs run together, or mistyped?)';
    throw new InvalidEidError(
      'length',
      `an EID has ${EID_TEXT_LENGTH} base32 characters (not counting '-' and spaces), ` +
        `this text has ${count}${hint}`,
    );
  }
  return out;
}

/** The error for the invalid character at `index` of `text`, with a hint for common mix-ups. */
function characterError(text: string, index: number): InvalidEidError {
  const codePoint = text.codePointAt(index) ?? 0;
  const char = String.fromCodePoint(codePoint);
  const unicode = `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
  // Printable ASCII is shown as itself; anything else also by code point, since an invisible or
  // look-alike character (zero-width space, Cyrillic 'а') is otherwise impossible to spot.
  const shown =
    codePoint > 0x20 && codePoint < 0x7f ? `'${char}'` : `${JSON.stringify(char)} (${unicode})`;
  const stripped = text.replace(/[\s-]+/gu, '');
  let hint = '';
  if (/^[0-9a-f]{64}$/iu.test(stripped)) {
    hint = '; this looks like a hex key, but EIDs are written in base32 (see Eid.fromPublicKey)';
  } else if (char === '=') {
    hint = '; EIDs have no base32 padding';
  } else if (char === '0' || char === '1' || char === '8' || char === '9') {
    const alike = { '0': "'o'", '1': "'l' or 'i'", '8': "'b'", '9': "'g'" }[char];
    hint = `; base32 has no digits 0, 1, 8 or 9 (did you mean ${alike}?)`;
  }
  return new InvalidEidError(
    'character',
    `${shown} at character ${index + 1} is not a base32 character (a-z, 2-7)${hint}`,
    index,
  );
}
