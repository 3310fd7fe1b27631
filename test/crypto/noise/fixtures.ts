import { createNativeSuite } from '../../../src/crypto/native-suite.js';
import { createNobleSuite } from '../../../src/crypto/noble-suite.js';
import {
  HandshakeState,
  NoiseError,
  type NoiseErrorCode,
  PATTERN_NAMES,
  handshakePattern,
  parseProtocolName,
  type HandshakePattern,
} from '../../../src/crypto/noise/index.js';
import type { CryptoSuite, KeyPair } from '../../../src/crypto/suite.js';
import type { RandomSource } from '../../../src/net/random.js';

/** Both suites must pass the same vectors byte for byte. */
export const SUITES: readonly { name: string; create: (random?: RandomSource) => CryptoSuite }[] = [
  { name: 'native', create: createNativeSuite },
  { name: 'noble', create: createNobleSuite },
];

export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function keyPairOf(suite: CryptoSuite, privateKey: Uint8Array): KeyPair {
  return { privateKey, publicKey: suite.publicKey(privateKey) };
}

/**
 * Every pattern the engine knows, bare and with PSK modifiers at the first and last message and
 * both together, e.g. `XX`, `XXpsk0`, `XXpsk3`, `XXpsk0+psk3`.
 */
export const ALL_PATTERNS: readonly string[] = PATTERN_NAMES.flatMap((name) => {
  const last = `psk${handshakePattern(name).messages.length}`;
  return [name, `${name}psk0`, `${name}${last}`, `${name}psk0+${last}`];
});

export function protocolName(pattern: string, hash: 'SHA256' | 'BLAKE2s' = 'SHA256'): string {
  return `Noise_${pattern}_25519_ChaChaPoly_${hash}`;
}

/** What each handshake message should look like, worked out from the tokens alone (§5.3, §9.2). */
export interface MessageShape {
  /** Length with an empty payload. */
  readonly overhead: number;
  /** Whether the payload is encrypted, so that any change to the message is detected. */
  readonly keyed: boolean;
}

export function messageShapes(pattern: HandshakePattern): MessageShape[] {
  let keyed = false;
  return pattern.messages.map((tokens) => {
    let overhead = 0;
    for (const token of tokens) {
      if (token === 'e') {
        overhead += 32;
        if (pattern.pskCount > 0) keyed = true;
      } else if (token === 's') {
        overhead += keyed ? 48 : 32;
      } else {
        keyed = true;
      }
    }
    return { overhead: overhead + (keyed ? 16 : 0), keyed };
  });
}

export interface Pair {
  readonly initiator: HandshakeState;
  readonly responder: HandshakeState;
  readonly initiatorStatic: KeyPair;
  readonly responderStatic: KeyPair;
}

/** Two parties for `pattern`, each given exactly the keys the pattern pre-shares. */
export function makePair(suite: CryptoSuite, pattern: string, prologue?: Uint8Array): Pair {
  const name = protocolName(pattern);
  const parsed = parseProtocolName(name).handshake;
  const initiatorStatic = suite.generateKeyPair();
  const responderStatic = suite.generateKeyPair();
  const psks = Array.from({ length: parsed.pskCount }, () => suite.randomBytes(32));
  const initiator = new HandshakeState(suite, {
    protocolName: name,
    initiator: true,
    prologue,
    s: initiatorStatic,
    rs: parsed.responderPreMessage.includes('s') ? responderStatic.publicKey : undefined,
    psks,
  });
  const responder = new HandshakeState(suite, {
    protocolName: name,
    initiator: false,
    prologue,
    s: responderStatic,
    rs: parsed.initiatorPreMessage.includes('s') ? initiatorStatic.publicKey : undefined,
    psks,
  });
  return { initiator, responder, initiatorStatic, responderStatic };
}

/** The code of the NoiseError `fn` throws, or undefined when it returns. */
export function noiseCodeOf(fn: () => unknown): NoiseErrorCode | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof NoiseError) return error.code;
    throw error;
  }
  return undefined;
}
