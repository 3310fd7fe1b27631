import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const running = new Set<ChildProcess>();
let reaping = false;

/**
 * Whatever way the parent ends, it takes its children with it. Installed by the first child, so
 * that the children themselves keep the default signal handling (a signal ends them at once, even
 * inside a long synchronous simulation).
 */
function reapOnExit(): void {
  if (reaping) return;
  reaping = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => process.exit(130));
  }
}

/**
 * A child process of the bench: `node ...nodeArgs script ...args`, its stdout read as lines, stderr passed
 * through, its stdin open until {@link BenchChild.endInput}. Every wait is bounded; a child that outlives its budget is killed.
 */
export class BenchChild {
  readonly name: string;
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #exited: Promise<number | null>;
  #notify: (() => void) | undefined;
  #exitCode: number | null | undefined;

  constructor(
    name: string,
    script: string,
    args: readonly string[],
    nodeArgs: readonly string[] = [],
  ) {
    reapOnExit();
    this.name = name;
    this.#child = spawn(process.execPath, [...nodeArgs, script, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    running.add(this.#child);
    const lines = createInterface({ input: this.#child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      this.#lines.push(line);
      this.#notify?.();
    });
    const read = new Promise((resolve) => lines.once('close', resolve));
    const closed = new Promise<number | null>((resolve) => this.#child.once('close', resolve));
    // Exited means both: the process is gone and every line of its stdout has been read.
    this.#exited = Promise.all([closed, read]).then(([code]) => {
      running.delete(this.#child);
      this.#exitCode = code;
      this.#notify?.();
      return code;
    });
  }

  /** The `index`th line of stdout (from 0), once printed. */
  async line(index: number, timeoutMs: number): Promise<string> {
    await this.#until(() => this.#lines.length > index || this.#exitCode !== undefined, timeoutMs);
    const line = this.#lines[index];
    if (line === undefined) throw new Error(`${this.name} exited (${this.#exitCode}) early`);
    return line;
  }

  /** Waits for a clean exit and returns the last line of stdout. */
  async result(timeoutMs: number): Promise<string> {
    await this.#until(() => this.#exitCode !== undefined, timeoutMs);
    const last = this.#lines.at(-1);
    if (this.#exitCode !== 0 || last === undefined) {
      throw new Error(`${this.name} exited with ${this.#exitCode}`);
    }
    return last;
  }

  /** Ends the child's stdin: the bench's signal to a sender that its receiver is done. */
  endInput(): void {
    this.#child.stdin?.end();
  }

  kill(): void {
    if (this.#exitCode === undefined) this.#child.kill('SIGKILL');
  }

  /** Resolves when the child has exited (or at once if it has). */
  get exited(): Promise<number | null> {
    return this.#exited;
  }

  async #until(done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!done()) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.kill();
        throw new Error(`${this.name} timed out after ${timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#notify = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#notify = undefined;
    }
  }
}
