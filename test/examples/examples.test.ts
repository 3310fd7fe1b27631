/**
 * The README's examples run as written: each on loopback UDP (or the simulator) in this process.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chat } from '../../examples/chat.js';
import { fileTransfer } from '../../examples/file-transfer.js';
import { requestResponse } from '../../examples/request-response.js';
import { simulatedUpload } from '../../examples/simulated.js';
import { tour } from '../../examples/tour.js';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sss-example-'));
  dirs.push(dir);
  return dir;
}

describe('examples', () => {
  it('tour: every step of the tour happens as its comment says', async () => {
    const log = await tour();
    expect(log[0]).toMatch(/^server [a-z2-7]{56} at 127\.0\.0\.1$/);
    // The window is 64 KiB from the stream's first byte, some of which were read before.
    const waiting = Number(/window full: (\d+) bytes/.exec(log.join('\n'))?.[1]);
    expect(waiting).toBeGreaterThan(60_000);
    expect(waiting).toBeLessThanOrEqual(64 * 1024);
    // Link states depend on the machine's load (a busy machine can stall the link a moment).
    expect(log).toContain('link up');
    expect(log.slice(1).filter((line) => !line.startsWith('link '))).toEqual([
      'record: bytes, then the end of a record',
      'substream: urgent',
      'datagram: 5000 bytes',
      `window full: ${waiting} bytes wait to be read, the writer waits`,
      'reset by the peer with code 256',
      'service-not-found',
    ]);
  });

  it('request-response: two requests on one stream get their two replies, in order', async () => {
    const links: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => links.push(line));
    expect(await requestResponse()).toEqual(['hello, Ada', 'hello, Grace']);
    expect(links).toContain('link up');
  });

  it('file-transfer: every file arrives whole under its name, and both sides agree on its SHA-256', async () => {
    const from = tempDir();
    const to = tempDir();
    const sizes = { 'big.bin': 3_000_000, 'small.txt': 2_000, 'empty.txt': 0 };
    const files = Object.entries(sizes).map(([name, size], i) => {
      const bytes = Uint8Array.from({ length: size }, (_, k) => (k * 31 + i) & 0xff);
      writeFileSync(join(from, name), bytes);
      return { path: join(from, name), priority: i, bytes };
    });
    const digests = await fileTransfer(files, to);
    expect(readdirSync(to).sort()).toEqual(Object.keys(sizes).sort());
    files.forEach((file, i) => {
      const expected = createHash('sha256').update(file.bytes).digest('hex');
      expect(digests[i]).toBe(expected);
      const written = readFileSync(join(to, Object.keys(sizes)[i] as string));
      expect(Buffer.compare(written, file.bytes)).toBe(0);
    });
  });

  it('chat: each room gets its own messages back, tagged with its name', async () => {
    expect(await chat()).toEqual([
      '[general] hi all',
      '[general] anyone here?',
      '[random] a substream per room',
    ]);
  });

  it('simulated: the upload survives loss and a partition, and replays exactly by seed', async () => {
    const first = await simulatedUpload(7);
    expect(first.received).toBe(200_000);
    expect(first.ms).toBeGreaterThan(2100);
    expect(await simulatedUpload(7)).toEqual(first);
  });
});
