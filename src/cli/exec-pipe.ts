/** `sss listen --exec CMD`: each stream joined to the standard input and output of a command. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeInput, pipeOutput, runPipes } from './stream-pipe.js';
import type { StreamIo } from './stream-io.js';

/**
 * Runs `command` through the shell with the peer's bytes on its stdin and its stdout sent back;
 * its stderr is ours. Resolves once both directions have ended and the command has exited with
 * code 0. The command is killed if the stream fails first.
 * @throws Error when the command exits otherwise, or cannot be started.
 */
export async function runExec(io: StreamIo, command: string): Promise<void> {
  const child = spawn(command, { shell: true, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  // Rejected (the shell could not start) while the pipes are still awaited, it is not unhandled.
  exited.catch(() => undefined);
  try {
    await runPipes(io, [pipeInput(io, child.stdout), toCommand(io, child.stdin)]);
  } catch (error) {
    child.kill('SIGTERM');
    throw error;
  }
  const [code, signal] = await exited;
  if (code !== 0) {
    throw new Error(`'${command}' exited with ${signal === null ? `code ${code}` : signal}`);
  }
}

/**
 * The peer's bytes to the command. A command that stops reading (it exited, or closed its
 * stdin: EPIPE) is not a failure of the stream: we stop reading it too, and the peer is told.
 */
async function toCommand(io: StreamIo, stdin: Writable): Promise<void> {
  try {
    await pipeOutput(io, stdin, true);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'EPIPE' && code !== 'ERR_STREAM_DESTROYED') throw error;
    io.stopReading();
  }
}
