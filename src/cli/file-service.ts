/** Serving file transfers, for `sss receive` and `sss listen --out`. */
import { stat } from 'node:fs/promises';
import { UsageError } from './args.js';
import { TransferError } from './errors.js';
import { receiveFiles } from './file-receiver.js';
import type { FileResult } from './file-transfer.js';
import { sweepStalePartials } from './partial-files.js';
import type { StreamHandler } from './serve.js';

/**
 * The directory files go into, with the partial files of receivers that were killed removed
 * (each named on stderr). @throws UsageError unless it is an existing directory.
 */
export async function outDirectory(dir: string): Promise<string> {
  const stats = await stat(dir).catch((error: { code?: string }) => {
    throw new UsageError(
      `--out ${dir}: ${error.code === 'ENOENT' ? 'no such directory' : error.code}`,
    );
  });
  if (!stats.isDirectory()) throw new UsageError(`--out ${dir}: not a directory`);
  for (const name of await sweepStalePartials(dir)) {
    console.error(`removed ${name}, left by a receiver that is no longer running`);
  }
  return dir;
}

export interface FileHandlerOptions {
  readonly dir: string;
  readonly force: boolean;
  readonly json: boolean;
}

/** Prints one file's result on stdout. */
function report(result: FileResult, json: boolean): void {
  if (json) console.log(JSON.stringify(result));
  else if (result.ok) {
    console.log(`received ${result.name} (${result.size} bytes, sha256 ${result.sha256})`);
  } else console.log(`failed ${result.name}: ${result.error}`);
}

/**
 * The handler of file transfers, one per stream; target names being written are shared by all,
 * so two transfers never write one file. A transfer with a failed file fails.
 */
export function fileHandler(options: FileHandlerOptions): StreamHandler {
  const busy = new Set<string>();
  return async (io, watch) => {
    watch.watchProgress();
    const results = await receiveFiles(io, {
      dir: options.dir,
      force: options.force,
      busy,
      onFile: (result) => report(result, options.json),
      onProgress: () => watch.progress(),
    });
    const failed = results.filter((result) => !result.ok).length;
    if (failed > 0) throw new TransferError(`${failed} of ${results.length} files failed`);
  };
}
