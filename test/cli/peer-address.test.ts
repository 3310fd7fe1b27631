import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createNativeSuite } from '../../src/crypto/native-suite.js';
import { Identity } from '../../src/crypto/identity.js';
import { UsageError } from '../../src/cli/args.js';
import { main } from '../../src/cli/main.js';
import {
  defaultBindFor,
  formatPeerAddress,
  parseHostPort,
  parsePeerAddress,
} from '../../src/cli/peer-address.js';

const eid = Identity.generate(createNativeSuite()).eid;
const text = eid.toString();

function usageError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('EID@HOST:PORT', () => {
  it('reads IPv4, bracketed IPv6 and host names, and the grouped EID form', () => {
    const v4 = parsePeerAddress(`${text}@127.0.0.1:4433`);
    expect(v4.eid.equals(eid)).toBe(true);
    expect(v4.address).toEqual({ host: '127.0.0.1', port: 4433 });
    expect(parsePeerAddress(`${text}@[::1]:9`).address).toEqual({ host: '::1', port: 9 });
    expect(parsePeerAddress(`${text}@localhost:1`).address).toEqual({ host: 'localhost', port: 1 });
    const grouped = parsePeerAddress(`${eid.toDisplayString()}@10.0.0.2:65535`);
    expect(grouped.eid.equals(eid)).toBe(true);
  });

  it('formats what it parses, with brackets around IPv6', () => {
    const address = { host: '::1', port: 4433 };
    expect(formatPeerAddress(eid, address)).toBe(`${text}@[::1]:4433`);
    expect(parsePeerAddress(formatPeerAddress(eid, address)).address).toEqual(address);
  });

  it('says what is wrong with a malformed peer', () => {
    expect(usageError(() => parsePeerAddress('127.0.0.1:4433'))).toContain('EID@HOST:PORT');
    const typo = `${text.slice(0, 10)}${text[10] === 'a' ? 'b' : 'a'}${text.slice(11)}`;
    expect(usageError(() => parsePeerAddress(`${typo}@127.0.0.1:1`))).toContain('checksum');
    expect(usageError(() => parsePeerAddress(`${text}x@127.0.0.1:1`))).toContain('56');
    expect(usageError(() => parsePeerAddress(`${text}@::1:4433`))).toContain('brackets');
    expect(usageError(() => parsePeerAddress(`${text}@[127.0.0.1]:1`))).toContain('IPv6');
    expect(usageError(() => parsePeerAddress(`${text}@127.0.0.1`))).toContain('HOST:PORT');
    expect(usageError(() => parsePeerAddress(`${text}@127.0.0.1:65536`))).toContain('port');
    expect(usageError(() => parsePeerAddress(`${text}@127.0.0.1:0`))).toContain('port 0');
    expect(usageError(() => parsePeerAddress(`${text}@bad_host:1`))).toContain('not a host');
  });

  it('reads bind addresses, port 0 included', () => {
    expect(parseHostPort('0.0.0.0:0', '--bind')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseHostPort('[::]:443', '--bind')).toEqual({ host: '::', port: 443 });
    expect(usageError(() => parseHostPort('[::1]443', '--bind'))).toContain('[IPV6]:PORT');
  });

  it('binds a dialling host to loopback for a loopback peer, else to the wildcard', () => {
    expect(defaultBindFor({ host: '127.0.0.5', port: 1 })).toEqual({ host: '127.0.0.1', port: 0 });
    expect(defaultBindFor({ host: '::1', port: 1 })).toEqual({ host: '::1', port: 0 });
    expect(defaultBindFor({ host: '192.0.2.7', port: 1 })).toEqual({ host: '0.0.0.0', port: 0 });
    expect(defaultBindFor({ host: '2001:db8::1', port: 1 })).toEqual({ host: '::', port: 0 });
  });
});

describe('bad input to the network commands', () => {
  afterEach(() => vi.restoreAllMocks());

  function capture(): string[] {
    const err: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => err.push(line));
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    return err;
  }

  it('exits 2 with the reason before any socket is opened', async () => {
    const err = capture();
    const bad = `${text.slice(0, -1)}@127.0.0.1:9`;
    expect(await main(['connect', bad, '--service', 's', '--protocol', 'p'])).toBe(2);
    expect(err.join('\n')).toContain('invalid EID');
    expect(await main(['connect', `${text}@127.0.0.1:9`, '--protocol', 'p'])).toBe(2);
    expect(err.join('\n')).toContain('--service is required');
    expect(await main(['send', '/nonexistent/file', `${text}@127.0.0.1:9`])).toBe(2);
    expect(err.join('\n')).toContain('cannot send /nonexistent/file: no such file');
    expect(await main(['send', `${text}@127.0.0.1:9`])).toBe(2);
    expect(
      await main(['listen', '--service', 's', '--protocol', 'p', '--echo', '--out', '.']),
    ).toBe(2);
    expect(err.join('\n')).toContain('one of --echo, --exec, --out');
    expect(await main(['receive', '--out', '/nonexistent/dir'])).toBe(2);
    expect(err.join('\n')).toContain('no such directory');
    expect(await main(['connect', `${text}@127.0.0.1:9`, '--bogus'])).toBe(2);
    const file = fileURLToPath(import.meta.url);
    expect(await main(['send', file, `${text}@127.0.0.1:9`, '--limit-rate', '1T'])).toBe(2);
    expect(err.join('\n')).toContain('--limit-rate must be a byte count');
  });

  it('prints help for every subcommand with exit code 0', async () => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => out.push(line));
    for (const command of ['keygen', 'id', 'listen', 'connect', 'send', 'receive', 'sim']) {
      expect(await main([command, '--help'])).toBe(0);
      expect(out.pop()).toContain(`usage: sss ${command}`);
    }
  });
});
