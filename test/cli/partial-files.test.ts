/** The partial files of a receiver, and the sweep of those a killed receiver left behind. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { partialName, sweepStalePartials } from '../../src/cli/partial-files.js';

/** The id of a process that has ended (the system may, rarely, hand it on: then it is kept). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

let dir: string;

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('partial files', () => {
  it('are named after the file and this process, and never alike', () => {
    dir = mkdtempSync(join(tmpdir(), 'sss-partial-'));
    const a = partialName('report.pdf');
    expect(a).toMatch(new RegExp(`^\\.report\\.pdf\\.${process.pid}-[0-9a-f]{12}\\.sss-partial$`));
    expect(partialName('report.pdf')).not.toBe(a);
    expect(partialName('x'.repeat(300)).length).toBeLessThan(100);
  });

  it('the sweep removes those of processes that are gone, and nothing else', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sss-partial-'));
    const gone = `.big.bin.${deadPid()}-0123456789ab.sss-partial`;
    const mine = partialName('mine.bin');
    const others = ['big.bin', '.hidden', `.x.${process.pid}-zz.sss-partial`, 'a.sss-partial'];
    for (const name of [gone, mine, ...others]) writeFileSync(join(dir, name), 'x');
    expect(await sweepStalePartials(dir)).toEqual([gone]);
    expect(readdirSync(dir).sort()).toEqual([mine, ...others].sort());
    expect(await sweepStalePartials(dir)).toEqual([]);
  });
});
