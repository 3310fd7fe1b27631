/**
 * A {@link Stream}'s incoming data as async iterables, of chunks or of whole records. They read
 * only when the loop asks for the next item, so a loop that is slow to ask leaves the data in the
 * stream's receive buffer, whose window closes and blocks the peer.
 */
import { merge, type Observable, Subscription } from 'rxjs';
import { SssError, checkPositive } from '../net/errors.js';
import { StreamClosedError } from './errors.js';
import type { Stream } from './stream.js';

/** Largest record {@link records} assembles by default, bytes. */
export const DEFAULT_MAX_RECORD_SIZE = 1024 * 1024;

/** Options of {@link records}. */
export interface RecordsOptions {
  /** Largest record accepted, bytes; a larger one fails the iteration. Default 1 MiB. */
  readonly maxRecordSize?: number;
}

/** A record from the peer is larger than {@link RecordsOptions.maxRecordSize}. */
export class RecordTooLargeError extends SssError {
  readonly limit: number;

  constructor(limit: number) {
    super('record-too-large', `the peer sent a record larger than ${limit} bytes`);
    this.limit = limit;
  }
}

/**
 * The peer's bytes on `stream`, chunk by chunk as {@link Stream.readData} returns them (never
 * across a record end), until the end of the stream.
 *
 * The iteration throws the stream's typed error from {@link Stream.error$} (a reset by the peer,
 * a service that is not served, a channel that cannot be made), or {@link StreamClosedError} if
 * the stream is collected before its end was read (closed or reset directly on the
 * {@link Stream}). A local reset of the sending direction, as the peer's `STOP` causes, does not
 * end it: the peer may still be sending.
 *
 * Leaving the loop before the end (`break`, `return`, a throw in its body) closes reading with
 * {@link Stream.shutdownRead}: the peer is told to stop sending; writing on the stream goes on.
 * After an error the stream is left as it is.
 * Subscriptions to the stream are taken when iteration starts and released when it ends (a
 * `for await` loop always ends it; an iterator driven by hand must be run out or `return()`ed).
 */
export function chunks(stream: Stream): AsyncGenerator<Uint8Array, void, undefined> {
  return iterate(stream, stream.readyRead$, () => {
    const chunk = stream.readData();
    return chunk.length > 0 ? chunk : undefined;
  });
}

/**
 * The peer's records on `stream`, each whole, until the end of the stream (whose last bytes form
 * a record even without a record end).
 *
 * While the loop waits for a record, the bytes of the record under way are read out of the
 * receive buffer as they come. Left there, a record larger than the window could never complete,
 * and one that fits could wait for ever on a window update that reading whole records does not
 * make due (the peer is granted more only once half a window has been read). Memory is bounded
 * by `maxRecordSize` plus the window; a larger record throws {@link RecordTooLargeError} and
 * closes the stream. Between records, nothing is read until the loop asks for the next one.
 *
 * Errors, early exit and subscriptions are as for {@link chunks}.
 */
export function records(
  stream: Stream,
  options: RecordsOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const limit = checkPositive('maxRecordSize', options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE);
  let parts: Uint8Array[] = [];
  let partSize = 0;
  return iterate(stream, merge(stream.readyRead$, stream.readyReadRecord$), () => {
    const rest = stream.readRecord();
    if (rest === undefined) {
      // No record end is readable, so these bytes all belong to the record under way.
      const part = stream.readData();
      partSize += part.length;
      if (partSize > limit) throw new RecordTooLargeError(limit);
      if (part.length > 0) parts.push(part);
      return undefined;
    }
    if (partSize + rest.length > limit) throw new RecordTooLargeError(limit);
    const record = parts.length === 0 ? rest : concat([...parts, rest], partSize + rest.length);
    parts = [];
    partSize = 0;
    return record;
  });
}

/**
 * Yields what `read` returns until the end of the stream, waiting on `ready$` whenever it
 * returns undefined.
 */
async function* iterate(
  stream: Stream,
  ready$: Observable<unknown>,
  read: () => Uint8Array | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  const signals = new Signals(stream, ready$);
  try {
    for (;;) {
      signals.check();
      if (stream.atEnd) return;
      const item = read();
      if (item !== undefined) yield item;
      else if (!stream.atEnd) await signals.next();
    }
  } finally {
    signals.release();
    // The consumer stopped before the end, not the stream: tell the peer we read no more.
    if (!stream.atEnd && !signals.failed) stream.shutdownRead();
  }
}

/** What an iterator waits for: the next sign of data, or why no more will come. */
class Signals {
  readonly #subscription = new Subscription();
  #failure: Error | undefined;
  #waiter: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(stream: Stream, ready$: Observable<unknown>) {
    this.#subscription.add(
      ready$.subscribe({
        next: () => this.#wake(),
        // The stream completes its observables when collected; before its end was read, that
        // means reading was closed or reset under us, and no more data will come.
        complete: () => {
          if (stream.atEnd) this.#wake();
          else this.#fail(new StreamClosedError('read'));
        },
      }),
    );
    this.#subscription.add(stream.error$.subscribe((error) => this.#fail(error)));
  }

  /** Whether the stream failed: it is left as it is. */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /** Throws the stream's failure, if any; it may have come while the consumer was busy. */
  check(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Settles at the next sign of data, or rejects when the stream fails. */
  next(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  release(): void {
    this.#subscription.unsubscribe();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve();
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  }
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
