/** A usage error: message on stderr, exit code 2. */
export class UsageError extends Error {}

/** Parses `--name` as an integer of at least `min`. @throws UsageError otherwise. */
export function integer(text: string, name: string, min: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got '${text}'`);
  }
  return value;
}

const BYTE_SUFFIXES: Readonly<Record<string, number>> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};

/**
 * Parses `--name` as a byte count of at least 1, with an optional binary suffix `k`, `M` or `G`
 * (either case), as curl's `--limit-rate` reads it. @throws UsageError otherwise.
 */
export function byteCount(text: string, name: string): number {
  const match = /^(\d+)([kmg]?)$/i.exec(text.trim());
  const [, digits = '', suffix = ''] = match ?? [];
  const value = Number(digits) * (BYTE_SUFFIXES[suffix.toLowerCase()] ?? NaN);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`--${name} must be a byte count such as 65536, 512k or 2M, got '${text}'`);
  }
  return value;
}

/** The value of the required option `--name`. @throws UsageError when it is missing or empty. */
export function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}
