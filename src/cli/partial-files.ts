/**
 * Names of files being received, and the sweep of those a killed receiver left behind. A
 * partial file is named `.NAME.PID-RANDOM.sss-partial`: NAME (cut to 64 characters) says what it
 * will become, PID which process writes it. A receiver removes its own when a transfer fails; one
 * killed outright (SIGKILL, a crash, power loss) cannot, so the next receiver on the directory
 * removes every partial file whose process is gone.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PARTIAL_SUFFIX } from './file-transfer.js';

/** Characters of the file's name kept in its partial name. */
const STEM_CHARS = 64;

/** `.NAME.PID-RANDOM.sss-partial`, capturing PID. */
const PARTIAL_NAME = /^\..*\.(\d+)-[0-9a-f]{12}\.sss-partial$/s;

/** A fresh partial name for `name`, written by this process. */
export function partialName(name: string): string {
  const stem = Array.from(name).slice(0, STEM_CHARS).join('');
  return `.${stem}.${process.pid}-${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`;
}

/**
 * Whether process `pid` may still be running: signal 0 checks without sending anything. A
 * process of another user answers EPERM, and counts as running.
 */
function running(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code !== 'ESRCH';
  }
}

/**
 * Removes the partial files in `dir` whose writing process is gone; returns their names. Files
 * named otherwise, and partial files of running processes, are left alone. A process id the
 * system has since given to another process keeps its file: the sweep errs towards keeping.
 */
export async function sweepStalePartials(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const match = PARTIAL_NAME.exec(name);
    if (match === null || running(Number(match[1]))) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
