import { SssError } from '../net/errors.js';

/** The peer could not be reached, or stopped answering, for longer than `--timeout`. */
export class PeerTimeoutError extends SssError {
  readonly timeoutMs: number;

  constructor(timeoutMs: number, what: string) {
    super('timeout', `${what} for ${timeoutMs} ms (--timeout): giving up`);
    this.timeoutMs = timeoutMs;
  }
}

/** The command was interrupted by a signal (SIGINT, SIGTERM). */
export class InterruptedError extends SssError {
  readonly signal: string;

  constructor(signal: string) {
    super('interrupted', `interrupted by ${signal}`);
    this.signal = signal;
  }
}

/**
 * A file transfer broke the protocol or failed its checks: a malformed header or result, a size
 * or checksum that does not match.
 */
export class TransferError extends SssError {
  constructor(message: string) {
    super('transfer-failed', message);
  }
}
