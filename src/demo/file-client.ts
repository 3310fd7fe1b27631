import { createHash, type Hash } from 'node:crypto';
import type { Subscription } from 'rxjs';
import type { LinkState } from '../channel/channel-core.js';
import type { Eid } from '../crypto/eid.js';
import type { Host } from '../host.js';
import type { Clock, TimerHandle } from '../net/clock.js';
import type { SocketAddress } from '../net/datagram-socket.js';
import type { Stream } from '../streams/stream.js';
import { StreamErrorCode } from '../streams/stream-state.js';
import { CONTROL_PRIORITY } from './file-server.js';
import type { FileSpec } from './files.js';
import {
  decodeHeader,
  decodePing,
  encodePing,
  encodeRequest,
  FETCH_PROTOCOL,
  FETCH_SERVICE,
} from './protocol.js';

/** Where one file's transfer stands. */
export interface FileStatus {
  readonly name: string;
  readonly priority: number;
  /** The size the server announced; undefined until its header arrives. */
  readonly size: number | undefined;
  readonly received: number;
  readonly state: 'waiting' | 'receiving' | 'verified' | 'failed';
  /** Milliseconds from the start of the fetch to the file's end, verified or failed. */
  readonly finishedAtMs: number | undefined;
  /** SHA-256 of what arrived, once the file ended. */
  readonly sha256: Uint8Array | undefined;
  readonly error: string | undefined;
}

/** A change of the channel's link state, as the control stream saw it. */
export interface LinkChange {
  readonly atMs: number;
  readonly state: LinkState;
}

export interface FetchOptions {
  readonly host: Host;
  readonly peer: Eid;
  readonly endpoints: readonly SocketAddress[];
  readonly files: readonly FileSpec[];
  readonly clock: Clock;
  /** Spacing of the control stream's pings, ms (default 25); one is outstanding at a time. */
  readonly pingIntervalMs?: number;
  /** Called as bytes arrive. */
  readonly onProgress?: (fetch: FileFetch) => void;
  /** Called when a file ends or the link state changes. */
  readonly onEvent?: (event: FetchEvent, fetch: FileFetch) => void;
}

/** Something that happened in a fetch, at `atMs` from its start. */
export type FetchEvent =
  | { readonly type: 'link'; readonly atMs: number; readonly state: LinkState }
  | { readonly type: 'file'; readonly atMs: number; readonly file: FileStatus };

/**
 * Receive window of each file's substream. Larger than the 64 KiB a stream starts with, so that
 * the highest-priority file is rarely held back by flow control, which would let lower ones
 * through; it is also the most a file may have waiting unread.
 */
const FILE_RECEIVE_WINDOW = 1 << 20;
const DEFAULT_PING_INTERVAL_MS = 25;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The client side of the fetch protocol: one top-level stream to the server, one substream per
 * file, all requested at once at their priorities, each verified against the SHA-256 of the
 * server's header. Pings on the control stream sample the round trip as the application sees it.
 */
export class FileFetch {
  /** The clock's time when the fetch began. */
  readonly startedAt: number;
  readonly #files: Mutable<FileStatus>[];
  readonly #links: LinkChange[] = [];
  readonly #rtt: number[] = [];
  readonly #options: FetchOptions;
  readonly #control: Stream;
  readonly #fileStreams: Stream[] = [];
  readonly #subscriptions: Subscription[] = [];
  #pingTimer: TimerHandle | undefined;
  #pingSequence = 0;
  #outstandingPing: { readonly sequence: number; readonly at: number } | undefined;
  #closing = false;
  #closed = false;
  #resolveClosed!: () => void;
  /** Resolves when {@link FileFetch.closed} becomes true. */
  readonly whenClosed = new Promise<void>((resolve) => {
    this.#resolveClosed = resolve;
  });

  constructor(options: FetchOptions) {
    this.#options = options;
    this.startedAt = options.clock.now();
    this.#files = options.files.map((spec) => ({
      name: spec.name,
      priority: spec.priority,
      size: undefined,
      received: 0,
      state: 'waiting',
      finishedAtMs: undefined,
      sha256: undefined,
      error: undefined,
    }));
    this.#control = options.host.connect(options.peer, FETCH_SERVICE, FETCH_PROTOCOL, {
      endpoints: options.endpoints,
    });
    this.#control.setPriority(CONTROL_PRIORITY);
    this.#watchControl();
    for (const status of this.#files) this.#request(status);
  }

  /** Milliseconds since the fetch began. */
  get elapsedMs(): number {
    return this.#now();
  }

  /** Every file, in the order asked for. */
  get files(): readonly FileStatus[] {
    return this.#files;
  }

  /** Link state changes, the first being the state when the fetch began. */
  get linkChanges(): readonly LinkChange[] {
    return this.#links;
  }

  /** Round trips of the pings that came back, ms. */
  get rttSamples(): readonly number[] {
    return this.#rtt;
  }

  /** True once every file is verified or failed. */
  get settled(): boolean {
    return this.#files.every((file) => file.state === 'verified' || file.state === 'failed');
  }

  /** True once the control stream has ended both ways (or failed): nothing is left to do. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Gives up: files not yet ended fail with `reason`, and every stream is reset. */
  abort(reason: string): void {
    this.#closeWith(reason);
    for (const stream of [this.#control, ...this.#fileStreams]) {
      if (!stream.collected) stream.reset(StreamErrorCode.cancelled);
    }
  }

  #now(): number {
    return this.#options.clock.now() - this.startedAt;
  }

  #event(event: FetchEvent): void {
    this.#options.onEvent?.(event, this);
  }

  /** Ends the fetch at once: files not yet ended fail with `reason`. */
  #closeWith(reason: string): void {
    // Closing first: the control stream is not to be half-closed as the last file fails.
    this.#closing = true;
    for (const file of this.#files) this.#fail(file, reason);
    this.#shutDown();
  }

  #watchControl(): void {
    const control = this.#control;
    this.#subscriptions.push(
      control.linkState$.subscribe((state) => {
        const last = this.#links[this.#links.length - 1];
        if (last?.state === state) return;
        const atMs = this.#now();
        this.#links.push({ atMs, state });
        if (state === 'up' && this.#pingTimer === undefined && !this.#closing) this.#ping();
        this.#event({ type: 'link', atMs, state });
      }),
      control.readyRead$.subscribe(() => {
        try {
          this.#readControl();
        } catch (error) {
          this.#closeWith((error as Error).message);
        }
      }),
      control.error$.subscribe((error) => this.#closeWith(error.message)),
    );
  }

  #ping(): void {
    const clock = this.#options.clock;
    this.#pingTimer = undefined;
    if (this.#closing) return;
    if (this.#outstandingPing === undefined) {
      const sequence = this.#pingSequence++;
      this.#outstandingPing = { sequence, at: clock.now() };
      try {
        this.#control.writeRecord(encodePing(sequence));
      } catch (error) {
        // The server stopped our writing (STOP): the connection is of no more use.
        return this.#closeWith((error as Error).message);
      }
    }
    this.#pingTimer = clock.setTimer(this.#options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS, () =>
      this.#ping(),
    );
  }

  #readControl(): void {
    const control = this.#control;
    for (let record = control.readRecord(); record !== undefined; record = control.readRecord()) {
      const sequence = decodePing(record);
      const ping = this.#outstandingPing;
      if (ping !== undefined && sequence === ping.sequence) {
        this.#rtt.push(this.#options.clock.now() - ping.at);
        this.#outstandingPing = undefined;
      }
    }
    if (control.atEnd) this.#closeWith('the server ended the connection');
  }

  #request(status: Mutable<FileStatus>): void {
    const stream = this.#control.openSubstream();
    this.#fileStreams.push(stream);
    stream.setPriority(status.priority);
    stream.setReceiveBuffer(FILE_RECEIVE_WINDOW);
    stream.writeRecord(encodeRequest(status));
    stream.shutdownWrite();
    let expected: Uint8Array | undefined;
    const hash = createHash('sha256');
    this.#subscriptions.push(
      stream.readyRead$.subscribe(() => {
        try {
          if (status.state === 'waiting') {
            const record = stream.readRecord();
            if (record === undefined) return;
            const header = decodeHeader(record);
            if (header === undefined) {
              stream.reset(StreamErrorCode.cancelled);
              return this.#fail(status, 'malformed header');
            }
            if (!header.found) return this.#fail(status, 'the server has no such file');
            status.size = header.size;
            status.state = 'receiving';
            expected = header.sha256;
          }
          this.#receive(stream, status, hash, expected);
        } catch (error) {
          // A reset by the server: error$ says so too, and the first word stands.
          this.#fail(status, (error as Error).message);
        }
      }),
      stream.error$.subscribe((error) => this.#fail(status, error.message)),
    );
  }

  #receive(
    stream: Stream,
    status: Mutable<FileStatus>,
    hash: Hash,
    expected: Uint8Array | undefined,
  ): void {
    if (status.state !== 'receiving') {
      // After a refusal or a failure: read on to the end, so the stream finishes.
      while (stream.readData().length > 0);
      return;
    }
    for (let data = stream.readData(); data.length > 0; data = stream.readData()) {
      hash.update(data);
      status.received += data.length;
    }
    this.#options.onProgress?.(this);
    if (stream.atEnd) this.#end(status, new Uint8Array(hash.digest()), expected);
  }

  #end(status: Mutable<FileStatus>, digest: Uint8Array, expected: Uint8Array | undefined): void {
    status.sha256 = digest;
    if (status.received !== status.size) {
      return this.#fail(status, `${status.received} bytes arrived, ${status.size} announced`);
    }
    if (expected === undefined || !sameBytes(digest, expected)) {
      return this.#fail(status, 'SHA-256 differs from the announced one');
    }
    status.state = 'verified';
    status.finishedAtMs = this.#now();
    this.#afterFile(status);
  }

  #fail(status: Mutable<FileStatus>, error: string): void {
    if (status.state === 'verified' || status.state === 'failed') return;
    status.state = 'failed';
    status.error = error;
    status.finishedAtMs = this.#now();
    this.#afterFile(status);
  }

  /** Tells of the file's end; once every file has ended, the control stream is ended too. */
  #afterFile(status: FileStatus): void {
    this.#event({ type: 'file', atMs: status.finishedAtMs ?? this.#now(), file: status });
    if (!this.settled || this.#closing) return;
    this.#stopPinging();
    this.#closing = true;
    this.#control.shutdownWrite();
  }

  #stopPinging(): void {
    if (this.#pingTimer !== undefined) this.#options.clock.clearTimer(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  #shutDown(): void {
    if (this.#closed) return;
    this.#closing = true;
    this.#closed = true;
    this.#resolveClosed();
    this.#stopPinging();
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
