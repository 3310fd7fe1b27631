/** Pieces every benchmark's report needs: rounding, failed cases, kernel drop counts. */
import { readFileSync } from 'node:fs';

/** `n` to `digits` decimals; `null` for a figure that was not measured. */
export function round(n: number | null | undefined, digits: number): number | null {
  if (n === null || n === undefined || !Number.isFinite(n)) return null;
  const scale = 10 ** digits;
  return Math.round(n * scale) / scale;
}

/** Runs cases, recording why each failed one failed; the JSON shows `null` for its figures. */
export class CaseLog {
  readonly errors: Record<string, string> = {};

  /** Runs one case; a failure is recorded in {@link CaseLog.errors} and yields `null`. */
  async attempt<T>(name: string, run: () => Promise<T>): Promise<T | null> {
    try {
      return await run();
    } catch (error) {
      this.errors[name] = error instanceof Error ? error.message : String(error);
      console.error(`${name}: ${this.errors[name]}`);
      return null;
    }
  }
}

/** The kernel's count of UDP datagrams dropped for a full receive buffer (Linux; else null). */
export function rcvbufErrors(): number | null {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('Udp:'));
    const names = lines[0]?.split(/\s+/) ?? [];
    const counts = lines[1]?.split(/\s+/) ?? [];
    const value = Number(counts[names.indexOf('RcvbufErrors')]);
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}
