/**
 * A generic Noise Protocol Framework engine (revision 34) over a {@link CryptoSuite}: any
 * one-way, fundamental or deferred pattern, with `pskN` modifiers, for 25519 / ChaChaPoly /
 * SHA256 or BLAKE2s.
 *
 * @module
 */
export { CipherState, MAX_NONCE, encodeNonce } from './cipher-state.js';
export { NoiseError, type NoiseErrorCode } from './errors.js';
export {
  HandshakeState,
  MAX_MESSAGE_BYTES,
  PSK_BYTES,
  type HandshakeOptions,
  type TransportKeys,
} from './handshake-state.js';
export {
  DEFERRED_PATTERN_NAMES,
  FUNDAMENTAL_PATTERN_NAMES,
  ONE_WAY_PATTERN_NAMES,
  PATTERN_NAMES,
  handshakePattern,
  type HandshakePattern,
  type PreMessageToken,
  type Token,
} from './patterns.js';
export { parseProtocolName, type NoiseProtocol } from './protocol-name.js';
export { SymmetricState, type SplitKeys, type SymmetricSnapshot } from './symmetric-state.js';
export { StaticDhCache } from './static-dh-cache.js';
