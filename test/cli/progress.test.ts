/** The progress bars of `sss send`: their text, and their drawing on a terminal only. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  formatBytes,
  ProgressDisplay,
  type ProgressItem,
  renderProgressLine,
  totalOf,
} from '../../src/cli/progress.js';

const ESC = String.fromCharCode(0x1b);

/** A stand-in for process.stderr that records what is written. */
function terminal(isTTY: boolean, columns = 80) {
  const written: string[] = [];
  const out = { isTTY, columns, write: (text: string) => written.push(text) };
  return { out: out as unknown as NodeJS.WriteStream, written };
}

const item = (name: string, size: number, done = 0): ProgressItem => ({
  name,
  size,
  done,
  state: 'sending',
});

afterEach(() => {
  vi.useRealTimers();
});

describe('progress text', () => {
  it('sizes in binary units with three significant digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.00 KiB');
    expect(formatBytes(8 * 2 ** 20)).toBe('8.00 MiB');
    expect(formatBytes(150.5 * 2 ** 20)).toBe('151 MiB');
    expect(formatBytes(12.34 * 2 ** 30)).toBe('12.3 GiB');
    expect(formatBytes(3 * 2 ** 50)).toBe('3072 TiB');
  });

  it('a line: name, bar filled to the fraction, percent and bytes, never wider than asked', () => {
    const line = renderProgressLine(item('big.bin', 1000, 250), 80);
    expect(line.startsWith('big.bin ')).toBe(true);
    expect(line).toContain('25% 250 B/1000 B');
    const bar = /\[(#*)(-*)\]/.exec(line);
    const filled = bar?.[1]?.length ?? 0;
    const width = filled + (bar?.[2]?.length ?? 0);
    expect(filled).toBe(Math.round(width / 4));
    for (const width of [40, 60, 120]) {
      expect(renderProgressLine(item('x'.repeat(100), 5, 5), width).length).toBeLessThanOrEqual(
        width,
      );
    }
    expect(renderProgressLine(item('a-very-long-file-name-indeed.tar.gz', 1), 80)).toContain(
      'a-very-long-file-name-i~',
    );
    expect(renderProgressLine({ ...item('e', 0), state: 'verified' }, 80)).toContain('verified');
    expect(renderProgressLine({ ...item('f', 10, 3), state: 'failed' }, 80)).toContain('FAILED');
    expect(renderProgressLine(item('empty', 0), 80)).toContain('100%');
  });

  it('a total stands for many files: sums, failed if any failed, verified if all were', () => {
    const items = [item('a', 10, 10), item('b', 30, 5)];
    expect(totalOf(items)).toEqual({ name: '2 files', size: 40, done: 15, state: 'sending' });
    const verified = items.map((i) => ({ ...i, state: 'verified' as const }));
    expect(totalOf(verified).state).toBe('verified');
    expect(totalOf([...verified, { ...items[0], state: 'failed' } as ProgressItem]).state).toBe(
      'failed',
    );
  });
});

describe('ProgressDisplay', () => {
  it('on a terminal: draws at start, redraws in place as bytes go, and draws the end once stopped', () => {
    vi.useFakeTimers();
    const { out, written } = terminal(true, 70);
    const items = [item('a.bin', 100), item('b.bin', 100)];
    const display = new ProgressDisplay(out, items);
    display.start();
    expect(written).toHaveLength(1);
    expect(written[0]).not.toContain('\x1b[2A');
    expect(written[0]?.split('\n').filter(Boolean)).toHaveLength(2);
    (items[0] as ProgressItem).done = 50;
    vi.advanceTimersByTime(200);
    expect(written).toHaveLength(2);
    // Up two lines, each cleared and redrawn.
    expect(written[1]?.startsWith('\x1b[2A\x1b[2Ka.bin')).toBe(true);
    expect(written[1]).toContain('50%');
    (items[0] as ProgressItem).state = 'verified';
    (items[1] as ProgressItem).state = 'failed';
    display.stop();
    expect(written.at(-1)).toContain('verified');
    expect(written.at(-1)).toContain('FAILED');
    const count = written.length;
    vi.advanceTimersByTime(1000);
    expect(written).toHaveLength(count);
    for (const text of written) {
      for (const line of text.split('\n').filter(Boolean)) {
        expect(
          line
            .split(ESC)
            .join('')
            .replace(/\[\d*[AK]/g, '').length,
        ).toBeLessThanOrEqual(69);
      }
    }
  });

  it('more than eight files are drawn as one bar for them all', () => {
    const { out, written } = terminal(true);
    const items = Array.from({ length: 9 }, (_, i) => item(`f${i}`, 10));
    const display = new ProgressDisplay(out, items);
    display.start();
    display.stop();
    expect(written[0]?.split('\n').filter(Boolean)).toEqual([expect.stringContaining('9 files')]);
  });

  it('off a terminal nothing is drawn', () => {
    vi.useFakeTimers();
    const { out, written } = terminal(false);
    const display = new ProgressDisplay(out, [item('a', 1)]);
    display.start();
    vi.advanceTimersByTime(1000);
    display.stop();
    expect(written).toEqual([]);
  });
});
