/**
 * Noise protocol names (Noise spec rev. 34 §8): `Noise_<pattern>_<DH>_<cipher>_<hash>`, e.g.
 * `Noise_IK_25519_ChaChaPoly_SHA256` or `Noise_NNpsk0+psk2_25519_ChaChaPoly_BLAKE2s`.
 *
 * @module
 */
import { InvalidParameterError } from '../../net/errors.js';
import type { HashName } from '../suite.js';
import { handshakePattern, type HandshakePattern } from './patterns.js';

/** A parsed protocol name. Only the primitives of our {@link CryptoSuite} are accepted. */
export interface NoiseProtocol {
  /** The whole name; it is also the first input of the handshake hash (§5.2). */
  readonly name: string;
  /** The fundamental pattern name, e.g. `IK` or `X1K1`. */
  readonly pattern: string;
  /** Pattern modifiers in the order written, e.g. `['psk0', 'psk2']`. */
  readonly modifiers: readonly string[];
  readonly dh: '25519';
  readonly cipher: 'ChaChaPoly';
  readonly hash: HashName;
  /** The pattern with its modifiers applied. */
  readonly handshake: HandshakePattern;
}

/** §8: a protocol name is at most 255 bytes. */
const MAX_NAME_BYTES = 255;

const HASHES: ReadonlySet<string> = new Set<HashName>(['SHA256', 'BLAKE2s']);

function invalid(name: string, why: string): InvalidParameterError {
  return new InvalidParameterError('protocolName', `${JSON.stringify(name)}: ${why}`);
}

/**
 * Splits a pattern name into its fundamental name (upper-case letters and digits) and its
 * modifiers (lower-case first, joined by `+`), as §8 defines them.
 */
function splitPatternName(name: string, text: string): [string, string[]] {
  const match = /^([A-Z][A-Z0-9]*)([a-z][a-z0-9]*(?:\+[a-z][a-z0-9]*)*)?$/.exec(text);
  if (match === null) throw invalid(name, `malformed pattern name ${JSON.stringify(text)}`);
  const modifiers = match[2] === undefined ? [] : match[2].split('+');
  return [match[1] as string, modifiers];
}

/**
 * Parses and checks a Noise protocol name.
 * @throws InvalidParameterError (`protocolName`) when the name is malformed or names a pattern,
 * modifier, DH, cipher or hash this engine does not implement.
 */
export function parseProtocolName(name: string): NoiseProtocol {
  if (name.length > MAX_NAME_BYTES || !/^[\x21-\x7e]*$/.test(name)) {
    throw invalid(name, `must be at most ${MAX_NAME_BYTES} printable ASCII characters`);
  }
  const parts = name.split('_');
  if (parts.length !== 5 || parts[0] !== 'Noise') {
    throw invalid(name, 'expected Noise_<pattern>_<DH>_<cipher>_<hash>');
  }
  const [, patternText, dh, cipher, hash] = parts as [string, string, string, string, string];
  if (dh !== '25519') throw invalid(name, `unsupported DH ${dh}`);
  if (cipher !== 'ChaChaPoly') throw invalid(name, `unsupported cipher ${cipher}`);
  if (!HASHES.has(hash)) throw invalid(name, `unsupported hash ${hash}`);
  const [pattern, modifiers] = splitPatternName(name, patternText);
  return {
    name,
    pattern,
    modifiers,
    dh,
    cipher,
    hash: hash as HashName,
    handshake: handshakePattern(pattern, modifiers),
  };
}
