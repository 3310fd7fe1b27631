/**
 * Errors of the Noise engine. A handshake or transport message from the network that cannot be
 * accepted raises a {@link NoiseError}; the caller drops the message and the state it was given to
 * is left exactly as it was, so a forged packet cannot derail a handshake in progress.
 *
 * @module
 */
import { SssError } from '../../net/errors.js';

/**
 * Why a Noise operation failed.
 *
 * - `noise-malformed`: the message is too short for its pattern, or longer than 65535 bytes.
 * - `noise-decrypt-failed`: an AEAD tag did not verify (forged, corrupted, or wrong keys).
 * - `noise-bad-key`: a public key gives an all-zero X25519 result (a low-order point).
 * - `noise-unexpected-message`: a message arrived when it is this side's turn to write, or after
 *   the handshake completed.
 * - `noise-state`: the application called a method out of order (write out of turn, split
 *   before completion).
 * - `noise-nonce-exhausted`: a CipherState reached the reserved nonce 2^64-1 (rev. 34 §5.1).
 */
export type NoiseErrorCode =
  | 'noise-malformed'
  | 'noise-decrypt-failed'
  | 'noise-bad-key'
  | 'noise-unexpected-message'
  | 'noise-state'
  | 'noise-nonce-exhausted';

/** A Noise operation failed; `code` says why. */
export class NoiseError extends SssError {
  declare readonly code: NoiseErrorCode;

  constructor(code: NoiseErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
