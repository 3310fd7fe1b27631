import type { FrameSource } from '../channel/channel-core.js';
import { NO_ROOM } from '../channel/frames.js';
import type { Cursor } from '../channel/varint.js';
import { equalBytes } from '../crypto/bytes.js';
import { checkPositive } from '../net/errors.js';
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

/** Streams the peer may have open at once unless configured (MAX_STREAMS grows it as they end). */
export const DEFAULT_MAX_INCOMING_STREAMS = 256;

/** Below this much room a packet takes no further stream frame: the header would dominate. */
const MIN_FRAME_ROOM = 24;

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
  readonly #maxIncoming: number;
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
    this.#receiveWindow = checkPositive(
      'receiveWindow',
      options.receiveWindow ?? INITIAL_STREAM_WINDOW,
    );
    this.#maxIncoming = checkPositive(
      'maxIncomingStreams',
      options.maxIncomingStreams ?? DEFAULT_MAX_INCOMING_STREAMS,
    );
    this.#advertisedMaxStreams = this.#maxIncoming;
    this.#maxStreamsDue = this.#maxIncoming !== DEFAULT_MAX_INCOMING_STREAMS;
    this.#visitor = this.#makeVisitor();
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
    return stream;
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

  /** Whether the peer's stream limit lets this stream's frames go. */
  #mayOpen(stream: StreamState): boolean {
    return !stream.local || stream.openAcknowledged || counterOf(stream.id) < this.#localLimit;
  }

  #owesControl(stream: StreamState): boolean {
    return (
      stream.resetPending ||
      stream.stopPending ||
      (!stream.readClosed && (stream.windowPending || stream.receive.windowUpdateDue))
    );
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
   * The channel that carried the in-flight packets is gone: their frames are treated as lost,
   * so the next channel sends them again, and the peer hears our session id again.
   */
  detach(): void {
    for (const token of [...this.#inFlight]) this.onLost(token);
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
          stream.openAcknowledged = true;
          const bytes = stream.send.onAcked(
            frame.offset,
            frame.length,
            frame.fin,
            frame.endedRecord,
          );
          if (bytes > 0) stream.events.bytesWritten(bytes);
          stream.noteWritable();
          this.#collectIfDone(stream);
          break;
        }
        case 'reset':
          frame.stream.resetAcknowledged = true;
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

  /** The control frames one stream owes: reset, stop, window update. */
  #writeStreamControl(
    stream: StreamState,
    out: Uint8Array,
    offset: number,
    token: StreamToken,
  ): number {
    let end = offset;
    if (stream.resetPending && stream.resetCode !== undefined) {
      const next = writeResetFrame(out, end, stream.id, stream.resetCode, stream.send.writeOffset);
      if (next === NO_ROOM) return NO_ROOM;
      stream.resetPending = false;
      end = next;
      token.push({ kind: 'reset', stream });
    }
    if (stream.stopPending && stream.stopCode !== undefined) {
      const next = writeStopFrame(out, end, stream.id, stream.stopCode);
      if (next === NO_ROOM) return NO_ROOM;
      stream.stopPending = false;
      end = next;
      token.push({ kind: 'stop', stream });
    }
    if (!stream.readClosed && (stream.windowPending || stream.receive.windowUpdateDue)) {
      const next = writeWindowFrame(out, end, stream.id, stream.receive.maxOffset);
      if (next === NO_ROOM) return NO_ROOM;
      stream.receive.advertised();
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
    const segment = stream.send.nextSegment(room - overhead, stream.sendLimit);
    if (segment === undefined) return offset;
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
        if (stream === undefined) return this.#unknown(id);
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
    const outcome = stream.receive.receive(
      offset,
      data,
      (flags & StreamFlag.record) !== 0,
      (flags & StreamFlag.fin) !== 0,
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
    if (receive.available > 0 || receive.pendingRecords > 0 || receive.atEnd) {
      stream.events.readable();
    }
    stream.noteReceived();
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
    for (const stream of [...this.#streams.values()]) {
      stream.peerResetCode = StreamErrorCode.peerRestarted;
      stream.resetCode ??= StreamErrorCode.peerRestarted;
      stream.resetAcknowledged = true;
      stream.events.reset(StreamErrorCode.peerRestarted, 'peer');
      this.#collect(stream);
    }
    this.#peerFloor = -1;
    this.#peerSeen.clear();
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

  #collect(stream: StreamState): void {
    if (stream.collected) return;
    stream.collected = true;
    // A refused stream's stand-in was never in the table and counts for nothing.
    if (this.#streams.get(stream.id) !== stream) return;
    this.#streams.delete(stream.id);
    this.#scheduler.remove(stream);
    this.#control.delete(stream);
    if (!stream.local) {
      this.#peerOpen--;
      // The peer may open one more: raise its total by the one that ended.
      this.#advertisedMaxStreams = this.#peerOpenedTotal + this.#maxIncoming - this.#peerOpen;
      this.#maxStreamsDue = true;
    }
    stream.events.collected();
  }
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
