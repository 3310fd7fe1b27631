import { type Observable, Subject, type Subscription } from 'rxjs';
import { type Actor, createActor, type InspectionEvent, type Observer } from 'xstate';
import { type StreamEvent, streamMachine } from '../machines/stream.machine.js';
import type { LinkState } from '../channel/channel-core.js';
import { InvalidParameterError, SssError, checkPositive } from '../net/errors.js';
import { ServiceNotFoundError, StreamClosedError, StreamResetError } from './errors.js';
import { decodeServiceReply, type ServiceRequest, ServiceStatus } from './service.js';
import type { Eid } from '../crypto/eid.js';
import type { StreamSession } from './stream-session.js';
import {
  type ListenMode,
  type OutgoingDatagram,
  StreamErrorCode,
  type StreamEvents,
  type StreamState,
} from './stream-state.js';

/** What a stream needs from the host it lives on. */
export interface StreamContext {
  readonly session: StreamSession;
  /** The host at the other end. */
  readonly peerEid: Eid;
  /** The link state of the channel to the peer, current value first. */
  readonly linkState$: Observable<LinkState>;
  /** Whether a channel to the peer carries the streams now, current value first. */
  readonly attached$: Observable<boolean>;
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Sends what became ready, now or soon. */
  flush(): void;
  /** Wraps a stream the peer opened, when the application takes it. */
  wrap(state: StreamState): Stream;
}

/** How {@link Stream.reset} reports itself to observers. */
export interface StreamReset {
  readonly errorCode: number;
  readonly by: 'local' | 'peer';
  /** Bytes written and never acknowledged: they did not reach the peer's application. */
  readonly unacknowledged: number;
}

const LINK_EVENTS = { up: 'LINK_UP', stalled: 'LINK_STALLED', down: 'LINK_DOWN' } as const;

/** Best-effort datagrams up to this size go in one DATAGRAM frame of the next packet. */
const SMALL_DATAGRAM_BYTES = 1100;

/**
 * One structured stream (SST semantics, libsss API): a reliable byte stream in each direction
 * with record boundaries, substreams opened without a round trip, datagrams of any size,
 * priorities and flow control. Reading is pull-based; the observables say when something is
 * ready.
 */
export class Stream {
  readonly #state: StreamState;
  #actor: Actor<typeof streamMachine> | undefined;
  readonly #subscriptions: Subscription[] = [];
  readonly #context: StreamContext;
  // Each subject is made when its observable is first asked for: a plain Subject drops what it
  // emits with nobody subscribed, so until then emitting nothing is the same, and a short-lived
  // stream, whose application watches two or three of the nine, need not build the rest.
  #readyRead: Subject<void> | undefined;
  #readyReadRecord: Subject<void> | undefined;
  #readyReadDatagram: Subject<void> | undefined;
  #readyWrite: Subject<void> | undefined;
  #bytesWritten: Subject<number> | undefined;
  #receiveBlocked: Subject<void> | undefined;
  #substreams: Subject<Stream> | undefined;
  #error: Subject<Error> | undefined;
  #reset: Subject<StreamReset> | undefined;
  /** The stream was collected: its subjects are complete, and so are any made later. */
  #completed = false;
  #writeClosed = false;
  /** Bytes written since the last record end. */
  #recordBytes = 0;
  #resetInfo: StreamReset | undefined;
  /** Our sending direction's reset (ours, or at the peer's STOP): writing is over. */
  #sendReset: StreamReset | undefined;
  /** The service asked for, until the peer's reply record has been read. */
  #rendezvous: ServiceRequest | undefined;

  /**
   * @internal Made by the host or by {@link Stream.openSubstream}. With `rendezvous`, the
   * stream's first incoming record is the peer's service reply, read here and never shown.
   */
  constructor(state: StreamState, context: StreamContext, rendezvous?: ServiceRequest) {
    this.#state = state;
    this.#context = context;
    this.#rendezvous = rendezvous;
    // An inspected host sees every stream's whole life; otherwise the machine starts when first
    // asked for, caught up from the stream's state (it costs 4 KB and a third of a short
    // stream's CPU, for a view most streams never need).
    if (context.inspect !== undefined) this.#actor = this.#startActor();
    state.events = this.#events();
  }

  /** The stream's lifecycle, as observers and the inspector see it. */
  get actor(): Actor<typeof streamMachine> {
    this.#actor ??= this.#startActor();
    return this.#actor;
  }

  /** The stream's id on this host pair: the low bit says which side opened it. */
  get id(): number {
    return this.#state.id;
  }

  /** @internal */
  get state(): StreamState {
    return this.#state;
  }

  /** The host at the other end (libsss `remote_host_id`): who opened a stream the peer opened. */
  get peerEid(): Eid {
    return this.#context.peerEid;
  }

  /** Data became readable (or the end of the stream). */
  get readyRead$(): Observable<void> {
    this.#readyRead ??= this.#subject<void>();
    return this.#readyRead.asObservable();
  }

  /** A whole record became readable. */
  get readyReadRecord$(): Observable<void> {
    this.#readyReadRecord ??= this.#subject<void>();
    return this.#readyReadRecord.asObservable();
  }

  /** A whole datagram became readable. */
  get readyReadDatagram$(): Observable<void> {
    this.#readyReadDatagram ??= this.#subject<void>();
    return this.#readyReadDatagram.asObservable();
  }

  /** The send buffer drained below its high-water mark: writing is welcome again. */
  get readyWrite$(): Observable<void> {
    this.#readyWrite ??= this.#subject<void>();
    return this.#readyWrite.asObservable();
  }

  /** Bytes the peer newly acknowledged. */
  get bytesWritten$(): Observable<number> {
    this.#bytesWritten ??= this.#subject<number>();
    return this.#bytesWritten.asObservable();
  }

  /** The receive window is full: the peer waits until the application reads. */
  get receiveBlocked$(): Observable<void> {
    this.#receiveBlocked ??= this.#subject<void>();
    return this.#receiveBlocked.asObservable();
  }

  /** Link state of the channel to the peer, current value first. */
  get linkState$(): Observable<LinkState> {
    return this.#context.linkState$;
  }

  /** Substreams the peer opened under this one, once {@link Stream.listen} accepts them. */
  get substreams$(): Observable<Stream> {
    this.#substreams ??= this.#subject<Stream>();
    return this.#substreams.asObservable();
  }

  /** Typed errors that end the stream. */
  get error$(): Observable<Error> {
    this.#error ??= this.#subject<Error>();
    return this.#error.asObservable();
  }

  /**
   * The stream was reset, by either side: once, or twice when our sending direction was reset
   * (we reset, or the peer asked us to stop) before the peer's reset of its own arrived.
   */
  get reset$(): Observable<StreamReset> {
    this.#reset ??= this.#subject<StreamReset>();
    return this.#reset.asObservable();
  }

  /** True once both directions are finished and the stream is forgotten. */
  get collected(): boolean {
    return this.#state.collected;
  }

  /** True once the peer's data has all been read, up to its end. */
  get atEnd(): boolean {
    return this.#state.receive.atEnd;
  }

  /** Bytes readable now. */
  get bytesAvailable(): number {
    return this.#state.receive.available;
  }

  /** Whole records waiting to be read. */
  get pendingRecords(): number {
    return this.#state.receive.pendingRecords;
  }

  /** Size of the next whole record, or -1. */
  get pendingRecordSize(): number {
    return this.#state.receive.pendingRecordSize;
  }

  /** Size of the next datagram, or -1. */
  get pendingDatagramSize(): number {
    return this.#state.incomingDatagrams[0]?.length ?? -1;
  }

  /** Bytes written and not yet acknowledged by the peer. */
  get bytesToWrite(): number {
    return this.#state.send.buffered;
  }

  /**
   * Reads up to `max` bytes, never past a record end. Returns an empty array when nothing is
   * ready. The result may be a view of a larger buffer (mind `byteOffset`); it is the caller's
   * and is not reused. @throws StreamResetError after a reset.
   */
  readData(max?: number): Uint8Array {
    this.#checkReadable();
    if (this.#rendezvous !== undefined) return new Uint8Array(0);
    const data = this.#state.receive.readData(max);
    this.#afterRead();
    return data;
  }

  /** Reads one whole record, cut to `max` bytes; undefined when none is complete. */
  readRecord(max?: number): Uint8Array | undefined {
    this.#checkReadable();
    if (this.#rendezvous !== undefined) return undefined;
    const record = this.#state.receive.readRecord(max);
    this.#afterRead();
    return record;
  }

  /** Reads one whole datagram; undefined when none is waiting. */
  readDatagram(): Uint8Array | undefined {
    this.#checkReadable();
    return this.#state.incomingDatagrams.shift();
  }

  /** Queues bytes; they go as the window allows. @throws StreamClosedError after close. */
  writeData(bytes: Uint8Array): void {
    this.#checkWritable();
    if (bytes.length === 0) return;
    this.#state.send.write(bytes);
    this.#recordBytes += bytes.length;
    this.#state.noteWritable();
    this.#wake();
  }

  /**
   * Ends a record: what was written since the last record end, plus `bytes`, is one record.
   * @throws InvalidParameterError for an empty record: record ends are known by their offset.
   */
  writeRecord(bytes?: Uint8Array): void {
    this.#checkWritable();
    const length = bytes?.length ?? 0;
    if (this.#recordBytes + length === 0) {
      throw new InvalidParameterError('bytes', 'a record holds at least one byte');
    }
    if (bytes !== undefined && length > 0) this.#state.send.write(bytes);
    this.#state.send.endRecord();
    this.#recordBytes = 0;
    this.#state.noteWritable();
    this.#wake();
  }

  /**
   * Sends a datagram on this stream. Best effort (the default): small ones ride the next
   * packet, large ones are fragmented and delivered whole or not at all. `reliable`: it travels
   * as an ephemeral substream, delivered exactly once.
   */
  writeDatagram(bytes: Uint8Array, options: { reliable?: boolean } = {}): void {
    this.#checkWritable();
    if (options.reliable === true) {
      const carrier = this.openSubstream();
      carrier.writeRecord(bytes);
      carrier.shutdownWrite();
      return;
    }
    const state = this.#state;
    const datagramId = state.nextDatagramId++;
    const fragments: OutgoingDatagram[] = [];
    for (let at = 0; at < bytes.length || at === 0; at += SMALL_DATAGRAM_BYTES) {
      const data = bytes.slice(at, at + SMALL_DATAGRAM_BYTES);
      fragments.push({ datagramId, totalLength: bytes.length, fragmentOffset: at, data });
      if (bytes.length === 0) break;
    }
    state.outgoingDatagrams.push(...fragments);
    this.#wake();
  }

  /**
   * Opens a substream: usable at once, it reaches the peer with its first data. A substream is
   * opened in the writing direction, before its parent's FIN: not after shutdownWrite or reset
   * (the peer may have forgotten the parent by the time it arrives, and would refuse it).
   * @throws StreamClosedError after shutdownWrite, StreamResetError after a reset.
   */
  openSubstream(): Stream {
    this.#checkWritable();
    const child = this.#context.session.open(this.#state, undefined, this.#state.priority);
    return new Stream(child, this.#context);
  }

  /** Whether substreams the peer opens under this stream are accepted (`accept`) or refused. */
  listen(mode: ListenMode = 'accept'): void {
    this.#state.listenMode = mode;
  }

  /** The next substream the peer opened, or undefined when none is queued. */
  acceptSubstream(): Stream | undefined {
    const child = this.#state.incomingSubstreams.shift();
    if (child === undefined) return undefined;
    const stream = this.#context.wrap(child);
    this.#context.session.collectIfDone(this.#state);
    return stream;
  }

  /** Strict priority between levels (higher first), round robin within one. */
  setPriority(priority: number): void {
    if (!Number.isSafeInteger(priority)) {
      throw new InvalidParameterError('priority', `must be an integer, got ${priority}`);
    }
    this.#context.session.setPriority(this.#state, priority);
    this.#context.flush();
  }

  /** Sets the receive window, bytes: how much the peer may send ahead of the application. */
  setReceiveBuffer(bytes: number): void {
    this.#state.receive.setWindow(checkPositive('bytes', bytes));
    this.#wake();
  }

  /** Half-close: no more writes; the peer reads to the end of what was written. */
  shutdownWrite(): void {
    if (this.#writeClosed) return;
    this.#writeClosed = true;
    this.#send({ type: 'WRITE_FINISHED' });
    // The session sends the FIN once the substreams opened under this one exist at the peer.
    this.#context.session.finish(this.#state);
    this.#context.flush();
  }

  /** Closes both directions gracefully: written data is still delivered. */
  close(): void {
    this.shutdownWrite();
    this.shutdownRead();
  }

  /**
   * Stops reading: what arrives is dropped, and the peer is asked (STOP) to stop sending. Writing
   * goes on. Reading afterwards throws {@link StreamClosedError}.
   */
  shutdownRead(errorCode: number = StreamErrorCode.cancelled): void {
    if (this.#state.readClosed) return;
    if (!this.#state.receive.atEnd) this.#send({ type: 'READ_CLOSED' });
    this.#context.session.stopReading(this.#state, errorCode);
    this.#context.flush();
  }

  /** Abandons the stream at once; the peer is told, and unacknowledged bytes are reported. */
  reset(errorCode: number = StreamErrorCode.cancelled): void {
    this.#writeClosed = true;
    this.#context.session.reset(this.#state, errorCode);
    this.#context.session.stopReading(this.#state, errorCode);
    this.#context.flush();
  }

  /**
   * Tells the machine of a lifecycle edge. Once collected the machine is done, and the stream
   * may still be used (a read at the end, a second shutdownWrite): such events go nowhere,
   * rather than making XState warn of an event sent to a stopped actor.
   */
  #send(event: StreamEvent): void {
    const actor = this.#actor;
    if (actor !== undefined && actor.getSnapshot().status === 'active') actor.send(event);
  }

  /** Starts the machine and brings it to where the stream is now, then keeps it there. */
  #startActor(): Actor<typeof streamMachine> {
    const actor = createActor(streamMachine, { inspect: this.#context.inspect }).start();
    const state = this.#state;
    const catchUp: StreamEvent[] = [];
    if (this.#writeClosed || state.send.finished) catchUp.push({ type: 'WRITE_FINISHED' });
    if (state.send.finished && state.send.allAcked) catchUp.push({ type: 'SEND_ACKNOWLEDGED' });
    if (state.resetCode !== undefined) catchUp.push({ type: 'SEND_RESET' });
    if (state.peerResetCode !== undefined) catchUp.push({ type: 'RECEIVE_RESET' });
    else if (state.receive.atEnd) catchUp.push({ type: 'RECEIVE_ENDED' });
    else if (state.readClosed) catchUp.push({ type: 'READ_CLOSED' });
    for (const event of catchUp) actor.send(event);
    if (state.collected) {
      actor.send({ type: 'COLLECTED' });
      return actor;
    }
    // Set before subscribing: the link's current state arrives at once, through #send.
    this.#actor = actor;
    this.#subscriptions.push(
      this.#context.linkState$.subscribe((link) => this.#send({ type: LINK_EVENTS[link] })),
      this.#context.attached$.subscribe((attached) =>
        this.#send({ type: attached ? 'ATTACHED' : 'DETACHED' }),
      ),
    );
    return actor;
  }

  #wake(): void {
    this.#context.session.wake(this.#state);
    this.#context.flush();
  }

  #afterRead(): void {
    if (this.#state.receive.atEnd) this.#send({ type: 'RECEIVE_ENDED' });
    // Reading opens the window; a window update may be owed to the peer.
    if (this.#state.windowOwed) this.#wake();
    this.#context.session.collectIfDone(this.#state);
  }

  #checkWritable(): void {
    // A stream forgotten after the peer reset it as a whole (it restarted or closed) never
    // heard a STOP, but nothing written to it could arrive either.
    const reset = this.#sendReset ?? (this.#state.collected ? this.#resetInfo : undefined);
    if (reset !== undefined) {
      throw new StreamResetError(reset.errorCode, reset.by, reset.unacknowledged);
    }
    if (this.#writeClosed || this.#state.collected) throw new StreamClosedError('write');
  }

  #checkReadable(): void {
    const reset = this.#resetInfo;
    if (reset !== undefined && reset.by === 'peer') throw this.#resetError();
    if (this.#state.readClosed && reset === undefined) throw new StreamClosedError('read');
  }

  #resetError(): StreamResetError {
    const info = this.#resetInfo as StreamReset;
    return new StreamResetError(info.errorCode, info.by, info.unacknowledged);
  }

  #events(): StreamEvents {
    return {
      readable: () => {
        if (this.#rendezvous !== undefined && !this.#readReply()) return;
        const receive = this.#state.receive;
        if (receive.available > 0 || receive.atEnd) this.#readyRead?.next();
        if (receive.pendingRecords > 0) this.#readyReadRecord?.next();
      },
      datagram: () => this.#readyReadDatagram?.next(),
      writable: () => this.#readyWrite?.next(),
      bytesWritten: (bytes) => this.#bytesWritten?.next(bytes),
      sendAcknowledged: () => this.#send({ type: 'SEND_ACKNOWLEDGED' }),
      substream: () => {
        const substreams = this.#substreams;
        if (substreams === undefined || !substreams.observed) return;
        for (;;) {
          const child = this.acceptSubstream();
          if (child === undefined) break;
          substreams.next(child);
        }
      },
      receiveBlocked: () => this.#receiveBlocked?.next(),
      reset: (errorCode, by) => {
        // The first reset is reported, and so is the peer's after our own (a STOP it sent may
        // arrive before its RESET): from then on reading is over, and reads say so.
        const info = { errorCode, by, unacknowledged: this.#state.send.unacknowledged };
        if (by === 'local') this.#sendReset ??= info;
        const known = this.#resetInfo;
        if (known !== undefined && (known.by === 'peer' || by === 'local')) return;
        this.#resetInfo = info;
        this.#send({ type: by === 'peer' ? 'RECEIVE_RESET' : 'SEND_RESET' });
        this.#reset?.next(info);
        const asked = this.#rendezvous;
        if (by === 'peer' && asked !== undefined && errorCode === StreamErrorCode.serviceNotFound) {
          this.#error?.next(new ServiceNotFoundError(asked.service, asked.protocol));
        } else if (by === 'peer' && !this.#state.readClosed) {
          // A reset of a direction we had stopped reading is the answer to our STOP, not news.
          this.#error?.next(this.#resetError());
        }
      },
      failed: (error) => {
        this.#error?.next(error);
        this.reset(StreamErrorCode.cancelled);
      },
      collected: () => this.#complete(),
    };
  }

  /** Reads the service reply if it is complete; true once the stream is open for reading. */
  #readReply(): boolean {
    const record = this.#state.receive.readRecord();
    if (record === undefined) return false;
    this.#afterRead();
    if (decodeServiceReply(record) === ServiceStatus.ok) {
      this.#rendezvous = undefined;
      return true;
    }
    this.#error?.next(new SssError('protocol-violation', 'the peer sent no valid service reply'));
    this.reset(StreamErrorCode.cancelled);
    return false;
  }

  #complete(): void {
    this.#send({ type: 'COLLECTED' });
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
    this.#completed = true;
    this.#readyRead?.complete();
    this.#readyReadRecord?.complete();
    this.#readyReadDatagram?.complete();
    this.#readyWrite?.complete();
    this.#bytesWritten?.complete();
    this.#receiveBlocked?.complete();
    this.#substreams?.complete();
    this.#error?.complete();
    this.#reset?.complete();
  }

  /** A subject for one of the observables; complete already if the stream was collected. */
  #subject<T>(): Subject<T> {
    const subject = new Subject<T>();
    if (this.#completed) subject.complete();
    return subject;
  }
}
