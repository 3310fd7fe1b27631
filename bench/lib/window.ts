/** What a {@link MeasureWindow} counted. */
export interface WindowResult {
  /** Bytes that arrived inside the window. */
  readonly bytes: number;
  /** Arrivals (datagrams) inside the window. */
  readonly arrivals: number;
  /** The window's length as measured: from the arrival that opened it to the one that closed it. */
  readonly seconds: number;
  /** `bytes` / `seconds`, in MB (1e6 bytes) per second. */
  readonly MBps: number;
  /** True when the window was cut short because arrivals stopped (see {@link MeasureWindow.close}). */
  readonly truncated: boolean;
}

/**
 * A receiver's measurement window over running totals: it opens at the first arrival after a
 * warm-up that starts with the first arrival of any bytes, and closes at the first arrival
 * `durationMs` after it opened. The caller reports its totals after every arrival; the window
 * covers the arrivals after the opening one up to and including the closing one.
 */
export class MeasureWindow {
  readonly #warmupMs: number;
  readonly #durationMs: number;
  #firstAt: number | undefined;
  #start: { at: number; bytes: number; arrivals: number } | undefined;
  #last = { at: 0, bytes: 0, arrivals: 0 };
  #result: WindowResult | undefined;

  constructor(warmupMs: number, durationMs: number) {
    this.#warmupMs = warmupMs;
    this.#durationMs = durationMs;
  }

  /** When the first bytes arrived (the caller's clock), if they have. */
  get firstAt(): number | undefined {
    return this.#firstAt;
  }

  /** The result once the window has closed. */
  get result(): WindowResult | undefined {
    return this.#result;
  }

  /** Totals after an arrival at `now`. Returns true when this arrival closed the window. */
  observe(now: number, bytes: number, arrivals: number): boolean {
    if (this.#result !== undefined || bytes === 0) return false;
    this.#last = { at: now, bytes, arrivals };
    this.#firstAt ??= now;
    if (this.#start === undefined) {
      if (now >= this.#firstAt + this.#warmupMs) this.#start = { at: now, bytes, arrivals };
      return false;
    }
    if (now < this.#start.at + this.#durationMs) return false;
    this.#result = this.#make(false);
    return true;
  }

  /** Closes the window at the last arrival seen, for when arrivals stopped before it closed. */
  close(): WindowResult {
    this.#result ??= this.#make(true);
    return this.#result;
  }

  #make(truncated: boolean): WindowResult {
    const start = this.#start ?? this.#last;
    const seconds = (this.#last.at - start.at) / 1000;
    const bytes = this.#last.bytes - start.bytes;
    return {
      bytes,
      arrivals: this.#last.arrivals - start.arrivals,
      seconds,
      MBps: seconds > 0 ? bytes / seconds / 1e6 : 0,
      truncated,
    };
  }
}
