import { DatagramReassembly } from './datagram-reassembly.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { SendBuffer } from './send-buffer.js';

/** What a stream tells the layer above it; every method is called only on a change. */
export interface StreamEvents {
  /** Bytes, a record or the end of the stream became readable. */
  readable(): void;
  /** A whole best-effort datagram arrived. */
  datagram(): void;
  /** The send buffer went below its high-water mark. */
  writable(): void;
  /** The peer acknowledged `bytes` more of what was written. */
  bytesWritten(bytes: number): void;
  /** Everything written, and the end, is acknowledged: the sending direction is done. */
  sendAcknowledged(): void;
  /** A substream the peer opened is queued for {@link StreamState.acceptSubstream}. */
  substream(): void;
  /** The receive window filled up: the peer cannot send until the application reads. */
  receiveBlocked(): void;
  /** The stream was reset, by the peer or locally, with `code`. */
  reset(code: number, by: 'local' | 'peer'): void;
  /** The stream cannot go on, e.g. no channel to the peer could be made. */
  failed(error: Error): void;
  /** Both directions are finished and the stream is forgotten. */
  collected(): void;
}

/** Events that go nowhere: a stream's until the application takes it. */
export const NO_EVENTS: StreamEvents = {
  readable: () => undefined,
  datagram: () => undefined,
  writable: () => undefined,
  bytesWritten: () => undefined,
  sendAcknowledged: () => undefined,
  substream: () => undefined,
  receiveBlocked: () => undefined,
  reset: () => undefined,
  failed: () => undefined,
  collected: () => undefined,
};

/** How a stream treats substreams the peer opens under it (libsss `listen(mode)`). */
export type ListenMode = 'none' | 'accept';

/** Reset codes the stream layer itself uses; applications use their own from 0x100 up. */
export const StreamErrorCode = {
  /** The application reset the stream without a code. */
  cancelled: 0,
  /** The peer sent beyond the receive window. */
  flowControl: 1,
  /** The peer opened a substream under a stream that does not listen, or too many streams. */
  refused: 2,
  /** The peer's stream session restarted: the stream's state is gone on its side. */
  peerRestarted: 3,
  /** The service or protocol asked for is not served here. */
  serviceNotFound: 4,
  /** The peer's data contradicted the stream's final size. */
  finalSize: 5,
  /** The peer closed its host: it will never send or read again. */
  peerClosed: 6,
} as const;

/** Queued incoming datagrams per stream; beyond, the oldest is dropped (best effort). */
export const MAX_QUEUED_DATAGRAMS = 64;

export interface StreamStateOptions {
  readonly id: number;
  /** The parent stream, or undefined for a top-level stream (a child of the root). */
  readonly parent: StreamState | undefined;
  /** Opened by this side: its frames carry the open flag until one is acknowledged. */
  readonly local: boolean;
  readonly receiveWindow: number;
  /** The window the peer grants a new stream before any WINDOW frame. */
  readonly initialSendWindow: number;
  readonly priority: number;
  /** Default {@link NO_EVENTS}; the public stream sets its own when the application takes it. */
  readonly events?: StreamEvents;
}

/**
 * One stream's protocol state, sans IO: the two byte directions, records, flow control in both
 * directions, best-effort datagrams, substreams waiting to be accepted, and reset. The session
 * moves bytes between it and packets; the public `Stream` turns its events into observables.
 */
export class StreamState {
  readonly id: number;
  readonly parent: StreamState | undefined;
  readonly local: boolean;
  readonly send: SendBuffer;
  readonly receive: ReceiveBuffer;
  #datagrams: DatagramReassembly | undefined;
  events: StreamEvents;
  priority: number;
  listenMode: ListenMode = 'none';
  /** The peer has acknowledged a frame of ours on this stream, so it exists there. */
  openAcknowledged: boolean;
  /**
   * An empty opening STREAM frame is owed (`due`) or in flight: a stream with nothing to send
   * sends one when a substream of its own must wait for it to exist at the peer.
   */
  openProbe: 'none' | 'due' | 'inFlight' = 'none';
  /**
   * Local substreams of this stream whose opening the peer has not acknowledged yet. The FIN
   * waits for them: the peer may forget this stream once it has read to the end, and a
   * substream arriving after that would be refused.
   */
  readonly youngChildren = new Set<StreamState>();
  /** The application finished writing; the FIN waits for {@link StreamState.youngChildren}. */
  finishDeferred = false;
  /**
   * For a stream we opened to a service: the end of its service request, until the peer has
   * acknowledged all of it (then 0). The peer hands the stream to an application, which alone
   * can let it take substreams, only once it has read the request; our substreams of it wait.
   */
  serviceRequestEnd = 0;
  /** The peer lets us send below this offset. */
  sendLimit: number;
  /** Our reset of the sending direction, once made. */
  resetCode: number | undefined;
  /** A RESET frame is owed: made and not yet sent, or its packet was lost. */
  resetPending = false;
  resetAcknowledged = false;
  /** Our STOP, once made: we read no more. */
  stopCode: number | undefined;
  stopPending = false;
  stopAcknowledged = false;
  /** A WINDOW frame was lost: the current window is owed even if it has not grown much. */
  windowPending = false;
  /** Bytes the session's automatic tuning added to the receive window, out of its budget. */
  autoGrown = 0;
  /** The peer reset its sending direction. */
  peerResetCode: number | undefined;
  /** Outgoing best-effort datagram fragments waiting for room in a packet. */
  readonly outgoingDatagrams: OutgoingDatagram[] = [];
  readonly incomingDatagrams: Uint8Array[] = [];
  readonly incomingSubstreams: StreamState[] = [];
  /** The application closed its reading side: incoming data is discarded. */
  readClosed = false;
  collected = false;
  nextDatagramId = 0;
  #wasBlocked = false;
  /** The end of the furthest data the peer sent. */
  receivedEnd = 0;
  /** The receive limit the peer knows: the initial window, then our last WINDOW frame. */
  advertisedLimit: number;
  #wasWritable = true;

  constructor(options: StreamStateOptions) {
    this.id = options.id;
    this.parent = options.parent;
    this.local = options.local;
    this.priority = options.priority;
    this.events = options.events ?? NO_EVENTS;
    this.openAcknowledged = !options.local;
    this.sendLimit = options.initialSendWindow;
    this.advertisedLimit = options.initialSendWindow;
    this.send = new SendBuffer();
    this.receive = new ReceiveBuffer({ window: options.receiveWindow });
  }

  /** Whether the sending direction has frames for a packet now. */
  hasSendWork(): boolean {
    if (this.resetCode !== undefined) return false;
    return (
      this.outgoingDatagrams.length > 0 ||
      this.send.hasPending(this.sendLimit) ||
      (this.openProbe === 'due' && !this.openAcknowledged)
    );
  }

  /** The sending direction is done: everything acknowledged, or our reset acknowledged. */
  get sendDone(): boolean {
    return this.resetAcknowledged || (this.resetCode === undefined && this.send.allAcked);
  }

  /**
   * The receiving direction is done: everything read to the end, reset by the peer, or closed
   * and, if a STOP was owed, the STOP acknowledged: forgotten before, the stream could not send
   * it again, and a peer that never heard it would wait for a window that never opens.
   */
  get receiveDone(): boolean {
    return (
      this.peerResetCode !== undefined ||
      this.receive.atEnd ||
      (this.readClosed && (this.stopCode === undefined || this.stopAcknowledged))
    );
  }

  /**
   * Tells the application what changed on the receiving side after frames were applied: the
   * stream is blocked when the peer has used all the credit we told it of and unread bytes wait.
   */
  noteReceived(end: number): void {
    if (end > this.receivedEnd) this.receivedEnd = end;
    const blocked = this.receivedEnd >= this.advertisedLimit && this.receive.buffered > 0;
    if (blocked && !this.#wasBlocked) this.events.receiveBlocked();
    this.#wasBlocked = blocked;
  }

  /**
   * Whether a WINDOW frame is owed: one was lost, the limit grew by half a window, or the peer
   * used all its credit and any new room must reach it (else a reader waiting for a record
   * shorter than the window could wait forever).
   */
  get windowOwed(): boolean {
    if (this.readClosed) return false;
    const receive = this.receive;
    return (
      this.windowPending ||
      receive.windowUpdateDue ||
      (this.receivedEnd >= this.advertisedLimit && receive.maxOffset > this.advertisedLimit)
    );
  }

  /** Reassembly of the peer's fragmented datagrams, made at the first fragment: most streams never see one. */
  get datagrams(): DatagramReassembly {
    this.#datagrams ??= new DatagramReassembly();
    return this.#datagrams;
  }

  /**
   * Tells the application when the send buffer drains below its high-water mark. Called after
   * each write as well as each acknowledgement: a write that fills the buffer must be seen, or
   * the acknowledgement that drains it would not count as a change.
   */
  noteWritable(): void {
    const writable = this.send.writable;
    if (writable && !this.#wasWritable) this.events.writable();
    this.#wasWritable = writable;
  }

  /** Queues a datagram the peer sent, dropping the oldest beyond the bound. */
  queueDatagram(datagram: Uint8Array): void {
    if (this.incomingDatagrams.length >= MAX_QUEUED_DATAGRAMS) this.incomingDatagrams.shift();
    this.incomingDatagrams.push(datagram);
    this.events.datagram();
  }
}

/** One fragment of a best-effort datagram waiting to be sent. */
export interface OutgoingDatagram {
  readonly datagramId: number;
  readonly totalLength: number;
  readonly fragmentOffset: number;
  readonly data: Uint8Array;
}
