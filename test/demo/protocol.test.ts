import { describe, expect, it } from 'vitest';
import { DEMO_FILES, makeFiles, scaledFiles, sha256 } from '../../src/demo/files.js';
import {
  decodeHeader,
  decodePing,
  decodeRequest,
  encodeHeader,
  encodePing,
  encodeRequest,
} from '../../src/demo/protocol.js';
import { InvalidParameterError } from '../../src/net/errors.js';

describe('fetch protocol records', () => {
  it('a request carries the name and a signed priority', () => {
    for (const request of [
      { name: 'large.bin', priority: 2 },
      { name: 'ünïcode-名前', priority: -7 },
      { name: 'x'.repeat(255), priority: 2 ** 31 - 1 },
    ]) {
      expect(decodeRequest(encodeRequest(request))).toEqual(request);
    }
    expect(() => encodeRequest({ name: '', priority: 0 })).toThrow(InvalidParameterError);
    expect(() => encodeRequest({ name: 'x'.repeat(256), priority: 0 })).toThrow(/name/);
    expect(() => encodeRequest({ name: 'a', priority: 2 ** 31 })).toThrow(/priority/);
    expect(() => encodeRequest({ name: 'a', priority: 0.5 })).toThrow(/priority/);
  });

  it('malformed requests, headers and pings decode to undefined', () => {
    const request = encodeRequest({ name: 'a', priority: 1 });
    expect(decodeRequest(request.subarray(0, 5))).toBeUndefined();
    expect(decodeRequest(Uint8Array.of(2, ...request.subarray(1)))).toBeUndefined();
    expect(decodeRequest(Uint8Array.of(1, 0, 0, 0, 1, 0xff))).toBeUndefined();
    expect(decodeHeader(new Uint8Array(0))).toBeUndefined();
    expect(decodeHeader(new Uint8Array(40))).toBeUndefined();
    const tooBig = encodeHeader({ found: true, size: 1, sha256: new Uint8Array(32) });
    tooBig.fill(0xff, 1, 9);
    expect(decodeHeader(tooBig)).toBeUndefined();
    expect(decodePing(Uint8Array.of(0x51, 0, 0, 0, 1))).toBeUndefined();
    expect(decodePing(encodePing(7).subarray(0, 4))).toBeUndefined();
  });

  it('a header says found with size and hash, or not found; pings keep their number', () => {
    const hash = sha256(Uint8Array.of(1, 2, 3));
    expect(decodeHeader(encodeHeader({ found: true, size: 2 ** 40, sha256: hash }))).toEqual({
      found: true,
      size: 2 ** 40,
      sha256: hash,
    });
    expect(decodeHeader(encodeHeader({ found: false }))).toEqual({ found: false });
    expect(decodePing(encodePing(0xfffffffe))).toBe(0xfffffffe);
  });
});

describe('demo files', () => {
  it('contents follow the seed, and each file has its own', () => {
    const specs = scaledFiles(40_000);
    const [a, b] = [makeFiles(specs, 1), makeFiles(specs, 1)];
    expect(a).toEqual(b);
    expect(makeFiles(specs, 2)[0]?.sha256).not.toEqual(a[0]?.sha256);
    expect(a[0]?.data.subarray(0, 16)).not.toEqual(a[1]?.data.subarray(0, 16));
    for (const file of a) expect(file.sha256).toEqual(sha256(file.data));
  });

  it('scaled files add up to the size asked for, in the demo order and priorities', () => {
    for (const total of [4, 5, 1000, 65_536, 11_796_480]) {
      const specs = scaledFiles(total);
      expect(specs.reduce((sum, file) => sum + file.size, 0)).toBe(total);
      expect(specs.every((file) => file.size >= 1)).toBe(true);
      expect(specs.map((file) => [file.name, file.priority])).toEqual(
        DEMO_FILES.map((file) => [file.name, file.priority]),
      );
    }
    expect(scaledFiles(11_796_480)).toEqual(DEMO_FILES);
    expect(() => scaledFiles(3)).toThrow(InvalidParameterError);
    expect(() => scaledFiles(257 * 1024 * 1024)).toThrow(/bytes/);
  });
});
