/**
 * Byte helpers for the Noise engine.
 *
 * @module
 */

/**
 * A copy of `bytes` as a plain Uint8Array. Not `bytes.slice()`: callers may hand us Node Buffers
 * (a UDP datagram is one), and a Buffer's `slice` is a view that would keep aliasing their memory.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** The concatenation of `parts` in a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
