/**
 * The file transfer protocol of `sss send` and `sss receive`, between two hosts in this process
 * on loopback UDP: what arrives, what is verified, and that no partial file is ever left under
 * a final name or behind at all.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { finishTransfer, type LocalFile, sendFiles } from '../../src/cli/file-sender.js';
import { receiveFiles } from '../../src/cli/file-receiver.js';
import {
  encodeRecord,
  FILES_PROTOCOL,
  FILES_SERVICE,
  type FileResult,
} from '../../src/cli/file-transfer.js';
import { StreamIo } from '../../src/cli/stream-io.js';
import { Host } from '../../src/host.js';
import type { Stream } from '../../src/streams/stream.js';

const hosts: Host[] = [];

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.close()));
});

/** A receiving host serving files into a new directory, and a sending host. */
async function setup(options: { force?: boolean } = {}) {
  const receiver = await Host.create({});
  const sender = await Host.create({});
  hosts.push(receiver, sender);
  const out = mkdtempSync(join(tmpdir(), 'sss-rx-'));
  const transfers: Promise<FileResult[]>[] = [];
  receiver.listen(FILES_SERVICE, '', FILES_PROTOCOL, '').newConnection$.subscribe((stream) => {
    const parent = new StreamIo(stream);
    const busy = new Set<string>();
    transfers.push(receiveFiles(parent, { dir: out, force: options.force ?? false, busy }));
  });
  const connect = (): Stream =>
    sender.connect(receiver.eid, FILES_SERVICE, FILES_PROTOCOL, { endpoints: receiver.addresses });
  return { out, transfers, connect };
}

function sourceFiles(contents: Record<string, Uint8Array>): LocalFile[] {
  const dir = mkdtempSync(join(tmpdir(), 'sss-tx-'));
  return Object.entries(contents).map(([name, bytes]) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return { path, name, size: bytes.length };
  });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const text = (s: string) => new TextEncoder().encode(s);

/** Resolves once `predicate` holds, checking every 10 ms for at most `ms`. */
async function until(predicate: () => boolean, ms = 10_000): Promise<void> {
  for (let waited = 0; !predicate(); waited += 10) {
    if (waited >= ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The first record the peer sends on `stream`. */
function firstRecord(stream: Stream): Promise<Uint8Array> {
  return new StreamIo(stream).readRecord(4096).then((record) => {
    if (record === undefined) throw new Error('no record');
    return record;
  });
}

describe('file transfer protocol', () => {
  it('sends files in parallel and each arrives verified under its name, nothing else left', async () => {
    const { out, transfers, connect } = await setup();
    const contents = {
      'big.bin': randomBytes(3 * 1024 * 1024 + 17),
      'empty.txt': new Uint8Array(0),
      'small.txt': text('hello\n'),
    };
    const files = sourceFiles(contents);
    const parent = new StreamIo(connect());
    const results = await sendFiles(parent, files, { parallel: 3 });
    await finishTransfer(parent);
    expect(results).toEqual(
      Object.entries(contents).map(([name, bytes]) => ({
        ok: true,
        name,
        size: bytes.length,
        sha256: sha256(bytes),
      })),
    );
    expect(await transfers[0]).toEqual(results);
    for (const [name, bytes] of Object.entries(contents)) {
      expect(sha256(readFileSync(join(out, name)))).toBe(sha256(bytes));
    }
    expect(readdirSync(out).sort()).toEqual(['big.bin', 'empty.txt', 'small.txt']);
  });

  it('keeps a received file inside the directory whatever name the sender gives', async () => {
    const { out, transfers, connect } = await setup();
    const [file] = sourceFiles({ 'evil.txt': text('x') });
    const parent = new StreamIo(connect());
    const results = await sendFiles(parent, [{ ...file!, name: '../../evil.txt' }], {
      parallel: 1,
    });
    await finishTransfer(parent);
    expect(results[0]).toMatchObject({ ok: true, name: 'evil.txt' });
    expect(await transfers[0]).toHaveLength(1);
    expect(readdirSync(out)).toEqual(['evil.txt']);
  });

  it('refuses a file whose checksum does not match, and leaves nothing', async () => {
    const { out, transfers, connect } = await setup();
    const stream = connect();
    stream.writeRecord(encodeRecord({ files: 1, bytes: 5 }));
    const sub = stream.openSubstream();
    sub.writeRecord(encodeRecord({ name: 'x.txt', size: 5 }));
    sub.writeData(text('hello'));
    sub.writeRecord(encodeRecord({ sha256: sha256(text('jello')) }));
    sub.shutdownWrite();
    stream.shutdownWrite();
    const result = JSON.parse(new TextDecoder().decode(await firstRecord(sub)));
    expect(result).toMatchObject({ ok: false, name: 'x.txt' });
    expect(result.error).toContain('SHA-256');
    expect((await transfers[0])?.[0]).toEqual(result);
    expect(readdirSync(out)).toEqual([]);
  });

  it('tells the sender a file exists, and replaces it only when forced', async () => {
    const first = await setup();
    writeFileSync(join(first.out, 'a.bin'), 'old');
    const files = sourceFiles({ 'a.bin': randomBytes(2 * 1024 * 1024) });
    const parent = new StreamIo(first.connect());
    const [refused] = await sendFiles(parent, files, { parallel: 1 });
    expect(refused).toMatchObject({ ok: false, name: 'a.bin' });
    expect(refused?.ok === false && refused.error).toContain('exists');
    expect(readFileSync(join(first.out, 'a.bin'), 'utf8')).toBe('old');
    expect(readdirSync(first.out)).toEqual(['a.bin']);

    const forced = await setup({ force: true });
    writeFileSync(join(forced.out, 'a.bin'), 'old');
    const again = new StreamIo(forced.connect());
    const [replaced] = await sendFiles(again, files, { parallel: 1 });
    await finishTransfer(again);
    expect(replaced).toMatchObject({ ok: true, name: 'a.bin' });
    // Compared by hash: a deep equality of megabytes is slow.
    expect(sha256(readFileSync(join(forced.out, 'a.bin')))).toBe(
      sha256(readFileSync(files[0]!.path)),
    );
  });

  it('drops the partial file when the sender resets a file mid-way', async () => {
    const { out, transfers, connect } = await setup();
    const stream = connect();
    stream.writeRecord(encodeRecord({ files: 1, bytes: 1 << 20 }));
    const sub = stream.openSubstream();
    sub.writeRecord(encodeRecord({ name: 'cut.bin', size: 1 << 20 }));
    sub.writeData(randomBytes(1 << 19));
    await until(() => readdirSync(out).some((name) => name.endsWith('.sss-partial')));
    sub.reset();
    stream.shutdownWrite();
    const results = await transfers[0];
    expect(results?.[0]).toMatchObject({ ok: false, name: 'cut.bin' });
    expect(results?.[0]?.ok === false && results[0].error).toContain('abandoned');
    expect(readdirSync(out)).toEqual([]);
  });

  it('fails the whole transfer and removes partial files when the sender gives up', async () => {
    const { out, transfers, connect } = await setup();
    const stream = connect();
    stream.writeRecord(encodeRecord({ files: 2, bytes: 2 << 20 }));
    for (const name of ['a.bin', 'b.bin']) {
      const sub = stream.openSubstream();
      sub.writeRecord(encodeRecord({ name, size: 1 << 20 }));
      sub.writeData(randomBytes(1 << 18));
    }
    await until(
      () => readdirSync(out).filter((name) => name.endsWith('.sss-partial')).length === 2,
    );
    stream.reset();
    await expect(transfers[0]).rejects.toThrow('reset by the peer');
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(join(out, 'a.bin'))).toBe(false);
  });
});
