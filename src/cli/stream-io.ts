/**
 * Promise-based reading and writing of one {@link Stream}, with its backpressure kept: a read
 * waits for data the peer sent, a write waits while too much is unacknowledged. The first error
 * of the stream, or one given to {@link StreamIo.fail} (a timeout, an interruption), fails every
 * wait from then on, so no caller waits on a stream that is already dead.
 */
import { Subscription } from 'rxjs';
import { StreamClosedError, StreamResetError } from '../streams/errors.js';
import type { Stream } from '../streams/stream.js';
import { TransferError } from './errors.js';

export class StreamIo {
  readonly stream: Stream;
  readonly #subscription = new Subscription();
  #error: Error | undefined;
  /** Our sending direction was reset (we reset, or the peer asked us to stop): reads go on. */
  #writeError: StreamResetError | undefined;
  readonly #dependents = new Set<StreamIo>();
  #parent: StreamIo | undefined;
  #collected = false;
  #waiters: (() => void)[] = [];

  constructor(stream: Stream) {
    this.stream = stream;
    const wake = () => this.#wake();
    // Every observable completes when the stream is collected; one is enough to hear it.
    this.#subscription.add(
      stream.readyRead$.subscribe({
        next: wake,
        complete: () => {
          this.#collected = true;
          wake();
        },
      }),
    );
    this.#subscription.add(stream.readyReadRecord$.subscribe(wake));
    this.#subscription.add(stream.bytesWritten$.subscribe(wake));
    this.#subscription.add(
      stream.error$.subscribe((error) => {
        this.fail(error);
      }),
    );
    this.#subscription.add(
      stream.reset$.subscribe((reset) => {
        if (reset.by !== 'local') return;
        this.#writeError ??= new StreamResetError(reset.errorCode, reset.by, reset.unacknowledged);
        wake();
      }),
    );
    this.#collected = stream.collected;
  }

  /** The error that ended the stream for us, if any. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Whether both directions are finished and the stream is forgotten. */
  get collected(): boolean {
    return this.#collected;
  }

  /**
   * Fails every wait, now and later, with `error` (the first error given is kept), here and in
   * every {@link StreamIo.follow}er.
   */
  fail(error: Error): void {
    this.#error ??= error;
    this.#wake();
    for (const dependent of this.#dependents) dependent.fail(error);
  }

  /** Fails whenever `parent` fails (a substream with its stream); at once if it has failed. */
  follow(parent: StreamIo): void {
    this.#parent = parent;
    parent.#dependents.add(this);
    if (parent.#error !== undefined) this.fail(parent.#error);
  }

  /**
   * The next whole record, or undefined at the end of the stream. A record larger than `limit`
   * bytes is refused before it is complete: the peer is not playing by the protocol.
   */
  async readRecord(limit: number): Promise<Uint8Array | undefined> {
    for (;;) {
      this.#check();
      const record = this.stream.readRecord(limit + 1);
      if (record !== undefined) {
        if (record.length > limit) throw new TransferError(`a record over ${limit} bytes`);
        return record;
      }
      if (this.stream.atEnd) return undefined;
      if (this.stream.bytesAvailable > limit) {
        throw new TransferError(`a record over ${limit} bytes`);
      }
      await this.#next('read');
    }
  }

  /** The next bytes (at most `max`, never past a record end), or undefined at the end. */
  async readChunk(max?: number): Promise<Uint8Array | undefined> {
    for (;;) {
      this.#check();
      const data = this.stream.readData(max);
      if (data.length > 0) return data;
      if (this.stream.atEnd) return undefined;
      await this.#next('read');
    }
  }

  /**
   * Reads to the end of the stream, where nothing more should come.
   * @throws TransferError naming `what` if the peer sent more.
   */
  async readEnd(what: string): Promise<void> {
    if ((await this.readChunk()) !== undefined) {
      throw new TransferError(`the peer sent unexpected bytes on ${what}`);
    }
  }

  /**
   * Queues `bytes`, then waits while `sendAhead` bytes or more are unacknowledged: the stream
   * holds at most about `sendAhead` plus one chunk.
   */
  async write(bytes: Uint8Array, sendAhead: number): Promise<void> {
    this.#checkWrite();
    this.stream.writeData(bytes);
    while (this.stream.bytesToWrite >= sendAhead) {
      await this.#next('write');
      this.#checkWrite();
    }
  }

  /**
   * Waits until both directions have ended and the stream is collected: the peer has our FIN
   * and we have read its.
   */
  async finished(): Promise<void> {
    while (!this.#collected) await this.#next('finish');
  }

  /**
   * Stops reading: what the peer sends is dropped and it is asked (STOP) to stop sending. Our
   * sending direction goes on.
   */
  stopReading(): void {
    this.stream.shutdownRead();
  }

  /** Stops listening to the stream; call it when no wait is pending. */
  dispose(): void {
    this.#subscription.unsubscribe();
    if (this.#parent !== undefined) this.#parent.#dependents.delete(this);
  }

  #check(): void {
    if (this.#error !== undefined) throw this.#error;
  }

  #checkWrite(): void {
    this.#check();
    if (this.#writeError !== undefined) throw this.#writeError;
  }

  /** The next sign of life; a collected stream has none left to give a reader or writer. */
  async #next(purpose: 'read' | 'write' | 'finish'): Promise<void> {
    if (this.#collected && purpose !== 'finish') throw new StreamClosedError(purpose);
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.#check();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}
