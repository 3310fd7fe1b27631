/**
 * Byte pipes between a {@link Stream} and Node streams (stdin and stdout, a child process), as
 * netcat joins a socket to them, each direction with its backpressure.
 */
import type { Readable, Writable } from 'node:stream';
import { StreamResetError } from '../streams/errors.js';
import type { StreamIo } from './stream-io.js';

/** Bytes a pipe lets go unacknowledged before it waits for the peer, per stream. */
export const SEND_AHEAD_BYTES = 1024 * 1024;

/**
 * Copies `input` to the stream, then half-closes the stream (the peer reads to the end). Without
 * `input`, half-closes at once.
 */
export async function pipeInput(io: StreamIo, input: Readable | undefined): Promise<void> {
  try {
    for await (const chunk of input ?? []) {
      await io.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, SEND_AHEAD_BYTES);
    }
  } catch (error) {
    // The peer stopped reading (STOP): like a pipe whose reader left, this direction is over,
    // and `input` is left (the loop's exit destroyed it). Anything else is a failure.
    if (error instanceof StreamResetError && error.by === 'local' && io.error === undefined) return;
    throw error;
  }
  io.stream.shutdownWrite();
}

/**
 * Copies the peer's bytes to `output` until the peer's end, reading only as fast as `output`
 * takes them (the stream's window then holds the peer back). Ends `output` when `end` is set.
 * @throws the output's error (EPIPE when its reader went away), an error with code
 * `ERR_STREAM_DESTROYED` when it was closed under us, or the stream's error.
 */
export async function pipeOutput(io: StreamIo, output: Writable, end: boolean): Promise<void> {
  let failure: Error | undefined;
  // Kept for good: an error event with no listener would end the process.
  output.on('error', (error: Error) => (failure ??= error));
  for (;;) {
    const chunk = await io.readChunk();
    if (failure !== undefined) throw failure;
    if (chunk === undefined) break;
    if (output.destroyed) throw destroyed();
    if (!output.write(chunk)) await drained(output);
  }
  if (end) output.end();
}

function destroyed(): Error {
  return Object.assign(new Error('the output was closed'), { code: 'ERR_STREAM_DESTROYED' });
}

/**
 * Resolves at `drain`; rejects when `output` fails or closes first (a child process that exited
 * closes its stdin without an error, and no `drain` ever follows).
 */
function drained(output: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      output.off('drain', onDrain);
      output.off('error', settle);
      output.off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onDrain = () => settle();
    const onClose = () => settle(output.errored ?? destroyed());
    output.on('drain', onDrain);
    output.on('error', settle);
    output.on('close', onClose);
  });
}

/** Sends the peer's bytes back to it until its end, then half-closes. */
export async function echo(io: StreamIo): Promise<void> {
  for (;;) {
    const chunk = await io.readChunk();
    if (chunk === undefined) break;
    await io.write(chunk, SEND_AHEAD_BYTES);
  }
  io.stream.shutdownWrite();
}

/**
 * Runs both directions at once and resolves when both have ended and the stream is finished
 * ({@link StreamIo.finished}). The first failure fails the other direction too: `input` is
 * destroyed (a read of stdin would otherwise hold the process) and the stream's waits fail.
 */
export async function runPipes(
  io: StreamIo,
  directions: readonly Promise<void>[],
  input?: Readable,
): Promise<void> {
  try {
    await Promise.all(directions);
    await io.finished();
  } catch (error) {
    input?.destroy();
    io.fail(error as Error);
    throw error;
  }
}

/** stdin to the stream and the stream to stdout, as `sss connect` and `sss listen` do. */
export function runStdio(io: StreamIo): Promise<void> {
  const directions = [pipeInput(io, process.stdin), pipeOutput(io, process.stdout, false)];
  return runPipes(io, directions, process.stdin);
}
