import type { Host, Server } from '../host.js';
import { StreamErrorCode } from '../streams/stream-state.js';
import type { Stream } from '../streams/stream.js';
import type { DemoFile } from './files.js';
import {
  decodeRequest,
  encodeHeader,
  FETCH_PROTOCOL,
  FETCH_SERVICE,
  type FetchRequest,
} from './protocol.js';

/** Priority of the control stream at both ends: pings overtake file data, which waits. */
export const CONTROL_PRIORITY = 1000;

/**
 * Bytes of a file written ahead of the peer's acknowledgements: it bounds the memory each
 * transfer holds, and at 1 MiB covers the bandwidth-delay product of loopback and of the
 * simulator's presets (18 Mbit/s behind a 100 ms queue is 225 KB).
 */
const SEND_AHEAD_BYTES = 1 << 20;
const WRITE_CHUNK_BYTES = 64 * 1024;

/**
 * The fetch protocol's server side (see protocol.ts) on one host: every connection's control
 * stream echoes pings, every substream gets the file it asks for.
 */
export class FileService {
  readonly server: Server;
  readonly #files: ReadonlyMap<string, DemoFile>;
  #open = 0;
  readonly #idle: (() => void)[] = [];

  constructor(host: Host, files: readonly DemoFile[]) {
    this.#files = new Map(files.map((file) => [file.name, file]));
    this.server = host.listen(
      FETCH_SERVICE,
      'demo file server',
      FETCH_PROTOCOL,
      'fetch protocol 1',
    );
    this.server.newConnection$.subscribe((control) => {
      this.#track(control);
      control.setPriority(CONTROL_PRIORITY);
      control.listen('accept');
      control.substreams$.subscribe((stream) => {
        this.#track(stream);
        serveFile(stream, this.#files);
      });
      control.readyRead$.subscribe(guarded(control, () => echoPings(control)));
    });
  }

  /**
   * Streams served and not yet finished: a stream finishes once both directions have ended and
   * everything sent was acknowledged (the host then forgets it).
   */
  get open(): number {
    return this.#open;
  }

  /** Resolves when no stream is {@link FileService.open}. */
  whenIdle(): Promise<void> {
    if (this.#open === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #track(stream: Stream): void {
    this.#open++;
    // A stream's observables complete when the host forgets it.
    stream.readyRead$.subscribe({
      complete: () => {
        if (--this.#open > 0) return;
        for (const resolve of this.#idle.splice(0)) resolve();
      },
    });
  }
}

/**
 * `handler`, made safe to run from a stream's observable: reading or writing a stream the client
 * reset throws, and a throw there would escape to the event loop. The stream is abandoned.
 */
function guarded(stream: Stream, handler: () => void): () => void {
  return () => {
    try {
      handler();
    } catch {
      stream.reset(StreamErrorCode.cancelled);
    }
  };
}

/** Writes every ping record back; once the client has ended the stream, ends ours. */
function echoPings(control: Stream): void {
  for (let record = control.readRecord(); record !== undefined; record = control.readRecord()) {
    control.writeRecord(record);
  }
  if (control.atEnd) control.shutdownWrite();
}

/** Reads one request on `stream` and sends the file it names, or says there is none. */
function serveFile(stream: Stream, files: ReadonlyMap<string, DemoFile>): void {
  let answered = false;
  stream.readyRead$.subscribe(
    guarded(stream, () => {
      if (!answered) {
        const record = stream.readRecord();
        if (record === undefined) return;
        answered = true;
        const request = decodeRequest(record);
        if (request === undefined) return stream.reset(StreamErrorCode.cancelled);
        answer(stream, request, files.get(request.name));
      }
      // The client half-closes after its request: read on to that end so the stream can finish.
      while (stream.readData().length > 0);
    }),
  );
}

function answer(stream: Stream, request: FetchRequest, file: DemoFile | undefined): void {
  if (file === undefined) {
    stream.writeRecord(encodeHeader({ found: false }));
    stream.shutdownWrite();
    return;
  }
  stream.setPriority(request.priority);
  stream.writeRecord(encodeHeader({ found: true, size: file.size, sha256: file.sha256 }));
  let offset = 0;
  let stopped = false;
  // Written as acknowledgements free room, so memory stays at SEND_AHEAD_BYTES per transfer.
  // bytesWritten$, not readyWrite$: that one marks only the send buffer's own 1 MiB mark, and
  // misses it when the first acknowledgement after a write across it brings the buffer below.
  const pump = () => {
    while (!stopped && offset < file.size && stream.bytesToWrite < SEND_AHEAD_BYTES) {
      const end = Math.min(file.size, offset + WRITE_CHUNK_BYTES);
      stream.writeData(file.data.subarray(offset, end));
      offset = end;
    }
    if (!stopped && offset === file.size) {
      stopped = true;
      stream.shutdownWrite();
    }
  };
  stream.reset$.subscribe(() => {
    stopped = true;
  });
  stream.bytesWritten$.subscribe(guarded(stream, pump));
  pump();
}
