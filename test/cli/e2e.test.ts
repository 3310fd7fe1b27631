/**
 * End to end: real `sss` processes, built from the current sources, talking over 127.0.0.1.
 * Every process is killed after each test, whatever its outcome.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Identity } from '../../src/crypto/identity.js';
import { createNativeSuite } from '../../src/crypto/native-suite.js';
import { type BuiltCli, buildCli, killAll, SssProcess } from './sss-process.js';

let cli: BuiltCli | undefined;
let work: string;

beforeAll(async () => {
  cli = await buildCli();
}, 120_000);

afterAll(() => cli?.remove());

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'sss-e2e-'));
});

afterEach(killAll, 15_000);

/** Starts `sss ...args` in the test's directory. */
function sss(args: readonly string[], input?: Buffer): SssProcess {
  if (cli === undefined) throw new Error('the command was not built');
  return new SssProcess(cli.bin, args, { cwd: work, input });
}

/** Runs `sss ...args` to its end. */
async function run(args: readonly string[], input?: Buffer) {
  const process = sss(args, input);
  const exit = await process.exit();
  return { ...exit, stdout: process.stdoutText, stderr: process.stderr };
}

/** The address a listening process prints first: EID@127.0.0.1:PORT. */
const ADDRESS = /^[a-z2-7]{56}@127\.0\.0\.1:\d+$/;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A UDP port that was free a moment ago, and that nobody listens on. */
async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/** The EID of a host that does not exist. */
function someEid(): string {
  return Identity.generate(createNativeSuite()).eid.toString();
}

function filesIn(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Starts `sss send` of an 8 MB file at 1 MiB/s, and waits for its partial file at the receiver. */
async function slowSend(out: string, address: string): Promise<SssProcess> {
  const source = join(work, 'src');
  mkdirSync(source);
  writeFileSync(join(source, 'big.bin'), randomBytes(8_000_000));
  const sender = sss(['send', join(source, 'big.bin'), address, '--limit-rate', '1M']);
  const started = performance.now();
  while (!filesIn(out).some((name) => name.endsWith('.sss-partial'))) {
    if (performance.now() - started > 15_000) throw new Error(`no partial file: ${sender.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return sender;
}

describe('sss processes on 127.0.0.1', () => {
  it('keygen writes 0600 identities; listen --echo and connect carry bytes there and back', async () => {
    const keyA = await run(['keygen', '--out', 'a.key']);
    expect(keyA.code).toBe(0);
    const eidA = keyA.stdout.trim();
    expect(eidA).toMatch(/^[a-z2-7]{56}$/);
    expect(statSync(join(work, 'a.key')).mode & 0o777).toBe(0o600);
    expect((await run(['keygen', '--out', 'a.key'])).code).toBe(2);
    const keyB = await run(['keygen', '--out', 'b.key', '--json']);
    const eidB = JSON.parse(keyB.stdout).eid as string;
    expect(JSON.parse((await run(['id', '--identity', 'b.key', '--json'])).stdout).eid).toBe(eidB);

    const echo = sss([
      'listen',
      '--identity',
      'a.key',
      '--service',
      'echo',
      '--protocol',
      'e/1',
      '--echo',
    ]);
    const address = await echo.line(ADDRESS);
    expect(address.startsWith(`${eidA}@`)).toBe(true);

    const payload = randomBytes(1024 * 1024 + 3);
    const args = ['connect', address, '--service', 'echo', '--protocol', 'e/1'];
    const client = sss([...args, '--identity', 'b.key'], payload);
    expect(await client.exit()).toEqual({ code: 0, signal: null });
    expect(sha256(client.stdout)).toBe(sha256(payload));
    expect(client.stdout.length).toBe(payload.length);
    expect(client.stderr).toContain(`as ${eidB}`);
    expect(client.stderr).toContain('link up');

    const wrong = await run(['connect', address, '--service', 'nope', '--protocol', 'e/1']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('does not serve nope over e/1');
  });

  it('listen and connect as netcat, over IPv6: each stdin reaches the other stdout', async () => {
    const listener = sss(
      ['listen', '--service', 'nc', '--protocol', 'nc/1', '--bind', '[::1]:0', '--json'],
      Buffer.from('from the listener\n'),
    );
    const { address } = JSON.parse(await listener.line(/^\{/)) as { address: string };
    expect(address).toMatch(/^[a-z2-7]{56}@\[::1\]:\d+$/);
    const input = Buffer.from('from the connector\n');
    const client = await run(['connect', address, '--service', 'nc', '--protocol', 'nc/1'], input);
    expect(client.code).toBe(0);
    expect(client.stdout).toBe('from the listener\n');
    expect(await listener.exit()).toEqual({ code: 0, signal: null });
    expect(listener.stdoutText.split('\n').slice(1).join('\n')).toBe('from the connector\n');
  });

  it('sends three files in parallel to receive --once: all verified, no temporary file left', async () => {
    const out = join(work, 'out');
    mkdirSync(out);
    const receiver = sss(['receive', '--out', out, '--once']);
    const address = await receiver.line(ADDRESS);
    const contents: Record<string, Buffer> = {
      'big.bin': randomBytes(6 * 1024 * 1024 + 11),
      'empty.txt': Buffer.alloc(0),
      'small.txt': Buffer.from('hello, receiver\n'),
    };
    const paths = Object.entries(contents).map(([name, bytes]) => {
      writeFileSync(join(work, name), bytes);
      return join(work, name);
    });
    const sender = await run(['send', ...paths, address, '--json']);
    expect(sender.code).toBe(0);
    const report = JSON.parse(sender.stdout);
    expect(report.ok).toBe(true);
    expect(report.files).toHaveLength(3);
    expect(await receiver.exit()).toEqual({ code: 0, signal: null });
    for (const [name, bytes] of Object.entries(contents)) {
      expect(sha256(readFileSync(join(out, name)))).toBe(sha256(bytes));
      expect(receiver.stdoutText).toContain(`received ${name} (${bytes.length} bytes`);
    }
    expect(filesIn(out)).toEqual(['big.bin', 'empty.txt', 'small.txt']);
  });

  it('a file the disk will not take fails alone: no file, no partial one, and the sender is told why', async () => {
    const out = join(work, 'out');
    mkdirSync(out);
    // Writes past 1 or 2 MiB are refused (EFBIG), as a full disk refuses them (ENOSPC).
    const receiver = new SssProcess((cli as BuiltCli).bin, ['receive', '--out', out, '--once'], {
      cwd: work,
      fileSizeLimit: 2048,
    });
    const address = await receiver.line(ADDRESS);
    writeFileSync(join(work, 'big.bin'), randomBytes(4_000_000));
    writeFileSync(join(work, 'small.txt'), 'fits\n');
    const sender = await run(['send', 'big.bin', 'small.txt', address, '--json']);
    expect(sender.code).toBe(1);
    const report = JSON.parse(sender.stdout) as {
      files: { name: string; ok: boolean; error?: string }[];
    };
    const big = report.files.find((file) => file.name === 'big.bin');
    expect(big?.ok).toBe(false);
    expect(big?.error).toContain('EFBIG');
    expect(report.files.find((file) => file.name === 'small.txt')?.ok).toBe(true);
    expect((await receiver.exit()).code).toBe(1);
    expect(receiver.stdoutText).toContain('failed big.bin:');
    expect(filesIn(out)).toEqual(['small.txt']);
  });

  it('a sender killed mid-transfer leaves no file under the final name, nor a partial one', async () => {
    const out = join(work, 'out');
    mkdirSync(out);
    const receiver = sss(['receive', '--out', out, '--once', '--timeout', '1500']);
    const sender = await slowSend(out, await receiver.line(ADDRESS));
    sender.child.kill('SIGKILL');
    expect((await sender.exit()).signal).toBe('SIGKILL');
    expect((await receiver.exit()).code).toBe(1);
    expect(receiver.stdoutText).toContain('failed big.bin:');
    expect(filesIn(out)).toEqual([]);
  });

  it('a receiver killed with SIGKILL leaves its partial file; the next receiver on the directory removes it', async () => {
    const out = join(work, 'out');
    mkdirSync(out);
    const killed = sss(['receive', '--out', out, '--timeout', '1500']);
    const sender = await slowSend(out, await killed.line(ADDRESS));
    killed.child.kill('SIGKILL');
    expect((await killed.exit()).signal).toBe('SIGKILL');
    sender.child.kill('SIGINT');
    await sender.exit();
    const [left] = filesIn(out);
    expect(left).toMatch(
      new RegExp(`^\\.big\\.bin\\.${killed.child.pid}-[0-9a-f]{12}\\.sss-partial$`),
    );
    const next = sss(['receive', '--out', out]);
    await next.line(ADDRESS);
    expect(next.stderr).toContain(`removed ${left}, left by a receiver that is no longer running`);
    expect(filesIn(out)).toEqual([]);
    next.child.kill('SIGINT');
    await next.exit();
  });

  it('an interrupted sender resets its files, and the receiver drops them at once', async () => {
    const out = join(work, 'out');
    mkdirSync(out);
    const receiver = sss(['receive', '--out', out, '--once', '--timeout', '20000']);
    const sender = await slowSend(out, await receiver.line(ADDRESS));
    sender.child.kill('SIGINT');
    expect((await sender.exit()).code).toBe(1);
    expect(sender.stderr).toContain('interrupted by SIGINT');
    expect((await receiver.exit()).code).toBe(1);
    expect(receiver.stdoutText).toContain('failed big.bin: the sender abandoned it');
    expect(filesIn(out)).toEqual([]);
  });

  it('a malformed EID or a missing file exits 2 before connecting', async () => {
    writeFileSync(join(work, 'f.txt'), 'x');
    const eid = someEid();
    const typo = `${eid.slice(0, 20)}${eid[20] === 'a' ? 'b' : 'a'}${eid.slice(21)}@127.0.0.1:9`;
    const connect = await run(['connect', typo, '--service', 's', '--protocol', 'p']);
    expect(connect.code).toBe(2);
    expect(connect.stderr).toContain('invalid EID: checksum mismatch');
    const send = await run(['send', 'f.txt', 'not-an-eid@127.0.0.1:9']);
    expect(send.code).toBe(2);
    expect(send.stderr).toContain('invalid EID');
    const missing = await run(['send', 'f.txt', 'missing.txt', `${eid}@127.0.0.1:9`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot send missing.txt: no such file');
    expect(missing.stderr).not.toContain('link');
  });

  it('an unreachable peer: the link state on stderr, then a timeout and exit 1', async () => {
    const eid = someEid();
    const peer = `${eid}@127.0.0.1:${await freePort()}`;
    const connect = await run([
      'connect',
      peer,
      '--service',
      's',
      '--protocol',
      'p',
      '--timeout',
      '800',
    ]);
    expect(connect.code).toBe(1);
    expect(connect.stderr).toContain('sss: link down');
    expect(connect.stderr).toContain('no working link to the peer (link down) for 800 ms');
    writeFileSync(join(work, 'f.txt'), 'x');
    const send = await run(['send', 'f.txt', peer, '--timeout', '800']);
    expect(send.code).toBe(1);
    expect(send.stdout).toContain('FAILED f.txt');
    expect(send.stdout).toContain('0 of 1 files verified');
  });
});
