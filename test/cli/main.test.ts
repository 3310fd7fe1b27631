import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((text: string) => out.push(text));
  vi.spyOn(console, 'error').mockImplementation((text: string) => err.push(text));
  return { out, err };
}

describe('sss command', () => {
  afterEach(() => vi.restoreAllMocks());

  it('sss sim --json prints one JSON report of the fetch with the trace hash', async () => {
    const { out } = capture();
    const args = ['sim', '--preset', 'dsl_15', '--seed', '3', '--bytes', '64k', '--json'];
    expect(await main(args)).toBe(0);
    expect(out).toHaveLength(1);
    const report = JSON.parse(out[0] as string);
    expect(report).toMatchObject({ preset: 'dsl_15', seed: 3, bytes: 65536, allVerified: true });
    expect(report.files).toHaveLength(4);
    expect(report.traceHash).toMatch(/^[0-9a-f]{16}$/);
    expect(await main(args)).toBe(0);
    expect(JSON.parse(out[1] as string).traceHash).toBe(report.traceHash);
  });

  it('sss sim --trace writes JSON lines and --plan reads a fault plan', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sss-sim-'));
    const plan = join(dir, 'plan.json');
    const trace = join(dir, 'trace.jsonl');
    writeFileSync(plan, JSON.stringify([{ at: 100, type: 'crash', host: 'client' }]));
    const { out } = capture();
    expect(await main(['sim', '--duration', '500', '--plan', plan, '--trace', trace])).toBe(0);
    const records = readFileSync(trace, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records.some((r) => r.ev === 'dropped' && r.reason === 'host-down')).toBe(true);
    expect(records.some((r) => r.source === 'fault' && r.type === 'crash')).toBe(true);
    expect(records).toContainEqual(
      expect.objectContaining({ source: 'demo', type: 'link', data: expect.anything() }),
    );
    expect(out.join('\n')).toContain('host-down');
    expect(out.join('\n')).toContain('no end within 500 ms');
  });

  it('exits with 2 and a clear message on bad input', async () => {
    const { err } = capture();
    expect(await main(['sim', '--preset', 'dsl_16'])).toBe(2);
    expect(err.join('\n')).toContain('unknown preset "dsl_16"');
    expect(await main(['sim', '--seed', 'x'])).toBe(2);
    expect(await main(['sim', '--bogus'])).toBe(2);
    expect(await main(['sim', '--plan', '/nonexistent/plan.json'])).toBe(2);
    expect(await main(['teleport'])).toBe(2);
    expect(err.join('\n')).toContain("unknown command 'teleport'");
  });

  it('prints help for the command and the sim subcommand', async () => {
    const { out } = capture();
    expect(await main(['--help'])).toBe(0);
    expect(await main(['sim', '--help'])).toBe(0);
    expect(out.join('\n')).toContain('usage: sss sim');
  });
});
