/**
 * The optional ChaCha20-Poly1305 addon (`native/aead.c`), built at install by
 * `scripts/build-addon.mjs`. It seals and opens into a buffer the caller gives, in place if asked,
 * through the OpenSSL inside Node: no cipher object and no output Buffer per packet. Where it was
 * not built (no compiler at install, `--ignore-scripts`, a bundler), {@link aeadAddon} is
 * undefined and the native suite uses node:crypto.
 *
 * @module
 */
import { createRequire } from 'node:module';

/** The addon's two calls. Both throw TypeError/RangeError for arguments that do not fit. */
export interface AeadAddon {
  /**
   * Writes ciphertext and tag of `plaintext` into `out` at `offset`; returns their length.
   * `out` may start at `plaintext`'s first byte (in place) but must not overlap it otherwise.
   */
  seal(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
    offset: number,
  ): number;
  /**
   * Authenticates and decrypts `ciphertext` (tag last) into `out` at `offset`; the plaintext's
   * length, or -1 when the tag does not verify, and then that range of `out` is zeroed. In place
   * as {@link AeadAddon.seal}.
   */
  open(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    ciphertext: Uint8Array,
    out: Uint8Array,
    offset: number,
  ): number;
}

/** Where node-gyp leaves the addon, from this module in `src/crypto/` or `dist/src/crypto/`. */
const CANDIDATES = ['../../build/Release/sss_aead.node', '../../../build/Release/sss_aead.node'];

function load(): AeadAddon | undefined {
  const require = createRequire(import.meta.url);
  for (const path of CANDIDATES) {
    try {
      return require(path) as AeadAddon;
    } catch (error) {
      // Only "not there" means try the next place; an addon that is there but fails to load
      // (built for another Node ABI, say) is as good as absent, and node:crypto takes over.
      if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') return undefined;
    }
  }
  return undefined;
}

/** The addon, or undefined where it was not built or does not load. */
export const aeadAddon: AeadAddon | undefined = load();
