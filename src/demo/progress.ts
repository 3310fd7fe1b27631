import type { FetchEvent, FileFetch, FileStatus } from './file-client.js';
import { formatBytes, formatMs, table } from './format.js';

/** Where the demo writes: a terminal gets live progress lines, anything else plain lines. */
export interface DemoOutput {
  write(text: string): void;
  readonly isTTY: boolean;
}

const BAR_WIDTH = 20;
/** A terminal is redrawn at most this often, wall-clock ms: faster is only flicker. */
const REDRAW_MS = 80;
/** Link changes shown on the terminal's link line, the latest ones. */
const LINK_HISTORY = 3;

/**
 * Shows a fetch as it goes. On a terminal: one line per file (priority, size, bar, percentage,
 * outcome) and a link-state line, redrawn in place and kept within 80 columns. Elsewhere: a line when the link state changes, when a file
 * is half received and when it ends, each stamped with the fetch's clock.
 */
export class ProgressView {
  readonly #out: DemoOutput;
  readonly #halfway = new Set<string>();
  #lines = 0;
  #lastDraw = Number.NEGATIVE_INFINITY;

  constructor(out: DemoOutput) {
    this.#out = out;
  }

  /** Bytes arrived. */
  progress(fetch: FileFetch): void {
    if (this.#out.isTTY) {
      if (performance.now() - this.#lastDraw >= REDRAW_MS) this.#draw(fetch);
      return;
    }
    for (const file of fetch.files) {
      const { size } = file;
      if (file.state !== 'receiving' || size === undefined || this.#halfway.has(file.name))
        continue;
      if (file.received * 2 < size) continue;
      this.#halfway.add(file.name);
      this.#line(fetch.elapsedMs, `${file.name}: half received`);
    }
  }

  /** A file ended or the link state changed. */
  event(event: FetchEvent, fetch: FileFetch): void {
    if (this.#out.isTTY) return this.#draw(fetch);
    if (event.type === 'link') return this.#line(event.atMs, `link ${event.state}`);
    const file = event.file;
    const what =
      file.state === 'verified'
        ? `verified (${formatBytes(file.received)}, priority ${file.priority})`
        : `failed: ${file.error ?? 'unknown'}`;
    this.#line(event.atMs, `${file.name}: ${what}`);
  }

  #line(atMs: number, text: string): void {
    this.#out.write(`  [${formatMs(atMs).padStart(9)}] ${text}\n`);
  }

  #draw(fetch: FileFetch): void {
    this.#lastDraw = performance.now();
    const rows = fetch.files.map((file) => fileRow(file));
    const links = fetch.linkChanges
      .slice(-LINK_HISTORY)
      .map((change) => `${change.state} at ${formatMs(change.atMs)}`);
    const lines = [
      ...table(rows, [1, 2, 4]),
      `  link: ${links.join(', ')}${fetch.linkChanges.length > LINK_HISTORY ? ' (latest)' : ''}`,
    ];
    // Back to the first line of the previous drawing, then each line cleared and rewritten.
    const up = this.#lines > 0 ? `\x1b[${this.#lines}A` : '';
    this.#out.write(up + lines.map((line) => `\x1b[2K${line}\n`).join(''));
    this.#lines = lines.length;
  }
}

function fileRow(file: FileStatus): string[] {
  const size = file.size ?? 0;
  const share = size === 0 ? (file.state === 'verified' ? 1 : 0) : file.received / size;
  const filled = Math.round(Math.min(1, share) * BAR_WIDTH);
  const outcome =
    file.state === 'verified'
      ? `verified ${formatMs(file.finishedAtMs ?? 0)}`
      : file.state === 'failed'
        ? `failed: ${file.error ?? 'unknown'}`
        : file.state;
  return [
    file.name,
    `p${file.priority}`,
    file.size === undefined ? '?' : formatBytes(file.size),
    `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`,
    `${Math.floor(Math.min(1, share) * 100)}%`,
    outcome,
  ];
}
