import type { FrameSource } from '../channel/channel-core.js';
import { NO_ROOM } from '../channel/frames.js';
import type { Cursor } from '../channel/varint.js';
import { equalBytes } from '../crypto/bytes.js';
import { checkNonNegative, checkPositive, InvalidParameterError } from '../net/errors.js';
import { PriorityScheduler } from './priority-scheduler.js';
import {
  datagramFrameOverhead,
  decodeStreamFrame,
  ROOT_PARENT,
  SESSION_ID_BYTES,
  StreamFlag,
  type StreamFrameVisitor,
  streamFrameOverhead,
  writeDatagramFrame,
  writeMaxStreamsFrame,
  writeResetFrame,
  writeSessionFrame,
  writeStopFrame,
  writeStreamFrame,
  writeWindowFrame,
} from './stream-frames.js';
import { NO_EVENTS, StreamErrorCode, type StreamEvents, StreamState } from './stream-state.js';

/** The window every new stream starts with in each direction, before any WINDOW frame, bytes. */
export const INITIAL_STREAM_WINDOW = 64 * 1024;

/** The largest window {@link autoTune} grows a stream's to, bytes. */
export const MAX_AUTO_WINDOW = 8 * 1024 * 1024;

/**
 * Default of {@link StreamSessionOptions.autoWindowBudget}: enough for four streams at
 * {@link MAX_AUTO_WINDOW} at once.
 */
export const DEFAULT_AUTO_WINDOW_BUDGET = 32 * 1024 * 1024;

/** Streams the peer may have open at once unless configured (MAX_STREAMS grows it as they end). */
export const DEFAULT_MAX_INCOMING_STREAMS = 256;

/** Below this much room a packet takes no further stream frame: the header would dominate. */
const MIN_FRAME_ROOM = 24;

const NO_BYTES = new Uint8Array(0);

/** What one packet carried, for its acknowledgement or loss. */
export type SentFrame =
  | {
      readonly kind: 'data';
      readonly stream: StreamState;
      readonly offset: number;
      readonly length: number;
      readonly fin: boolean;
      /** The number of the record this frame ended, if it ended one. */
      readonly endedRecord: number | undefined;
    }
  | { readonly kind: 'window' | 'reset' | 'stop'; readonly stream: StreamState }
  /** An empty opening frame (see {@link StreamState.openProbe}). */
  | { readonly kind: 'open'; readonly stream: StreamState }
  | { readonly kind: 'maxStreams' | 'session' };

/** The token of one packet's stream frames. */
export type StreamToken = SentFrame[];

export interface StreamSessionOptions {
  /** Our static public key and the peer's: their order decides which stream ids are whose. */
  readonly localKey: Uint8Array;
  readonly peerKey: Uint8Array;
  /** Random bytes, for the session id. */
  readonly randomBytes: (length: number) => Uint8Array;
  /** Streams the peer may open and keep open at once. */
  readonly maxIncomingStreams?: number;
  /** Receive window of new streams, bytes (default {@link INITIAL_STREAM_WINDOW}). */
  readonly receiveWindow?: number;
  /**
   * Bytes by which automatic tuning may grow the receive windows of all the session's streams
   * together (default {@link DEFAULT_AUTO_WINDOW_BUDGET}). With the initial windows of the
   * streams a peer may open, it bounds what a peer can make this host buffer, were every
   * application to stop reading at once; windows an application sets itself
   * (`setReceiveBuffer`) are its own choice, outside the budget.
   */
  readonly autoWindowBudget?: number;
  /** The session's clock, ms: datagram reassembly expires partial datagrams by it. */
  readonly now: () => number;
  /**
   * A top-level stream the peer opened (its first record is the service request). Set its
   * `events` here to hear of the frame that opened it.
   */
  readonly onIncoming: (stream: StreamState) => void;
}

/** Counters of frames the session dropped; bad input from the peer never throws. */
export interface StreamSessionStats {
  /** Frames for streams that were already finished and forgotten (late retransmissions). */
  stale: number;
  /** Frames naming streams that never existed, or breaking a rule with no better counter. */
  invalid: number;
  /** Streams refused: parent not listening, or too many open. */
  refused: number;
  /** Streams reset because the peer broke their flow control or final size. */
  flowViolations: number;
  datagramsDropped: number;
}

/**
 * The streams shared with one peer, sans IO: stream ids, the stream table, which stream sends
 * next, the frames of each packet and their fate. It is the channel's {@link FrameSource}; the
 * streams outlive any one channel, so when a channel is replaced, {@link StreamSession.detach}
 * returns what was in flight to the streams and the next channel carries it.
 */
export class StreamSession implements FrameSource<StreamToken> {
  readonly stats: StreamSessionStats = {
    stale: 0,
    invalid: 0,
    refused: 0,
    flowViolations: 0,
    datagramsDropped: 0,
  };
  readonly sessionId: Uint8Array;
  readonly #options: StreamSessionOptions;
  readonly #streams = new Map<number, StreamState>();
  readonly #scheduler = new PriorityScheduler<StreamState>();
  readonly #inFlight = new Set<StreamToken>();
  readonly #parity: 0 | 1;
  readonly #receiveWindow: number;
  readonly #autoWindowBudget: number;
  /** Bytes automatic tuning has added to the windows of the streams in the table. */
  #autoGrown = 0;
  readonly #maxIncoming: number;
  /** Streams opened to a service whose request's record end the peer acknowledged. */
  readonly #requestRecordEnded = new WeakSet<StreamState>();
  /** Streams with a control frame to send: window updates, resets, stops. */
  readonly #control = new Set<StreamState>();
  #nextLocalCounter = 0;
  /** Every peer stream counter up to this one has been seen; they never come back once forgotten. */
  #peerFloor = -1;
  /** Peer stream counters seen above the floor (streams opened out of order). */
  readonly #peerSeen = new Set<number>();
  /** Our streams beyond the peer's MAX_STREAMS: they wait for it to grow. */
  readonly #waitingToOpen: StreamState[] = [];
  #peerOpen = 0;
  #peerOpenedTotal = 0;
  /** How many streams the peer lets us open in total. */
  #localLimit = DEFAULT_MAX_INCOMING_STREAMS;
  #advertisedMaxStreams: number;
  #maxStreamsDue = false;
  #sessionState: 'due' | 'inFlight' | 'acknowledged' = 'due';
  #peerSession: Uint8Array | undefined;
  readonly #visitor: StreamFrameVisitor;

  constructor(options: StreamSessionOptions) {
    this.#options = options;
    this.sessionId = options.randomBytes(SESSION_ID_BYTES);
    this.#parity = compareKeys(options.localKey, options.peerKey) < 0 ? 0 : 1;
    this.#receiveWindow = options.receiveWindow ?? INITIAL_STREAM_WINDOW;
    // The peer may send a new stream INITIAL_STREAM_WINDOW bytes before hearing of any other.
    if (!Number.isSafeInteger(this.#receiveWindow) || this.#receiveWindow < INITIAL_STREAM_WINDOW) {
      throw new InvalidParameterError(
        'receiveWindow',
        `must be an integer of at least ${INITIAL_STREAM_WINDOW} bytes`,
      );
    }
    this.#autoWindowBudget = checkNonNegative(
      'autoWindowBudget',
      options.autoWindowBudget ?? DEFAULT_AUTO_WINDOW_BUDGET,
    );
    this.#maxIncoming = checkPositive(
      'maxIncomingStreams',
      options.maxIncomingStreams ?? DEFAULT_MAX_INCOMING_STREAMS,
    );
    this.#advertisedMaxStreams = this.#maxIncoming;
    this.#maxStreamsDue = this.#maxIncoming !== DEFAULT_MAX_INCOMING_STREAMS;
    this.#visitor = this.#makeVisitor();
  }

  /** This host's key is the lower of the pair (its streams have even ids). */
  get lowerKey(): boolean {
    return this.#parity === 0;
  }

  /** Streams known now, by id. */
  get streams(): ReadonlyMap<number, StreamState> {
    return this.#streams;
  }

  /** Whether another stream may be opened now without exceeding the peer's limit. */
  get canOpen(): boolean {
    return this.#nextLocalCounter < this.#localLimit;
  }

  /**
   * Opens a stream under `parent` (undefined: top level). It exists at once; its first frames
   * create it at the peer, with no round trip.
   */
  open(
    parent: StreamState | undefined,
    events: StreamEvents = NO_EVENTS,
    priority = 0,
  ): StreamState {
    const id = this.#nextLocalCounter++ * 2 + this.#parity;
    const stream = new StreamState({
      id,
      parent,
      local: true,
      receiveWindow: this.#receiveWindow,
      initialSendWindow: INITIAL_STREAM_WINDOW,
      priority,
      events,
    });
    this.#streams.set(id, stream);
    // Until the peer has it, the parent's FIN waits for it (see finish).
    parent?.youngChildren.add(stream);
    return stream;
  }

  /**
   * The application finished writing. The FIN goes once every substream opened under the
   * stream exists at the peer: the peer may forget the stream as soon as it has read to the
   * end, and would refuse a substream arriving after that. Idle substreams send an empty
   * opening frame so as not to hold the FIN up.
   */
  finish(stream: StreamState): void {
    if (stream.send.finished || stream.finishDeferred) return;
    if (stream.youngChildren.size === 0) {
      stream.send.finish();
    } else {
      stream.finishDeferred = true;
      for (const child of stream.youngChildren) {
        if (!child.hasSendWork() && child.openProbe === 'none') child.openProbe = 'due';
        this.wake(child);
      }
    }
    this.wake(stream);
  }

  /** The stream has something new to send: it joins the scheduler. */
  wake(stream: StreamState): void {
    if (stream.collected) return;
    if (!this.#mayOpen(stream)) {
      if (!this.#waitingToOpen.includes(stream)) this.#waitingToOpen.push(stream);
      return;
    }
    if (stream.hasSendWork()) this.#scheduler.add(stream, stream.priority);
    if (this.#owesControl(stream)) this.#control.add(stream);
  }

  /** Whether the peer's stream limit, and the stream's parent, let this stream's frames go. */
  #mayOpen(stream: StreamState): boolean {
    return (
      !stream.local ||
      stream.openAcknowledged ||
      (counterOf(stream.id) < this.#localLimit && this.#parentOpen(stream))
    );
  }

  /**
   * A new substream's frames wait until its parent exists at the peer (SST: a child never
   * makes progress before its parent): arriving first, it would be refused there, its parent
   * unknown. A parent with nothing to send is asked for an empty opening frame. A parent that
   * was reset or forgotten will never open: the substream goes and learns its fate.
   */
  #parentOpen(stream: StreamState): boolean {
    const parent = stream.parent;
    if (parent === undefined || parent.resetCode !== undefined || parent.collected) return true;
    if (parent.openAcknowledged) return parent.serviceRequestEnd === 0;
    if (parent.openProbe === 'none') {
      parent.openProbe = 'due';
      this.wake(parent);
    }
    return false;
  }

  /**
   * Once the peer has acknowledged the service request's bytes and its record end, it has read
   * the request (it does so as the record completes): the stream's substreams may go.
   */
  #requestAcknowledged(stream: StreamState, endedRecord: number | undefined): void {
    if (stream.serviceRequestEnd === 0) return;
    // The request is the stream's first record, number 0.
    if (endedRecord === 0) this.#requestRecordEnded.add(stream);
    const acknowledged = stream.send.writeOffset - stream.send.buffered;
    if (acknowledged < stream.serviceRequestEnd || !this.#requestRecordEnded.has(stream)) return;
    stream.serviceRequestEnd = 0;
    this.#wakeWaiting();
  }

  /** The peer acknowledged a frame of the stream, so it exists there: what waited may go. */
  #opened(stream: StreamState): void {
    if (stream.openAcknowledged) return;
    stream.openAcknowledged = true;
    stream.openProbe = 'none';
    // Control frames held until now may go.
    if (this.#owesControl(stream)) this.#control.add(stream);
    this.#settleYoung(stream);
    this.#wakeWaiting();
  }

  /** The stream no longer holds up its parent's FIN: it opened, was reset, or is gone. */
  #settleYoung(stream: StreamState): void {
    const parent = stream.parent;
    if (parent === undefined || !parent.youngChildren.delete(stream)) return;
    if (parent.finishDeferred && parent.youngChildren.size === 0) {
      parent.finishDeferred = false;
      parent.send.finish();
      this.wake(parent);
    }
  }

  #wakeWaiting(): void {
    for (const stream of this.#waitingToOpen.splice(0)) this.wake(stream);
  }

  #owesControl(stream: StreamState): boolean {
    return (
      stream.resetPending ||
      (!this.#controlHeld(stream) && (stream.stopPending || stream.windowOwed))
    );
  }

  /**
   * STOP and WINDOW frames of a stream we opened wait until the peer has it: one arriving
   * before the stream's opening frame (ahead of it in the same packet, or overtaking it) would
   * be dropped there as naming an unknown stream, yet acknowledged, so never resent; a lost
   * STOP left the peer writing into a window that never opens again. A RESET is not held: after
   * it nothing else would open the stream, and the peer takes it as ending a stream it never saw;
   * once it is acknowledged, the peer either has the stream or has ended it, and a STOP is safe.
   */
  #controlHeld(stream: StreamState): boolean {
    return stream.local && !stream.openAcknowledged && !stream.resetAcknowledged;
  }

  /** Changes a stream's priority; it applies from the next packet. */
  setPriority(stream: StreamState, priority: number): void {
    stream.priority = priority;
    this.#scheduler.setPriority(stream, priority);
  }

  /** Resets our sending direction with `code`; unacknowledged bytes are given up. */
  reset(stream: StreamState, code: number): void {
    if (stream.resetCode !== undefined || stream.sendDone) return;
    stream.resetCode = code;
    stream.resetPending = true;
    this.#scheduler.remove(stream);
    this.#control.add(stream);
    // Reset, it will never open: neither its parent's FIN nor its children wait for it.
    this.#settleYoung(stream);
    this.#wakeWaiting();
    stream.events.reset(code, 'local');
  }

  /** We read no more: the peer is asked to stop sending, and what arrives is dropped. */
  stopReading(stream: StreamState, code: number): void {
    if (stream.readClosed) return;
    stream.readClosed = true;
    if (!stream.receive.atEnd && stream.peerResetCode === undefined) {
      stream.stopCode = code;
      stream.stopPending = true;
      this.#control.add(stream);
    }
    this.#collectIfDone(stream);
  }

  /** Forgets the stream if both directions are done. */
  collectIfDone(stream: StreamState): void {
    this.#collectIfDone(stream);
  }

  /**
   * The channel is gone or replaced: the next one must tell the peer our session id again. (Its
   * frames in flight come back through {@link StreamSession.onLost} as the channel closes.)
   */
  detach(): void {
    if (this.#sessionState !== 'acknowledged') this.#sessionState = 'due';
  }

  hasFrames(): boolean {
    return (
      this.#sessionState === 'due' ||
      this.#maxStreamsDue ||
      this.#control.size > 0 ||
      this.#scheduler.size > 0
    );
  }

  writeFrames(
    out: Uint8Array,
    offset: number,
    limit: number,
  ): { end: number; token: StreamToken } | undefined {
    const view = limit < out.length ? out.subarray(0, limit) : out;
    const token: StreamToken = [];
    let end = this.#writeControl(view, offset, token);
    end = this.#writeStreams(view, end, token);
    // Best-effort datagrams leave nothing in the token, but the packet still carries them.
    if (end === offset) return undefined;
    this.#inFlight.add(token);
    return { end, token };
  }

  onAcked(token: StreamToken): void {
    if (!this.#inFlight.delete(token)) return;
    for (const frame of token) {
      switch (frame.kind) {
        case 'data': {
          const stream = frame.stream;
          this.#opened(stream);
          const wasAcknowledged = stream.send.allAcked;
          const bytes = stream.send.onAcked(
            frame.offset,
            frame.length,
            frame.fin,
            frame.endedRecord,
          );
          if (bytes > 0) stream.events.bytesWritten(bytes);
          // The FIN's acknowledgement may bring no new byte: the end is its own event.
          if (!wasAcknowledged && stream.send.allAcked) stream.events.sendAcknowledged();
          this.#requestAcknowledged(stream, frame.endedRecord);
          stream.noteWritable();
          this.#collectIfDone(stream);
          break;
        }
        case 'reset':
          frame.stream.resetAcknowledged = true;
          // A STOP held for the stream's opening may go now (see #controlHeld).
          if (this.#owesControl(frame.stream)) this.#control.add(frame.stream);
          this.#collectIfDone(frame.stream);
          break;
        case 'open':
          this.#opened(frame.stream);
          break;
        case 'stop':
          frame.stream.stopAcknowledged = true;
          this.#collectIfDone(frame.stream);
          break;
        case 'session':
          this.#sessionState = 'acknowledged';
          break;
        default:
          break;
      }
    }
  }

  onLost(token: StreamToken): void {
    if (!this.#inFlight.delete(token)) return;
    for (const frame of token) {
      switch (frame.kind) {
        case 'data':
          frame.stream.send.onLost(frame.offset, frame.length, frame.fin, frame.endedRecord);
          this.wake(frame.stream);
          break;
        case 'window':
          frame.stream.windowPending = true;
          this.wake(frame.stream);
          break;
        case 'open':
          if (frame.stream.openAcknowledged || frame.stream.collected) break;
          frame.stream.openProbe = 'due';
          this.wake(frame.stream);
          break;
        case 'reset':
          if (frame.stream.collected || frame.stream.resetAcknowledged) break;
          frame.stream.resetPending = true;
          this.#control.add(frame.stream);
          break;
        case 'stop':
          if (frame.stream.collected) break;
          frame.stream.stopPending = true;
          this.#control.add(frame.stream);
          break;
        case 'maxStreams':
          this.#maxStreamsDue = true;
          break;
        case 'session':
          if (this.#sessionState === 'inFlight') this.#sessionState = 'due';
          break;
      }
    }
  }

  onFrame(type: number, payload: Uint8Array, cursor: Cursor) {
    return decodeStreamFrame(type, payload, cursor, this.#visitor);
  }

  #writeControl(out: Uint8Array, offset: number, token: StreamToken): number {
    let end = offset;
    if (this.#sessionState === 'due') {
      const next = writeSessionFrame(out, end, this.sessionId);
      if (next !== NO_ROOM) {
        end = next;
        this.#sessionState = 'inFlight';
        token.push({ kind: 'session' });
      }
    }
    if (this.#maxStreamsDue) {
      const next = writeMaxStreamsFrame(out, end, this.#advertisedMaxStreams);
      if (next !== NO_ROOM) {
        end = next;
        this.#maxStreamsDue = false;
        token.push({ kind: 'maxStreams' });
      }
    }
    for (const stream of this.#control) {
      const next = this.#writeStreamControl(stream, out, end, token);
      if (next === NO_ROOM) break;
      end = next;
      if (!this.#owesControl(stream)) this.#control.delete(stream);
    }
    return end;
  }

  /**
   * The control frames one stream owes: reset, stop, window update. When one does not fit, those
   * written so far are kept (they were marked sent, and are in the token) and the rest wait.
   */
  #writeStreamControl(
    stream: StreamState,
    out: Uint8Array,
    offset: number,
    token: StreamToken,
  ): number {
    let end = offset;
    if (stream.resetPending && stream.resetCode !== undefined) {
      const next = writeResetFrame(out, end, stream.id, stream.resetCode, stream.send.writeOffset);
      if (next === NO_ROOM) return partial(offset, end);
      stream.resetPending = false;
      end = next;
      token.push({ kind: 'reset', stream });
    }
    if (this.#controlHeld(stream)) return end;
    if (stream.stopPending && stream.stopCode !== undefined) {
      const next = writeStopFrame(out, end, stream.id, stream.stopCode);
      if (next === NO_ROOM) return partial(offset, end);
      stream.stopPending = false;
      end = next;
      token.push({ kind: 'stop', stream });
    }
    if (stream.windowOwed) {
      this.#autoTune(stream);
      const next = writeWindowFrame(out, end, stream.id, stream.receive.maxOffset);
      if (next === NO_ROOM) return partial(offset, end);
      stream.advertisedLimit = stream.receive.advertised();
      stream.windowPending = false;
      end = next;
      token.push({ kind: 'window', stream });
    }
    return end;
  }

  /** Stream data by priority, one frame per turn, until the packet is full or nothing waits. */
  #writeStreams(out: Uint8Array, offset: number, token: StreamToken): number {
    let end = offset;
    let misses = 0;
    while (out.length - end >= MIN_FRAME_ROOM && this.#scheduler.size > 0) {
      const stream = this.#scheduler.next() as StreamState;
      const next = this.#writeOneFrame(stream, out, end, token);
      if (!stream.hasSendWork()) this.#scheduler.remove(stream);
      if (next === end) {
        // Nothing of this stream fitted; after every stream had its turn, the packet is full.
        if (++misses >= this.#scheduler.size) break;
        continue;
      }
      misses = 0;
      end = next;
    }
    return end;
  }

  #writeOneFrame(stream: StreamState, out: Uint8Array, offset: number, token: StreamToken): number {
    const datagram = stream.outgoingDatagrams[0];
    if (datagram !== undefined) return this.#writeDatagram(stream, out, offset);
    const parent = stream.openAcknowledged ? undefined : parentId(stream);
    const room = out.length - offset;
    const overhead = streamFrameOverhead(stream.id, stream.send.writeOffset, room, parent);
    if (room <= overhead) return offset;
    if (this.#holdsTail(stream, out.length - overhead)) return offset;
    const segment = stream.send.nextSegment(room - overhead, stream.sendLimit);
    if (segment === undefined) return this.#writeOpenProbe(stream, out, offset, token, parent);
    // This frame opens the stream as well as a probe would.
    if (parent !== undefined) stream.openProbe = 'none';
    const flags = (segment.fin ? StreamFlag.fin : 0) | (segment.recordEnd ? StreamFlag.record : 0);
    const end = writeStreamFrame(
      out,
      offset,
      stream.id,
      segment.offset,
      segment.data,
      flags,
      parent,
    );
    token.push({
      kind: 'data',
      stream,
      offset: segment.offset,
      length: segment.data.length,
      fin: segment.fin,
      endedRecord: segment.recordEnd ? segment.record : undefined,
    });
    return end;
  }

  /**
   * Whether the stream's next bytes, new ones short of a packet (`fullSegment` bytes), wait for
   * more, as Nagle's algorithm has them wait (RFC 896): while two packets' worth of the stream
   * are unacknowledged, the acknowledgements will soon let the application write more. A sender
   * that writes as acknowledgements free its buffer (64 KiB written, 65,465 bytes to a packet)
   * otherwise follows each full packet with one of a few dozen bytes, doubling the packets that
   * carry its data and the acknowledgements they draw. A record end, the FIN, a retransmission,
   * bytes held up by flow control and a stream with little in flight go at once; the tail goes
   * as soon as more is written or the acknowledgements catch up.
   */
  #holdsTail(stream: StreamState, fullSegment: number): boolean {
    const send = stream.send;
    const tail = send.unsentTail;
    if (tail <= 0 || tail >= fullSegment || send.writeOffset > stream.sendLimit) return false;
    const inFlight = send.sentOffset - send.writeOffset + send.unacknowledged;
    return inFlight >= 2 * fullSegment;
  }

  /** An empty opening frame, if one is due: it creates the stream at the peer, and no more. */
  #writeOpenProbe(
    stream: StreamState,
    out: Uint8Array,
    offset: number,
    token: StreamToken,
    parent: number | undefined,
  ): number {
    if (stream.openProbe !== 'due' || parent === undefined) return offset;
    const end = writeStreamFrame(out, offset, stream.id, 0, NO_BYTES, 0, parent);
    if (end === NO_ROOM) return offset;
    stream.openProbe = 'inFlight';
    token.push({ kind: 'open', stream });
    return end;
  }

  /** A best-effort fragment: sent once, never resent, so it leaves no trace in the token. */
  #writeDatagram(stream: StreamState, out: Uint8Array, offset: number): number {
    const fragment = stream.outgoingDatagrams[0];
    if (fragment === undefined) return offset;
    const parent = stream.id;
    const room =
      out.length -
      offset -
      datagramFrameOverhead(
        parent,
        fragment.datagramId,
        fragment.totalLength,
        fragment.fragmentOffset,
        fragment.data.length,
      );
    if (room < fragment.data.length) return offset;
    stream.outgoingDatagrams.shift();
    return writeDatagramFrame(
      out,
      offset,
      parent,
      fragment.datagramId,
      fragment.totalLength,
      fragment.fragmentOffset,
      fragment.data,
    );
  }

  #makeVisitor(): StreamFrameVisitor {
    return {
      onStream: (id, offset, data, flags, parent) =>
        this.#onStream(id, offset, data, flags, parent),
      onWindow: (id, maxOffset) => {
        const stream = this.#streams.get(id);
        if (stream === undefined) return this.#unknown(id);
        if (maxOffset > stream.sendLimit) {
          stream.sendLimit = maxOffset;
          this.wake(stream);
        }
      },
      // The final offset matters for connection-level flow control, which streams do not have.
      onReset: (id, code) => {
        const stream = this.#streams.get(id);
        if (stream === undefined) return this.#resetUnseen(id);
        if (stream.peerResetCode !== undefined) return;
        stream.peerResetCode = code;
        stream.events.reset(code, 'peer');
        this.#collectIfDone(stream);
      },
      onStop: (id, code) => {
        const stream = this.#streams.get(id);
        if (stream === undefined) return this.#unknown(id);
        this.reset(stream, code);
      },
      onDatagram: (parent, datagramId, total, at, data) =>
        this.#onDatagram(parent, datagramId, total, at, data),
      onSession: (sessionId) => this.#onSession(sessionId),
      onMaxStreams: (count) => {
        if (count <= this.#localLimit) return;
        this.#localLimit = count;
        const waiting = this.#waitingToOpen.splice(0);
        for (const stream of waiting) this.wake(stream);
      },
    };
  }

  #onStream(id: number, offset: number, data: Uint8Array, flags: number, parent: number): void {
    let stream = this.#streams.get(id);
    if (stream === undefined) {
      if ((flags & StreamFlag.open) === 0) return this.#unknown(id);
      stream = this.#accept(id, parent);
      if (stream === undefined) return;
    }
    if (stream.readClosed || stream.peerResetCode !== undefined) return;
    // The frames are the packet's own, never changed afterwards (see FrameSource.onFrame).
    const outcome = stream.receive.receive(
      offset,
      data,
      (flags & StreamFlag.record) !== 0,
      (flags & StreamFlag.fin) !== 0,
      true,
    );
    if (outcome === 'flow-control' || outcome === 'final-size') {
      this.stats.flowViolations++;
      const code =
        outcome === 'flow-control' ? StreamErrorCode.flowControl : StreamErrorCode.finalSize;
      stream.peerResetCode = code;
      this.stopReading(stream, code);
      stream.events.reset(code, 'peer');
      return;
    }
    if (outcome !== 'ok') return;
    const receive = stream.receive;
    // Credit used is known before the application reads, so its reads see what the peer needs.
    stream.noteReceived(offset + data.length);
    if (receive.available > 0 || receive.pendingRecords > 0 || receive.atEnd) {
      stream.events.readable();
    }
    if (stream.windowOwed) this.wake(stream);
    // A FIN with nothing left to read ends the receiving direction without any read: the
    // stream may be done now (e.g. a reliable datagram's carrier, which its writer never reads).
    this.#collectIfDone(stream);
  }

  /** A stream the peer opens with this frame; undefined when refused or stale. */
  #accept(id: number, parentField: number): StreamState | undefined {
    if ((id & 1) === this.#parity) {
      this.stats.invalid++;
      return undefined;
    }
    const counter = counterOf(id);
    if (this.#peerSeenCounter(counter)) {
      // Finished and forgotten already: this is a late copy of one of its frames.
      this.stats.stale++;
      return undefined;
    }
    if (counter >= this.#advertisedMaxStreams) {
      this.stats.invalid++;
      return undefined;
    }
    const parent = parentField === ROOT_PARENT ? undefined : this.#streams.get(parentField);
    const refused =
      (parentField !== ROOT_PARENT && (parent === undefined || parent.listenMode !== 'accept')) ||
      this.#peerOpen >= this.#maxIncoming;
    this.#markPeerCounter(counter);
    if (refused) {
      this.stats.refused++;
      this.#refuse(id);
      // Refused, the stream is over at once: its number must not use up the peer's allowance.
      this.#peerOpenedTotal++;
      this.#advertisedMaxStreams = this.#peerOpenedTotal + this.#maxIncoming - this.#peerOpen;
      this.#maxStreamsDue = true;
      return undefined;
    }
    const stream = new StreamState({
      id,
      parent,
      local: false,
      receiveWindow: this.#receiveWindow,
      initialSendWindow: INITIAL_STREAM_WINDOW,
      priority: parent?.priority ?? 0,
    });
    this.#streams.set(id, stream);
    this.#peerOpen++;
    this.#peerOpenedTotal++;
    if (parent === undefined) this.#options.onIncoming(stream);
    else {
      parent.incomingSubstreams.push(stream);
      parent.events.substream();
    }
    return stream;
  }

  /** A stream we will not have: reset it and stop its reading, by a stateless pair of frames. */
  #refuse(id: number): void {
    const ghost = new StreamState({
      id,
      parent: undefined,
      local: false,
      receiveWindow: 1,
      initialSendWindow: 0,
      priority: 0,
    });
    ghost.resetCode = StreamErrorCode.refused;
    ghost.resetPending = true;
    ghost.stopCode = StreamErrorCode.refused;
    ghost.stopPending = true;
    ghost.readClosed = true;
    this.#control.add(ghost);
  }

  #onDatagram(
    parentId: number,
    datagramId: number,
    total: number,
    at: number,
    data: Uint8Array,
  ): void {
    const stream = this.#streams.get(parentId);
    if (stream === undefined || stream.readClosed) {
      this.stats.datagramsDropped++;
      return;
    }
    const whole = stream.datagrams.receive(datagramId, at, total, data, this.#options.now());
    if (whole !== undefined) stream.queueDatagram(whole);
  }

  #onSession(sessionId: Uint8Array): void {
    const known = this.#peerSession;
    if (known === undefined) {
      this.#peerSession = Uint8Array.from(sessionId);
      return;
    }
    if (equalBytes(known, sessionId)) return;
    // The peer restarted: every stream we share with it is gone on its side.
    this.#peerSession = Uint8Array.from(sessionId);
    this.peerGone(StreamErrorCode.peerRestarted);
    this.#peerFloor = -1;
    this.#peerSeen.clear();
  }

  /**
   * Every stream shared with the peer is gone on its side (it restarted, or closed its host):
   * each is reset as if by the peer with `errorCode`, and forgotten.
   */
  peerGone(errorCode: number): void {
    for (const stream of [...this.#streams.values()]) {
      stream.peerResetCode = errorCode;
      stream.resetCode ??= errorCode;
      stream.resetAcknowledged = true;
      stream.events.reset(errorCode, 'peer');
      this.#collect(stream);
    }
  }

  /**
   * A RESET naming a stream of the peer's that we never saw: it was abandoned before any of its
   * frames arrived, or they are still on the way, overtaken. Its number is taken as used and
   * ended, so that its late frames are stale instead of opening a stream that nobody would ever
   * end (the RESET, acknowledged, is not sent again).
   */
  #resetUnseen(id: number): void {
    const counter = counterOf(id);
    if (
      (id & 1) === this.#parity ||
      this.#peerSeenCounter(counter) ||
      counter >= this.#advertisedMaxStreams
    ) {
      return this.#unknown(id);
    }
    this.stats.stale++;
    this.#markPeerCounter(counter);
    // Opened and ended at once: the peer may open one more.
    this.#peerOpenedTotal++;
    this.#advertisedMaxStreams = this.#peerOpenedTotal + this.#maxIncoming - this.#peerOpen;
    this.#maxStreamsDue = true;
  }

  #peerSeenCounter(counter: number): boolean {
    return counter <= this.#peerFloor || this.#peerSeen.has(counter);
  }

  #markPeerCounter(counter: number): void {
    this.#peerSeen.add(counter);
    while (this.#peerSeen.delete(this.#peerFloor + 1)) this.#peerFloor++;
  }

  #unknown(id: number): void {
    const counter = counterOf(id);
    const ours = (id & 1) === this.#parity;
    const seen = ours ? counter < this.#nextLocalCounter : this.#peerSeenCounter(counter);
    if (seen) this.stats.stale++;
    else this.stats.invalid++;
  }

  #collectIfDone(stream: StreamState): void {
    if (stream.collected || !stream.sendDone || !stream.receiveDone) return;
    if (stream.incomingSubstreams.length > 0) return;
    this.#collect(stream);
  }

  /**
   * A reader that keeps up (little is buffered when the window moves on) gets a larger window, up
   * to {@link MAX_AUTO_WINDOW}, so that one stream can fill a path whose bandwidth-delay product
   * exceeds the initial window, while the session's budget lasts. A reader that falls behind
   * keeps its window: memory stays bounded by what the application lets pile up.
   */
  #autoTune(stream: StreamState): void {
    const receive = stream.receive;
    if (receive.window >= MAX_AUTO_WINDOW || receive.buffered >= receive.window / 4) return;
    const growth = Math.min(
      Math.min(MAX_AUTO_WINDOW, receive.window * 2) - receive.window,
      this.#autoWindowBudget - this.#autoGrown,
    );
    if (growth <= 0) return;
    this.#autoGrown += growth;
    stream.autoGrown += growth;
    receive.setWindow(receive.window + growth);
  }

  /** Bytes automatic tuning has added to the receive windows of the session's open streams. */
  get autoWindowGrown(): number {
    return this.#autoGrown;
  }

  #collect(stream: StreamState): void {
    if (stream.collected) return;
    stream.collected = true;
    // A refused stream's stand-in was never in the table and counts for nothing.
    if (this.#streams.get(stream.id) !== stream) return;
    this.#streams.delete(stream.id);
    this.#autoGrown -= stream.autoGrown;
    this.#scheduler.remove(stream);
    this.#control.delete(stream);
    // Forgotten, it holds up neither its parent's FIN nor its own substreams.
    this.#settleYoung(stream);
    this.#wakeWaiting();
    if (!stream.local) {
      this.#peerOpen--;
      // The peer may open one more: raise its total by the one that ended.
      this.#advertisedMaxStreams = this.#peerOpenedTotal + this.#maxIncoming - this.#peerOpen;
      this.#maxStreamsDue = true;
    }
    stream.events.collected();
  }
}

/** The end of what fitted of several frames: NO_ROOM if none did. */
function partial(offset: number, end: number): number {
  return end === offset ? NO_ROOM : end;
}

/** Each side numbers its streams 0, 1, 2, ...; the id's low bit says whose they are. */
function counterOf(id: number): number {
  return (id - (id & 1)) / 2;
}

function parentId(stream: StreamState): number {
  return stream.parent === undefined ? ROOT_PARENT : stream.parent.id;
}

/** Bytewise order of two keys of equal length. */
function compareKeys(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
