/**
 * The ChaCha20-Poly1305 addon (native/aead.c) on its own: built by the install, the bytes of
 * node:crypto, opening in place, wiping what failed to open, and refusing calls that would reach
 * memory they should not. The suite-level known answers and Wycheproof vectors run over it in
 * suites.test.ts.
 */
import { createCipheriv } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aeadAddon, type AeadAddon } from '../../src/crypto/aead-addon.js';
import { createNativeSuite, nativeAeadBackend } from '../../src/crypto/native-suite.js';

const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
const nonce = Uint8Array.from({ length: 12 }, (_, i) => 200 - i);
const ad = Uint8Array.of(1, 2, 3, 4, 5);

function nodeSeal(k: Uint8Array, n: Uint8Array, a: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', k, n, { authTagLength: 16 });
  cipher.setAAD(a, { plaintextLength: plaintext.length });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** The install builds it; a checkout installed with --ignore-scripts fails here, by design. */
function addon(): AeadAddon {
  expect(aeadAddon, 'build/Release/sss_aead.node: run npm ci (or npm rebuild)').toBeDefined();
  return aeadAddon as AeadAddon;
}

describe('the AEAD addon', () => {
  it('is built by the install and chosen by default; node:crypto on request', () => {
    addon();
    expect(nativeAeadBackend()).toBe('addon');
    expect(nativeAeadBackend({ aeadAddon: false })).toBe('node:crypto');
    expect(createNativeSuite().opensInPlace).toBe(true);
    expect(createNativeSuite(undefined, { aeadAddon: false }).opensInPlace).toBe(false);
  });

  it('property: seals exactly the bytes node:crypto does, up to a whole datagram', () => {
    const { seal } = addon();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constant(new Uint8Array(65_511).fill(9))),
        fc.nat({ max: 64 }),
        (k, n, a, plaintext, offset) => {
          const out = new Uint8Array(offset + plaintext.length + 16);
          expect(seal(k, n, a, plaintext, out, offset)).toBe(plaintext.length + 16);
          expect(Buffer.from(out.subarray(offset)).equals(nodeSeal(k, n, a, plaintext))).toBe(true);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('seals and opens in place: output starting at the input itself', () => {
    const { seal, open } = addon();
    const message = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    const buffer = new Uint8Array(8 + message.length + 16);
    buffer.set(message, 8);
    seal(key, nonce, ad, buffer.subarray(8, 8 + message.length), buffer, 8);
    expect(Buffer.from(buffer.subarray(8)).equals(nodeSeal(key, nonce, ad, message))).toBe(true);
    expect(open(key, nonce, ad, buffer.subarray(8), buffer, 8)).toBe(message.length);
    expect(buffer.subarray(8, 8 + message.length)).toEqual(message);
  });

  it('property: a changed byte anywhere fails, and leaves zeros where the plaintext would be', () => {
    const { open } = addon();
    const message = new Uint8Array(2000).fill(0x61);
    const sealed = nodeSeal(key, nonce, ad, message);
    fc.assert(
      fc.property(
        fc.nat({ max: sealed.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, bits) => {
          const buffer = Uint8Array.from(sealed);
          buffer[at] = (buffer[at] as number) ^ bits;
          expect(open(key, nonce, ad, buffer, buffer, 0)).toBe(-1);
          expect(buffer.subarray(0, message.length).every((byte) => byte === 0)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('fails (-1) on a ciphertext shorter than a tag, writing nothing', () => {
    const out = new Uint8Array(4).fill(7);
    expect(addon().open(key, nonce, ad, new Uint8Array(15), out, 0)).toBe(-1);
    expect(out).toEqual(new Uint8Array(4).fill(7));
  });

  it('refuses arguments that would reach outside its buffers, with a typed error', () => {
    const { seal, open } = addon();
    const plaintext = new Uint8Array(100);
    const out = new Uint8Array(200);
    const sealed = nodeSeal(key, nonce, ad, plaintext);
    const notBytes = new DataView(new ArrayBuffer(32)) as unknown as Uint8Array;
    expect(() => seal(notBytes, nonce, ad, plaintext, out, 0)).toThrow(TypeError);
    expect(() => seal(key, nonce, ad, new Uint16Array(4) as never, out, 0)).toThrow(TypeError);
    expect(() => seal(key.subarray(1), nonce, ad, plaintext, out, 0)).toThrow(RangeError);
    expect(() => seal(key, nonce.subarray(1), ad, plaintext, out, 0)).toThrow(RangeError);
    expect(() => seal(key, nonce, ad, plaintext, out, 85)).toThrow(RangeError);
    expect(() => seal(key, nonce, ad, plaintext, out, -1)).toThrow(RangeError);
    expect(() => seal(key, nonce, ad, plaintext, out, 1.5)).toThrow(RangeError);
    expect(() => seal(key, nonce, ad, plaintext, out, 201)).toThrow(RangeError);
    expect(() => open(key, nonce, ad, sealed, out, 101)).toThrow(RangeError);
    const shared = new Uint8Array(300);
    // Overlap that does not start at the input's first byte would read what it wrote.
    expect(() => seal(key, nonce, ad, shared.subarray(10, 110), shared, 20)).toThrow(RangeError);
    expect(() => seal(key, nonce, ad, shared.subarray(20, 120), shared, 10)).toThrow(RangeError);
    expect(() => open(key, nonce, ad, shared.subarray(10, 126), shared, 11)).toThrow(RangeError);
    expect(() => (seal as (...args: unknown[]) => number)(key, nonce, ad)).toThrow(TypeError);
  });

  it('gives each worker thread its own cipher contexts, with the same bytes', async () => {
    addon();
    const path = fileURLToPath(new URL('../../build/Release/sss_aead.node', import.meta.url));
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const addon = require(workerData.path);
       const out = new Uint8Array(workerData.plaintext.length + 16);
       addon.seal(workerData.key, workerData.nonce, workerData.ad, workerData.plaintext, out, 0);
       parentPort.postMessage(out);`,
      { eval: true, workerData: { path, key, nonce, ad, plaintext: Uint8Array.of(1, 2, 3) } },
    );
    const sealed = await new Promise<Uint8Array>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(Buffer.from(sealed).equals(nodeSeal(key, nonce, ad, Uint8Array.of(1, 2, 3)))).toBe(true);
  });
});
