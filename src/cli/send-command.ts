import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { createNativeSuite } from '../crypto/native-suite.js';
import type { Host } from '../host.js';
import { Abort, abortOnSignals } from './abort.js';
import { byteCount, integer, UsageError } from './args.js';
import { openHost } from './cli-host.js';
import type { Command } from './command.js';
import { finishTransfer, type LocalFile, sendFiles } from './file-sender.js';
import { FILES_PROTOCOL, FILES_SERVICE, type FileResult } from './file-transfer.js';
import { identityFor } from './identity-option.js';
import { bindOption, NETWORK_HELP, NETWORK_OPTIONS, timeoutOption } from './network-options.js';
import {
  defaultBindFor,
  formatPeerAddress,
  type PeerAddress,
  parsePeerAddress,
  resolveAddress,
} from './peer-address.js';
import { PeerWatch } from './peer-watch.js';
import { formatBytes, ProgressDisplay, type ProgressItem } from './progress.js';
import { RateLimiter } from './rate-limit.js';
import { StreamIo } from './stream-io.js';

const DEFAULT_PARALLEL = 4;

const USAGE = `usage: sss send FILE... EID@HOST:PORT [options]

Sends files to 'sss receive' (or 'sss listen --out') at the peer: one stream for the transfer,
one substream per file, several files at once. The receiver checks each file's size and SHA-256
and says whether it verified; this command prints one line per file and a summary, and exits 0
only if every file was verified. On a terminal, stderr shows a progress bar per file.

  --parallel N        files sent at once (default ${DEFAULT_PARALLEL})
  --limit-rate RATE   send at most RATE bytes per second, all files together; k, M and G
                      suffixes are binary (512k, 2M)
  --service S         the service to reach (default ${FILES_SERVICE})
  --protocol P        the protocol (default ${FILES_PROTOCOL})
  --bind ADDR:PORT    the local address (default: as 'sss connect')
  --no-progress       no progress bars
  --json              print the results as one JSON object
${NETWORK_HELP}`;

interface SendSettings {
  readonly peer: PeerAddress;
  readonly files: readonly LocalFile[];
  readonly service: string;
  readonly protocol: string;
  readonly timeoutMs: number;
  readonly parallel: number;
  readonly limiter: RateLimiter | undefined;
  readonly progress: boolean;
}

/**
 * The files named on the command line, each a readable regular file, with distinct names.
 * @throws UsageError otherwise, before anything is sent.
 */
export async function checkFiles(paths: readonly string[]): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  const names = new Set<string>();
  for (const path of paths) {
    const stats = await stat(path).catch((error: { code?: string }) => {
      throw new UsageError(`cannot send ${path}: ${describe(error.code)}`);
    });
    if (!stats.isFile()) throw new UsageError(`cannot send ${path}: not a regular file`);
    await access(path, constants.R_OK).catch((error: { code?: string }) => {
      throw new UsageError(`cannot send ${path}: ${describe(error.code)}`);
    });
    const name = basename(path);
    if (names.has(name))
      throw new UsageError(`two files are named ${name}: the receiver keeps one`);
    names.add(name);
    files.push({ path, name, size: stats.size });
  }
  return files;
}

function describe(code: string | undefined): string {
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? 'unreadable';
}

async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      ...NETWORK_OPTIONS,
      service: { type: 'string', default: FILES_SERVICE },
      protocol: { type: 'string', default: FILES_PROTOCOL },
      parallel: { type: 'string', default: String(DEFAULT_PARALLEL) },
      'limit-rate': { type: 'string' },
      'no-progress': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length < 2) throw new UsageError('give the files to send, then EID@HOST:PORT');
  const parsed = parsePeerAddress(positionals[positionals.length - 1] as string);
  const rate = values['limit-rate'];
  const settings: SendSettings = {
    peer: { eid: parsed.eid, address: await resolveAddress(parsed.address) },
    files: await checkFiles(positionals.slice(0, -1)),
    service: values.service,
    protocol: values.protocol,
    timeoutMs: timeoutOption(values.timeout),
    parallel: integer(values.parallel, 'parallel', 1),
    limiter: rate === undefined ? undefined : new RateLimiter(byteCount(rate, 'limit-rate')),
    progress: !values['no-progress'],
  };
  const bind = await bindOption(values.bind, defaultBindFor(settings.peer.address));
  const suite = createNativeSuite();
  const identity = await identityFor(values.identity, suite);
  const { host, close } = await openHost({ identity, suite, bind, timeoutMs: settings.timeoutMs });
  const started = performance.now();
  let results: FileResult[];
  try {
    results = await transfer(host, settings);
  } finally {
    await close();
  }
  const seconds = (performance.now() - started) / 1000;
  printResults(settings.files, results, seconds, values.json);
  return results.every((result) => result.ok) ? 0 : 1;
}

/** Sends the files and returns the receiver's word on each. */
async function transfer(host: Host, settings: SendSettings): Promise<FileResult[]> {
  const { peer, files } = settings;
  console.error(
    `sss: sending ${files.length} file(s) to ${formatPeerAddress(peer.eid, peer.address)}`,
  );
  const stream = host.connect(peer.eid, settings.service, settings.protocol, {
    endpoints: [peer.address],
  });
  const parent = new StreamIo(stream);
  const abort = new Abort();
  const stopSignals = abortOnSignals(abort);
  const watch = new PeerWatch(stream.linkState$, {
    timeoutMs: settings.timeoutMs,
    onLinkState: (state) => console.error(`sss: link ${state}`),
    onTimeout: (error) => parent.fail(error),
  });
  watch.watchProgress();
  const items: ProgressItem[] = files.map(({ name, size }) => ({
    name,
    size,
    done: 0,
    state: 'waiting',
  }));
  const display = new ProgressDisplay(process.stderr, items);
  if (settings.progress) display.start();
  const sending = sendFiles(parent, files, {
    parallel: settings.parallel,
    limiter: settings.limiter,
    progress: items,
    onProgress: () => watch.progress(),
  });
  try {
    const results = await abort.race(sending);
    display.stop();
    if (parent.error === undefined) {
      // The receiver has said what became of every file: that stands whatever happens now.
      await abort
        .race(finishTransfer(parent))
        .catch((error: Error) =>
          console.error(`sss: warning: the transfer did not close cleanly: ${error.message}`),
        );
    } else stream.reset();
    return results;
  } catch (error) {
    display.stop();
    // Interrupted: each file's substream is reset, so the receiver drops its partial files.
    parent.fail(error as Error);
    await sending;
    stream.reset();
    throw error;
  } finally {
    watch.dispose();
    stopSignals();
    parent.dispose();
  }
}

function printResults(
  files: readonly LocalFile[],
  results: readonly FileResult[],
  seconds: number,
  json: boolean,
): void {
  const verified = results.filter((result) => result.ok);
  const bytes = verified.reduce((sum, result) => sum + (result.ok ? result.size : 0), 0);
  if (json) {
    const ok = verified.length === results.length;
    console.log(JSON.stringify({ ok, files: results, bytes, seconds }));
    return;
  }
  results.forEach((result, index) => {
    const path = files[index]?.path ?? result.name;
    if (result.ok) {
      console.log(`verified ${path} (${result.size} bytes, sha256 ${result.sha256})`);
    } else console.log(`FAILED ${path}: ${result.error}`);
  });
  console.log(
    `${verified.length} of ${results.length} files verified, ` +
      `${formatBytes(bytes)} in ${seconds.toFixed(2)} s`,
  );
}

/** `sss send`: send files. */
export const sendCommand: Command = {
  usage: USAGE,
  run,
};
