/** Number formatting and plain-text tables for the demo's output. */

const KiB = 1024;
const MiB = 1024 * KiB;

/** `8.00 MiB`, `256.0 KiB`, `12 B`. */
export function formatBytes(bytes: number): string {
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(2)} MiB`;
  if (bytes >= KiB) return `${(bytes / KiB).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** `3.68 Mbit/s`. */
export function formatRate(bitsPerSecond: number): string {
  return `${(bitsPerSecond / 1e6).toFixed(2)} Mbit/s`;
}

/** `42.6 ms` below a second, `25.62 s` above. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** `16,380`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Rows as aligned columns, two spaces apart, each line indented by `indent`. Columns listed in
 * `right` are right-aligned (numbers), the others left-aligned.
 */
export function table(
  rows: readonly (readonly string[])[],
  right: readonly number[] = [],
  indent = '  ',
): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  }
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) => {
          const width = widths[i] ?? 0;
          return right.includes(i) ? cell.padStart(width) : cell.padEnd(width);
        })
        .join('  ')
        .trimEnd(),
  );
}
