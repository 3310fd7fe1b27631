import { describe, expect, it } from 'vitest';
import { byteCount, UsageError } from '../../src/cli/args.js';
import { TransferError } from '../../src/cli/errors.js';
import {
  decodeHeader,
  decodeManifest,
  decodeResult,
  decodeTrailer,
  encodeRecord,
  PARTIAL_SUFFIX,
  sanitizeFileName,
} from '../../src/cli/file-transfer.js';
import { formatBytes, renderProgressLine, totalOf } from '../../src/cli/progress.js';
import { RateLimiter } from '../../src/cli/rate-limit.js';

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('received file names', () => {
  it('keep only the last path component, so nothing lands outside the directory', () => {
    expect(sanitizeFileName('report.pdf')).toBe('report.pdf');
    expect(sanitizeFileName('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFileName('/etc/shadow')).toBe('shadow');
    expect(sanitizeFileName('C:\\Users\\x\\..\\boot.ini')).toBe('boot.ini');
    expect(sanitizeFileName('a/b/.hidden')).toBe('.hidden');
    expect(sanitizeFileName('tab\there\u0000nul\u007f')).toBe('tab_here_nul_');
    expect(sanitizeFileName('naïve 文件.txt')).toBe('naïve 文件.txt');
  });

  it('are refused when nothing usable is left, too long, or reserved', () => {
    for (const name of [
      '',
      '.',
      '..',
      'dir/',
      'a/..',
      '\\',
      `x${PARTIAL_SUFFIX}`,
      'é'.repeat(128),
    ]) {
      expect(() => sanitizeFileName(name), name).toThrow(TransferError);
    }
    expect(sanitizeFileName('é'.repeat(127))).toHaveLength(127);
  });
});

describe('protocol records', () => {
  it('round-trip through their encoding', () => {
    expect(decodeManifest(encodeRecord({ files: 3, bytes: 10 }))).toEqual({ files: 3, bytes: 10 });
    expect(decodeHeader(encodeRecord({ name: 'a', size: 0 }))).toEqual({ name: 'a', size: 0 });
    const sha256 = 'ab'.repeat(32);
    expect(decodeTrailer(encodeRecord({ sha256 }))).toEqual({ sha256 });
    const ok = { ok: true, name: 'a', size: 1, sha256 } as const;
    expect(decodeResult(encodeRecord(ok))).toEqual(ok);
    const failed = { ok: false, name: 'a', error: 'disk full' } as const;
    expect(decodeResult(encodeRecord(failed))).toEqual(failed);
  });

  it('refuse what does not follow the protocol', () => {
    const bad = [
      () => decodeManifest(new Uint8Array([0xff, 0xfe])),
      () => decodeManifest(json([1, 2])),
      () => decodeManifest(json({ files: -1, bytes: 0 })),
      () => decodeHeader(json({ name: 'a', size: 1.5 })),
      () => decodeHeader(json({ name: 7, size: 1 })),
      () => decodeHeader(json({ name: 'a', size: 2 ** 53 })),
      () => decodeTrailer(json({ sha256: 'AB'.repeat(32) })),
      () => decodeTrailer(json({ sha256: 'ab' })),
      () => decodeResult(json({ ok: true, name: 'a' })),
      () => decodeResult(json({ ok: 'yes', name: 'a', error: 'x' })),
    ];
    for (const decode of bad) expect(decode).toThrow(TransferError);
  });
});

describe('byte counts and progress', () => {
  it('parse binary suffixes and refuse the rest', () => {
    expect(byteCount('65536', 'x')).toBe(65536);
    expect(byteCount('512k', 'x')).toBe(512 * 1024);
    expect(byteCount('2M', 'x')).toBe(2 * 1024 * 1024);
    expect(byteCount('1g', 'x')).toBe(1024 ** 3);
    for (const text of ['0', '-1', '1.5M', '1T', 'M', '']) {
      expect(() => byteCount(text, 'x'), text).toThrow(UsageError);
    }
  });

  it('formats sizes with three significant digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.00 KiB');
    expect(formatBytes(1023 * 1024)).toBe('1023 KiB');
    expect(formatBytes(8_000_000)).toBe('7.63 MiB');
  });

  it('draws a bar per file of a fixed width', () => {
    const half = { name: 'big.bin', size: 1000, done: 500, state: 'sending' as const };
    const line = renderProgressLine(half, 80);
    expect(line).toMatch(/^big\.bin +\[#+-+\] +50% 500 B\/1000 B$/);
    expect(line.length).toBeLessThanOrEqual(80);
    const done = renderProgressLine({ ...half, done: 1000, state: 'verified' }, 80);
    expect(done.indexOf(']')).toBe(line.indexOf(']'));
    expect(done).toContain('verified');
    const empty = renderProgressLine({ name: 'e', size: 0, done: 0, state: 'waiting' }, 60);
    expect(empty).toContain('100%');
    expect(totalOf([half, { ...half, state: 'failed' }])).toMatchObject({
      size: 2000,
      done: 1000,
      state: 'failed',
    });
  });

  it('paces bytes to the rate, allowing a short burst and no credit for idle time', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const clock = { now: () => now, sleep: async (ms: number) => sleeps.push(ms) };
    const limiter = new RateLimiter(1000, clock);
    await limiter.take(40); // 40 ms of budget: within the 50 ms burst
    expect(sleeps).toEqual([]);
    await limiter.take(1000); // due at 1040 ms, now 0: wait until 50 ms before that
    expect(sleeps).toEqual([990]);
    now = 5000; // idle for long: the next bytes are paced from now, not from 1040
    await limiter.take(10);
    await limiter.take(100);
    expect(sleeps).toEqual([990, 60]);
  });
});
