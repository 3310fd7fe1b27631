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
