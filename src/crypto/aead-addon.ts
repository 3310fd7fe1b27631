/**
 * The optional ChaCha20-Poly1305 addon (`native/aead.c`), built at install by
 * `scripts/build-addon.mjs`. It seals and opens into a buffer the caller gives, in place if asked,
 * through the OpenSSL inside Node: no cipher object and no output Buffer per packet. Where it was
 * not built (no compiler at install, `--ignore-scripts`, a bundler), {@link aeadAddon} is
 * undefined and the native suite uses node:crypto.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AeadIntoFunction } from './suite.js';

/** The addon's two calls. Both throw TypeError/RangeError for arguments that do not fit. */
export interface AeadAddon {
  /**
   * Writes ciphertext and tag of `input` into `out` at `offset`; returns their length. `out`
   * may start at `input`'s first byte (in place) but must not overlap it otherwise.
   */
  readonly seal: AeadIntoFunction;
  /**
   * Authenticates and decrypts `input` (tag last) into `out` at `offset`; the plaintext's
   * length, or -1 when the tag does not verify, and then that range of `out` is zeroed. In place
   * as {@link AeadAddon.seal}.
   */
  readonly open: AeadIntoFunction;
}

/** Where node-gyp leaves the addon, under the package's root. */
const ADDON_PATH = ['build', 'Release', 'sss_aead.node'];

/**
 * The addon's file: up from this module (in `src/crypto/`, `dist/src/crypto/` or another build
 * directory) to the first directory with a `package.json`, this package's root.
 */
function addonFile(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, ...ADDON_PATH);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (existsSync(join(dir, 'package.json')) || parent === dir) return undefined;
    dir = parent;
  }
}

function load(): AeadAddon | undefined {
  const file = addonFile();
  if (file === undefined) return undefined;
  try {
    return createRequire(import.meta.url)(file) as AeadAddon;
  } catch {
    // There but not loadable (built for another Node ABI, say): as good as absent, and
    // node:crypto takes over.
    return undefined;
  }
}

/** The addon, or undefined where it was not built or does not load. */
export const aeadAddon: AeadAddon | undefined = load();
