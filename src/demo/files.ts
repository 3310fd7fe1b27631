import { createHash } from 'node:crypto';
import { InvalidParameterError } from '../net/errors.js';
import { Prng } from '../net/prng.js';

/** A file the demo serves: its name, size and the priority it is fetched at (higher first). */
export interface FileSpec {
  readonly name: string;
  readonly size: number;
  readonly priority: number;
}

/** A served file: its content and that content's SHA-256. */
export interface DemoFile extends FileSpec {
  readonly data: Uint8Array;
  readonly sha256: Uint8Array;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The demo's files. Priorities are deliberately not in size order: the 8 MiB file outranks the
 * 256 KiB one, so a finishing order that follows priority cannot be mistaken for small files
 * simply finishing sooner.
 */
export const DEMO_FILES: readonly FileSpec[] = [
  { name: 'urgent.bin', size: 1 * MiB, priority: 3 },
  { name: 'large.bin', size: 8 * MiB, priority: 2 },
  { name: 'small.bin', size: 256 * KiB, priority: 1 },
  { name: 'background.bin', size: 2 * MiB, priority: 0 },
];

/** The most {@link scaledFiles} makes: the files are held in memory. */
export const MAX_TOTAL_BYTES = 256 * MiB;

/**
 * The demo's four files resized to `totalBytes` in all, in about the same proportions (each at
 * least one byte). @throws InvalidParameterError below 4 bytes or above {@link MAX_TOTAL_BYTES}.
 */
export function scaledFiles(totalBytes: number): FileSpec[] {
  if (
    !Number.isSafeInteger(totalBytes) ||
    totalBytes < DEMO_FILES.length ||
    totalBytes > MAX_TOTAL_BYTES
  ) {
    throw new InvalidParameterError(
      'bytes',
      `must be an integer from ${DEMO_FILES.length} to ${MAX_TOTAL_BYTES}, got ${totalBytes}`,
    );
  }
  const whole = DEMO_FILES.reduce((sum, file) => sum + file.size, 0);
  const sizes = DEMO_FILES.map((file) => Math.max(1, Math.floor((file.size * totalBytes) / whole)));
  // What rounding down left over goes to the largest file, so the sizes add up exactly.
  const largest = sizes.indexOf(Math.max(...sizes));
  sizes[largest] = (sizes[largest] as number) + totalBytes - sizes.reduce((a, b) => a + b, 0);
  return DEMO_FILES.map((file, i) => ({ ...file, size: sizes[i] as number }));
}

/**
 * Makes each file's content from `seed` (one independent PRNG stream per file) and hashes it:
 * the same seed gives the same bytes, so a simulated run replays exactly.
 */
export function makeFiles(specs: readonly FileSpec[], seed: number): DemoFile[] {
  const prng = new Prng(seed);
  return specs.map((spec) => {
    const data = new Uint8Array(spec.size);
    prng.fork().fillBytes(data);
    return { ...spec, data, sha256: sha256(data) };
  });
}

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}
