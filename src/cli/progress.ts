/**
 * Progress bars of `sss send` on a terminal: one line per file, redrawn in place a few times a
 * second. Off a terminal nothing is drawn; the per-file results say what happened.
 */

/** One file's progress. */
export interface ProgressItem {
  readonly name: string;
  readonly size: number;
  /** Bytes the peer has acknowledged. */
  done: number;
  state: 'waiting' | 'sending' | 'verified' | 'failed';
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `bytes` in binary units with three significant digits: `0 B`, `512 B`, `8.00 MiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${value} ${UNITS[0]}`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** Characters of a line after the bar: ` 100% 1023 MiB/1023 MiB` at most, padded to this. */
const TAIL_WIDTH = 31;
/** Characters of the name column at most. */
const NAME_WIDTH = 24;

/** The text of one item's line, at most `width` characters (at least 40 are assumed). */
export function renderProgressLine(item: ProgressItem, width: number): string {
  const fraction = item.size === 0 ? 1 : Math.min(1, item.done / item.size);
  const status =
    item.state === 'verified'
      ? 'verified'
      : item.state === 'failed'
        ? 'FAILED'
        : `${Math.floor(fraction * 100)}%`;
  const tail = ` ${status.padStart(8)} ${formatBytes(item.done)}/${formatBytes(item.size)}`;
  const barWidth = Math.max(10, width - NAME_WIDTH - TAIL_WIDTH - 3);
  const filled = Math.round(fraction * barWidth);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
  const name = item.name.length > NAME_WIDTH ? `${item.name.slice(0, NAME_WIDTH - 1)}~` : item.name;
  return `${name.padEnd(NAME_WIDTH)} ${bar}${tail}`.slice(0, width);
}

/** How often the bars are redrawn, ms. */
const REDRAW_MS = 200;
/** More files than this are drawn as one bar for them all. */
const MAX_LINES = 8;

/** One item standing for all of `items`. */
export function totalOf(items: readonly ProgressItem[]): ProgressItem {
  const failed = items.some((item) => item.state === 'failed');
  const verified = items.every((item) => item.state === 'verified');
  return {
    name: `${items.length} files`,
    size: items.reduce((sum, item) => sum + item.size, 0),
    done: items.reduce((sum, item) => sum + item.done, 0),
    state: failed ? 'failed' : verified ? 'verified' : 'sending',
  };
}

/** Draws `items` on `out` while running, when `out` is a terminal. */
export class ProgressDisplay {
  readonly #out: NodeJS.WriteStream;
  readonly #items: readonly ProgressItem[];
  #timer: ReturnType<typeof setInterval> | undefined;
  #drawn = false;

  constructor(out: NodeJS.WriteStream, items: readonly ProgressItem[]) {
    this.#out = out;
    this.#items = items;
  }

  start(): void {
    if (!this.#out.isTTY || this.#timer !== undefined) return;
    this.#draw();
    this.#timer = setInterval(() => this.#draw(), REDRAW_MS);
    this.#timer.unref();
  }

  /** Draws the final state and stops. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#draw();
  }

  #draw(): void {
    const width = Math.max(40, (this.#out.columns || 80) - 1);
    // Back to the first line of the previous drawing, then each line cleared and redrawn.
    const shown = this.#items.length > MAX_LINES ? [totalOf(this.#items)] : this.#items;
    const up = this.#drawn ? `\x1b[${shown.length}A` : '';
    const lines = shown.map((item) => `\x1b[2K${renderProgressLine(item, width)}\n`);
    this.#out.write(up + lines.join(''));
    this.#drawn = true;
  }
}
