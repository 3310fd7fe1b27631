/** Argument checks shared by the suites, so that both reject bad input with the same errors. */
import { InvalidParameterError } from '../net/errors.js';
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES } from './suite.js';

export function checkLength(parameter: string, bytes: Uint8Array, expected: number): void {
  if (bytes.length !== expected) {
    throw new InvalidParameterError(parameter, `must be ${expected} bytes, got ${bytes.length}`);
  }
}

export function checkAead(key: Uint8Array, nonce: Uint8Array): void {
  checkLength('key', key, AEAD_KEY_BYTES);
  checkLength('nonce', nonce, AEAD_NONCE_BYTES);
}

/** Checks that `length` bytes fit in `out` from `offset`. */
export function checkRange(out: Uint8Array, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidParameterError('offset', `must be a non-negative integer, got ${offset}`);
  }
  if (offset + length > out.length) {
    throw new InvalidParameterError(
      'out',
      `${length} bytes at offset ${offset} do not fit in a buffer of ${out.length} bytes`,
    );
  }
}
