/**
 * Running the built `sss` command as real processes, for the end-to-end tests: the build, a
 * handle on each process (its output as it comes, its exit), and killing whatever is left.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The command built from the current sources, in a directory of its own. */
export interface BuiltCli {
  /** Path of the built `sss.js`. */
  readonly bin: string;
  remove(): void;
}

/**
 * Compiles the package as `npm run build` does (same tsconfig), without type checking (that is
 * `tsc --noEmit`'s job in `npm test`) or declarations, into a fresh directory under dist/: the
 * test runs what the sources say now, and never races a build of dist/src by anyone else.
 */
export async function buildCli(): Promise<BuiltCli> {
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const outDir = mkdtempSync(join(ROOT, 'dist', '.cli-e2e-'));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const args = ['-p', 'tsconfig.build.json', '--noCheck', '--declaration', 'false'];
  await promisify(execFile)(
    process.execPath,
    [tsc, ...args, '--sourceMap', 'false', '--outDir', outDir],
    { cwd: ROOT, timeout: 120_000 },
  );
  return {
    bin: join(outDir, 'src', 'cli', 'sss.js'),
    remove: () => rmSync(outDir, { recursive: true, force: true }),
  };
}

/** How a process ended: its exit code, or the signal that killed it. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const running = new Set<SssProcess>();

/** One `sss` process, its output collected as it comes. */
export class SssProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  #stdout: Buffer[] = [];
  #stderr = '';
  #listeners = new Set<() => void>();

  /**
   * Starts `node bin ...args`; `input`, when given, is written to its stdin, then closed. With
   * `fileSizeLimit` (in the shell's `ulimit -f` blocks of 512 or 1024 bytes) the process may not
   * write files past that size: the system refuses the write (EFBIG; SIGXFSZ is ignored), as a
   * full disk refuses one with ENOSPC.
   */
  constructor(
    bin: string,
    args: readonly string[],
    options: { cwd?: string; input?: Buffer; fileSizeLimit?: number },
  ) {
    const [command, argv] =
      options.fileSizeLimit === undefined
        ? [process.execPath, [bin, ...args]]
        : [
            '/bin/sh',
            [
              '-c',
              `trap '' XFSZ; ulimit -f ${options.fileSizeLimit}; exec "$@"`,
              'sh',
              process.execPath,
              bin,
              ...args,
            ],
          ];
    this.child = spawn(command, argv, {
      cwd: options.cwd,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => this.#heard(() => this.#stdout.push(chunk)));
    this.child.stderr?.on('data', (chunk: Buffer) => this.#heard(() => (this.#stderr += chunk)));
    this.child.stdin?.on('error', () => undefined);
    this.child.stdin?.end(options.input);
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
      });
    });
    running.add(this);
  }

  get stdout(): Buffer {
    return Buffer.concat(this.#stdout);
  }

  get stdoutText(): string {
    return this.stdout.toString('utf8');
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The first line of stdout that matches, once it has been printed. */
  async line(pattern: RegExp, ms = 15_000): Promise<string> {
    let found: string | undefined;
    await this.until(() => {
      found = this.stdoutText.split('\n').find((line) => pattern.test(line));
      return found !== undefined;
    }, ms);
    return found as string;
  }

  /** Resolves once `predicate` holds, checked at each output and exit, within `ms`. */
  until(predicate: () => boolean, ms = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`not within ${ms} ms; stdout: ${this.stdoutText}\nstderr: ${this.stderr}`),
        );
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** How the process ended, within `ms`. */
  async exit(ms = 20_000): Promise<Exit> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new Error(`no exit within ${ms} ms; stdout: ${this.stdoutText}\nstderr: ${this.stderr}`),
        );
      }, ms);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  #heard(record: () => void): void {
    record();
    for (const listener of [...this.#listeners]) listener();
  }
}

/** Kills every process still running (SIGKILL) and waits for each to be gone, within 5 s. */
export async function killAll(): Promise<void> {
  const left = [...running];
  for (const process of left) process.child.kill('SIGKILL');
  await Promise.all(left.map((process) => process.exit(5000)));
}
