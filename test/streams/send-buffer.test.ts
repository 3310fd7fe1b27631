import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../src/net/errors.js';
import { StreamClosedError } from '../../src/streams/errors.js';
import { SendBuffer, type Segment } from '../../src/streams/send-buffer.js';

/** A segment as the stream layer keeps it: its data copied, as the packet would hold it. */
type Sent = Omit<Segment, 'data'> & { readonly data: Uint8Array };

function keep(segment: Segment): Sent {
  return { ...segment, data: segment.data.slice() };
}

function ack(buffer: SendBuffer, segment: Sent): number {
  const { offset, data, fin, recordEnd, record } = segment;
  return buffer.onAcked(offset, data.length, fin, recordEnd ? record : undefined);
}

function lose(buffer: SendBuffer, segment: Sent): void {
  const { offset, data, fin, recordEnd, record } = segment;
  buffer.onLost(offset, data.length, fin, recordEnd ? record : undefined);
}

/** Everything `nextSegment` gives, until it gives nothing (or far too much: a bug). */
function drain(buffer: SendBuffer, maxBytes = 1000, flowLimit = Infinity): Sent[] {
  const out: Sent[] = [];
  for (
    let s = buffer.nextSegment(maxBytes, flowLimit);
    s;
    s = buffer.nextSegment(maxBytes, flowLimit)
  ) {
    out.push(keep(s));
    if (out.length > 100_000) throw new Error('nextSegment never runs dry');
  }
  return out;
}

/** The fields that describe a segment's place in the stream, for compact expectations. */
function shape({ offset, data, record, recordEnd, fin }: Sent): string {
  return `${offset}+${data.length} r${record}${recordEnd ? ' end' : ''}${fin ? ' fin' : ''}`;
}

function filled(length: number, from = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (from + i) & 0xff);
}

/** Cheaper than expect() in the hot loops of properties; fast-check reports the message. */
function agree<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected)
    throw new Error(`${what}: got ${String(actual)}, expected ${String(expected)}`);
}

const UNSENT = 0;
const IN_FLIGHT = 1;
const LOST = 2;
const ACKED = 3;

/**
 * The specification: one state per byte and per marker (record ends, then the FIN), and the rule
 * for what goes next: the lowest lost item (a marker before a byte at the same offset), else the
 * next new marker once every byte before it is sent, else new data below the flow limit.
 */
class Model {
  readonly bytes: number[] = [];
  readonly byteState: number[] = [];
  readonly marks: number[] = [];
  readonly markState: number[] = [];
  finMark = -1;
  ackedCount = 0;

  write(data: Uint8Array): void {
    for (const b of data) {
      this.bytes.push(b);
      this.byteState.push(UNSENT);
    }
  }

  endRecord(): void {
    this.marks.push(this.bytes.length);
    this.markState.push(UNSENT);
  }

  finish(): void {
    if (this.finMark >= 0) return;
    this.finMark = this.marks.length;
    this.endRecord();
  }

  get sent(): number {
    const i = this.byteState.indexOf(UNSENT);
    return i < 0 ? this.bytes.length : i;
  }

  get ackedPrefix(): number {
    const i = this.byteState.findIndex((s) => s !== ACKED);
    return i < 0 ? this.bytes.length : i;
  }

  get allAcked(): boolean {
    return (
      this.finMark >= 0 &&
      this.byteState.every((s) => s === ACKED) &&
      this.markState.every((s) => s === ACKED)
    );
  }

  /** The next new marker, if every byte before it has been sent. */
  get readyMark(): number {
    const mark = this.markState.indexOf(UNSENT);
    return mark >= 0 && (this.marks[mark] as number) <= this.sent ? mark : -1;
  }

  hasPending(flowLimit: number): boolean {
    return (
      this.byteState.includes(LOST) ||
      this.markState.includes(LOST) ||
      this.readyMark >= 0 ||
      this.sent < Math.min(this.bytes.length, flowLimit)
    );
  }

  /** Throws unless `s` is the segment the rule allows, well formed and holding the right bytes. */
  check(s: Segment, maxBytes: number, flowLimit: number): void {
    const n = s.data.length;
    const end = s.offset + n;
    agree(n <= maxBytes, true, 'at most maxBytes');
    const lostByte = this.byteState.indexOf(LOST);
    const lostMark = this.markState.indexOf(LOST);
    if (lostMark >= 0 && (lostByte < 0 || (this.marks[lostMark] as number) <= lostByte)) {
      agree(
        `${s.offset}+${n} r${s.record}`,
        `${this.marks[lostMark]}+0 r${lostMark}`,
        'lost marker',
      );
    } else if (lostByte >= 0) {
      agree(s.offset, lostByte, 'lowest lost byte first');
      agree(n > 0, true, 'a retransmission holds data');
      for (let i = s.offset; i < end; i++) agree(this.byteState[i], LOST, `state of byte ${i}`);
    } else if (this.readyMark >= 0) {
      const mark = this.readyMark;
      agree(`${s.offset}+${n} r${s.record}`, `${this.marks[mark]}+0 r${mark}`, 'new marker');
    } else {
      agree(s.offset, this.sent, 'new data continues where sending stopped');
      agree(n > 0, true, 'new data is not empty');
      agree(
        end <= flowLimit,
        true,
        `new data ending at ${end} stays below flow limit ${flowLimit}`,
      );
    }
    const marksUpTo = (offset: number, inclusive: boolean): number =>
      this.marks.filter((m) => (inclusive ? m <= offset : m < offset)).length;
    if (n > 0) {
      agree(s.record, marksUpTo(s.offset, true), 'record of the data');
      agree(marksUpTo(end, false), s.record, 'no record end inside the segment');
    }
    const endsRecord =
      s.record < this.marks.length && s.record !== this.finMark && this.marks[s.record] === end;
    agree(s.recordEnd, endsRecord, `recordEnd of segment ending at ${end}`);
    const finNext = s.record + (s.recordEnd ? 1 : 0);
    agree(
      s.fin,
      this.finMark >= 0 && this.finMark === finNext && this.marks[finNext] === end,
      'fin',
    );
    if (n === 0) agree(s.recordEnd || s.fin, true, 'a zero-length segment carries a marker');
    for (let i = 0; i < n; i++) agree(s.data[i], this.bytes[s.offset + i], `byte ${s.offset + i}`);
  }

  /** The segment went out: what it carries is in flight, unless already acknowledged. */
  sendSegment(s: Sent): void {
    this.#each(s, (state) => (state === ACKED ? ACKED : IN_FLIGHT));
  }

  ack(s: Sent): void {
    for (let i = s.offset; i < s.offset + s.data.length; i++) {
      if (this.byteState[i] !== ACKED) this.ackedCount++;
    }
    this.#each(s, () => ACKED);
  }

  lose(s: Sent): void {
    this.#each(s, (state) => (state === ACKED ? ACKED : LOST));
  }

  #each(s: Sent, next: (state: number) => number): void {
    for (let i = s.offset; i < s.offset + s.data.length; i++) {
      this.byteState[i] = next(this.byteState[i] as number);
    }
    if (s.recordEnd) this.markState[s.record] = next(this.markState[s.record] as number);
    if (s.fin) this.markState[this.finMark] = next(this.markState[this.finMark] as number);
  }
}

/** What the peer's receiver learns from the segments acknowledged: bytes and markers. */
class Receiver {
  readonly bytes: (number | undefined)[] = [];
  readonly marks = new Set<number>();

  receive(s: Sent): void {
    s.data.forEach((b, i) => {
      const at = s.offset + i;
      const had = this.bytes[at];
      if (had !== undefined) agree(b, had, `byte ${at} acknowledged twice with different values`);
      this.bytes[at] = b;
    });
    if (s.recordEnd) this.marks.add(s.record);
    if (s.fin) this.marks.add(s.record + (s.recordEnd ? 1 : 0));
  }
}

type Op =
  | { op: 'write'; data: Uint8Array }
  | { op: 'endRecord' }
  | { op: 'finish' }
  | { op: 'send'; maxBytes: number; ahead: number | null }
  | { op: 'ack' | 'lose' | 'ackAgain'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      data: fc.oneof(
        { weight: 5, arbitrary: fc.uint8Array({ maxLength: 24 }) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 160, size: 'max' }) },
      ),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ op: 'endRecord' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'finish' as const }) },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('send' as const),
      maxBytes: fc.integer({ min: 1, max: 40 }),
      // The flow limit, relative to the offset sent so far; null is no limit.
      ahead: fc.option(fc.integer({ min: -8, max: 60 }), { freq: 4 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant('ack' as const), pick: fc.nat() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('lose' as const), pick: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('ackAgain' as const), pick: fc.nat() }),
  },
);

interface Scenario {
  chunkSize: number | undefined;
  highWaterMark: number;
  ops: Op[];
  /** How the segments still in flight at the end are settled before the final drain. */
  settle: 'ack' | 'lose';
  drainBytes: number;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  chunkSize: fc.option(fc.integer({ min: 1, max: 48 }), { freq: 4, nil: undefined }),
  highWaterMark: fc.integer({ min: 1, max: 300 }),
  // Long enough for losses of resent segments and late acknowledgements of them.
  ops: fc.array(opArb, { maxLength: 200, size: 'large' }),
  settle: fc.constantFrom<Scenario['settle']>('ack', 'lose'),
  drainBytes: fc.integer({ min: 1, max: 64 }),
});

/** A run in progress: the buffer, the model, and what was sent and reported. */
interface Run {
  readonly buffer: SendBuffer;
  readonly model: Model;
  readonly receiver: Receiver;
  readonly outstanding: Sent[];
  readonly reported: Sent[];
  ackedSum: number;
}

interface Checks {
  /** Every segment returned, before the model records it as sent. */
  segment?(run: Run, s: Segment, maxBytes: number, flowLimit: number): void;
  /** After every operation. */
  step?(run: Run): void;
  /** After the final drain: everything still in flight settled, then everything resent and acked. */
  end?(run: Run): void;
}

function send(run: Run, checks: Checks, maxBytes: number, flowLimit: number): Sent | undefined {
  agree(run.buffer.hasPending(flowLimit), run.model.hasPending(flowLimit), 'hasPending');
  const s = run.buffer.nextSegment(maxBytes, flowLimit);
  agree(s !== undefined, run.model.hasPending(flowLimit), 'nextSegment gives a segment');
  if (s === undefined) return undefined;
  checks.segment?.(run, s, maxBytes, flowLimit);
  const sent = keep(s);
  run.model.sendSegment(sent);
  return sent;
}

function acknowledge(run: Run, s: Sent): void {
  run.ackedSum += ack(run.buffer, s);
  run.model.ack(s);
  run.receiver.receive(s);
}

function runScenario(scenario: Scenario, checks: Checks): void {
  const { chunkSize, highWaterMark } = scenario;
  const run: Run = {
    buffer: new SendBuffer({ highWaterMark, chunkSize }),
    model: new Model(),
    receiver: new Receiver(),
    outstanding: [],
    reported: [],
    ackedSum: 0,
  };
  const { buffer, model, outstanding, reported } = run;
  const takeOutstanding = (pick: number): Sent | undefined => {
    if (outstanding.length === 0) return undefined;
    const [s] = outstanding.splice(pick % outstanding.length, 1);
    reported.push(s as Sent);
    return s;
  };
  for (const op of scenario.ops) {
    switch (op.op) {
      case 'write': {
        if (model.finMark >= 0) break;
        const data = op.data.slice();
        buffer.write(data);
        data.fill(0xee); // the application reuses its buffer
        model.write(op.data);
        break;
      }
      case 'endRecord':
        if (model.finMark >= 0) break;
        buffer.endRecord();
        model.endRecord();
        break;
      case 'finish':
        buffer.finish();
        model.finish();
        break;
      case 'send': {
        const flowLimit = op.ahead === null ? Infinity : Math.max(0, model.sent + op.ahead);
        const s = send(run, checks, op.maxBytes, flowLimit);
        if (s !== undefined) outstanding.push(s);
        break;
      }
      case 'ack': {
        const s = takeOutstanding(op.pick);
        if (s !== undefined) acknowledge(run, s);
        break;
      }
      case 'lose': {
        const s = takeOutstanding(op.pick);
        if (s !== undefined) {
          lose(buffer, s);
          model.lose(s);
        }
        break;
      }
      case 'ackAgain': {
        // A duplicate, or a late acknowledgement of a packet already declared lost.
        const s = reported[op.pick % Math.max(1, reported.length)];
        if (s !== undefined) acknowledge(run, s);
        break;
      }
    }
    checks.step?.(run);
  }
  buffer.finish();
  model.finish();
  for (const s of outstanding.splice(0).reverse()) {
    if (scenario.settle === 'ack') acknowledge(run, s);
    else {
      lose(buffer, s);
      model.lose(s);
    }
  }
  const bound = model.bytes.length + model.marks.length + 1;
  for (let i = 0; i < bound; i++) {
    const s = send(run, checks, scenario.drainBytes, Infinity);
    if (s === undefined) break;
    acknowledge(run, s);
    checks.step?.(run);
  }
  checks.end?.(run);
}

describe('SendBuffer against a reference model', () => {
  it('property: however segments are cut, lost, resent and acknowledged, every byte, record end and the FIN is acknowledged, and the bytes acknowledged are exactly those written', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) =>
        runScenario(scenario, {
          end({ buffer, model, receiver }) {
            agree(buffer.allAcked, true, 'allAcked');
            agree(receiver.bytes.length, model.bytes.length, 'bytes received');
            model.bytes.forEach((b, i) => agree(receiver.bytes[i], b, `byte ${i} received`));
            agree(receiver.marks.size, model.marks.length, 'record ends and FIN received');
          },
        }),
      ),
      { numRuns: 200 },
    );
  });

  it('property: each segment is the lowest lost item, else the next new one; new data stays below the flow limit; no segment crosses a record end, and recordEnd and fin are set exactly when it ends at them', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) =>
        runScenario(scenario, {
          segment: ({ model }, s, maxBytes, flowLimit) => model.check(s, maxBytes, flowLimit),
        }),
      ),
      { numRuns: 200 },
    );
  });

  it('property: after every call, buffered, unacknowledged, writable, sentOffset and the sum of onAcked results match the model', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) =>
        runScenario(scenario, {
          step({ buffer, model, ackedSum }) {
            const written = model.bytes.length;
            agree(buffer.writeOffset, written, 'writeOffset');
            agree(buffer.finished, model.finMark >= 0, 'finished');
            agree(buffer.buffered, written - model.ackedPrefix, 'buffered');
            agree(buffer.unacknowledged, written - model.ackedCount, 'unacknowledged');
            agree(buffer.writable, buffer.buffered < scenario.highWaterMark, 'writable');
            agree(buffer.sentOffset, model.sent, 'sentOffset');
            agree(buffer.allAcked, model.allAcked, 'allAcked');
            agree(ackedSum, model.ackedCount, 'sum of onAcked results');
          },
          end: ({ buffer, ackedSum }) => agree(ackedSum, buffer.writeOffset, 'sum of onAcked'),
        }),
      ),
      { numRuns: 200 },
    );
  });

  it('property: storage is released as the acknowledged prefix grows, and none is held once everything is acknowledged', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) =>
        runScenario(scenario, {
          step({ buffer }) {
            // Chunks are full but for the last, so the bytes held bound how many there are
            // (loosely with the default size, which this test does not pin down).
            const size = scenario.chunkSize ?? 1;
            const bound = Math.ceil(buffer.buffered / size) + 1;
            agree(buffer.chunkCount <= bound, true, `${buffer.chunkCount} chunks within ${bound}`);
          },
          end: ({ buffer }) => agree(buffer.chunkCount, 0, 'chunks held'),
        }),
      ),
      { numRuns: 200 },
    );
  });
});

describe('SendBuffer writing', () => {
  it('starts empty: nothing written, sent or pending, writable', () => {
    const buffer = new SendBuffer();
    expect(buffer.writeOffset).toBe(0);
    expect(buffer.sentOffset).toBe(0);
    expect(buffer.buffered).toBe(0);
    expect(buffer.unacknowledged).toBe(0);
    expect(buffer.writable).toBe(true);
    expect(buffer.finished).toBe(false);
    expect(buffer.allAcked).toBe(false);
    expect(buffer.hasPending(Infinity)).toBe(false);
    expect(buffer.nextSegment(1000, Infinity)).toBeUndefined();
  });

  it('copies what is written: the application may reuse its buffer at once', () => {
    const buffer = new SendBuffer();
    const scratch = filled(10);
    buffer.write(scratch);
    scratch.fill(0);
    expect([...(buffer.nextSegment(100, Infinity)?.data ?? [])]).toEqual([...filled(10)]);
  });

  it('write and endRecord after finish throw StreamClosedError; finish again is a no-op', () => {
    const buffer = new SendBuffer();
    buffer.write(filled(3));
    buffer.finish();
    buffer.finish();
    expect(() => buffer.write(filled(1))).toThrow(StreamClosedError);
    expect(() => buffer.endRecord()).toThrow(StreamClosedError);
    expect(buffer.writeOffset).toBe(3);
    expect(drain(buffer).map(shape)).toEqual(['0+3 r0 fin']);
  });

  it('writable turns false at the high-water mark and true again once the prefix is acknowledged', () => {
    const buffer = new SendBuffer({ highWaterMark: 100 });
    buffer.write(filled(99));
    expect(buffer.writable).toBe(true);
    buffer.write(filled(1));
    expect(buffer.writable).toBe(false);
    const [first, second] = drain(buffer, 50);
    ack(buffer, second as Sent);
    expect(buffer.writable).toBe(false);
    ack(buffer, first as Sent);
    expect(buffer.writable).toBe(true);
  });

  it('buffered counts bytes held behind a gap; unacknowledged counts only bytes never acknowledged', () => {
    const buffer = new SendBuffer();
    buffer.write(filled(30));
    const [, middle] = drain(buffer, 10);
    expect(ack(buffer, middle as Sent)).toBe(10);
    expect(buffer.buffered).toBe(30);
    expect(buffer.unacknowledged).toBe(20);
  });

  it('a long stream holds only the chunks it has not had acknowledged', () => {
    const buffer = new SendBuffer({ chunkSize: 4096 });
    const inFlight: Sent[] = [];
    let most = 0;
    for (let i = 0; i < 20_000; i++) {
      buffer.write(filled(500, i * 500));
      inFlight.push(...drain(buffer, 1200));
      // About 24 KB in flight: the acknowledgements trail the sends by 20 segments.
      while (inFlight.length > 20) ack(buffer, inFlight.shift() as Sent);
      most = Math.max(most, buffer.chunkCount);
    }
    expect(buffer.writeOffset).toBe(10_000_000);
    expect(most).toBeLessThanOrEqual(Math.ceil(24_500 / 4096) + 2);
    buffer.finish();
    for (const s of [...inFlight, ...drain(buffer)]) ack(buffer, s);
    expect(buffer.allAcked).toBe(true);
    expect(buffer.chunkCount).toBe(0);
  });
  it('a long stream of records numbers them right long after their history is forgotten', () => {
    const buffer = new SendBuffer({ chunkSize: 256 });
    const ends: number[] = [];
    let endsBefore = 0; // record ends at or below the offset of the latest data segment
    const inFlight: Sent[] = [];
    for (let i = 0; i < 5_000; i++) {
      buffer.write(filled(i % 7, i));
      buffer.endRecord();
      ends.push(buffer.writeOffset);
      if (i % 3 === 0) {
        buffer.endRecord();
        ends.push(buffer.writeOffset);
      }
      for (const s of drain(buffer, 4)) {
        if (s.data.length === 0) {
          expect(ends[s.record]).toBe(s.offset);
        } else {
          while ((ends[endsBefore] ?? Infinity) <= s.offset) endsBefore++;
          expect(s.record).toBe(endsBefore);
        }
        inFlight.push(s);
      }
      while (inFlight.length > 40) ack(buffer, inFlight.shift() as Sent);
    }
    buffer.finish();
    const rest = drain(buffer);
    // 5000 records, and an empty one after every third: 6667 records.
    expect(rest.map(shape)).toEqual([`${buffer.writeOffset}+0 r6667 fin`]);
    for (const s of [...inFlight, ...rest]) ack(buffer, s);
    expect(buffer.allAcked).toBe(true);
    expect(buffer.chunkCount).toBe(0);
  });
});

describe('SendBuffer segments', () => {
  it('cuts new data at maxBytes, at the flow limit and at every record end, flagging the segments that end one', () => {
    const buffer = new SendBuffer();
    buffer.write(filled(25));
    buffer.endRecord();
    buffer.write(filled(10));
    buffer.endRecord();
    buffer.write(filled(10));
    expect(drain(buffer, 10, 40).map(shape)).toEqual([
      '0+10 r0',
      '10+10 r0',
      '20+5 r0 end',
      '25+10 r1 end',
      '35+5 r2',
    ]);
    expect(buffer.hasPending(40)).toBe(false);
    expect(buffer.hasPending(41)).toBe(true);
    expect(buffer.sentOffset).toBe(40);
  });

  it('a record end written after its data was sent goes alone, in a zero-length segment', () => {
    const buffer = new SendBuffer();
    buffer.write(filled(5));
    const [data] = drain(buffer);
    buffer.endRecord();
    expect(buffer.hasPending(0)).toBe(true);
    const [end] = drain(buffer, 1000, 0);
    expect(shape(end as Sent)).toBe('5+0 r0 end');
    ack(buffer, data as Sent);
    buffer.finish();
    const [fin] = drain(buffer);
    expect(shape(fin as Sent)).toBe('5+0 r1 fin');
    ack(buffer, fin as Sent);
    // The record end is still unacknowledged: the stream is not done until it is.
    expect(buffer.allAcked).toBe(false);
    lose(buffer, end as Sent);
    // Resent now, it reaches the FIN at the same offset, which rides along.
    expect(drain(buffer).map(shape)).toEqual(['5+0 r0 end fin']);
    ack(buffer, end as Sent);
    expect(buffer.allAcked).toBe(true);
  });

  it('an empty record is a zero-length segment of its own, numbered after the record before it', () => {
    const buffer = new SendBuffer();
    buffer.endRecord();
    buffer.write(filled(4));
    buffer.endRecord();
    buffer.endRecord();
    buffer.write(filled(2));
    buffer.endRecord();
    buffer.finish();
    const segments = drain(buffer);
    expect(segments.map(shape)).toEqual([
      '0+0 r0 end',
      '0+4 r1 end',
      '4+0 r2 end',
      '4+2 r3 end fin',
    ]);
    for (const s of segments) ack(buffer, s);
    expect(buffer.allAcked).toBe(true);
  });

  it('finish with no data sends one zero-length FIN, and then everything is acknowledged', () => {
    const buffer = new SendBuffer();
    buffer.finish();
    expect(buffer.finished).toBe(true);
    expect(buffer.hasPending(0)).toBe(true);
    const segments = drain(buffer, 1000, 0);
    expect(segments.map(shape)).toEqual(['0+0 r0 fin']);
    expect(buffer.allAcked).toBe(false);
    expect(ack(buffer, segments[0] as Sent)).toBe(0);
    expect(buffer.allAcked).toBe(true);
  });

  it('the FIN rides on the last data segment, with a record end at the same offset', () => {
    const buffer = new SendBuffer();
    buffer.write(filled(8));
    buffer.endRecord();
    buffer.finish();
    expect(drain(buffer, 5).map(shape)).toEqual(['0+5 r0', '5+3 r0 end fin']);
  });

  it('resends lost data first, lowest offset first, cut afresh, even beyond a reduced flow limit', () => {
    const buffer = new SendBuffer();
    buffer.write(filled(100));
    const sent = drain(buffer, 20, 60);
    expect(sent.map(shape)).toEqual(['0+20 r0', '20+20 r0', '40+20 r0']);
    lose(buffer, sent[2] as Sent);
    lose(buffer, sent[0] as Sent);
    ack(buffer, sent[1] as Sent);
    const resent = drain(buffer, 15, 10);
    expect(resent.map(shape)).toEqual(['0+15 r0', '15+5 r0', '40+15 r0', '55+5 r0']);
    for (const s of resent) expect([...s.data]).toEqual([...filled(s.data.length, s.offset)]);
  });

  it('a retransmitted range may be acknowledged by the old packet; repeats count nothing', () => {
    const buffer = new SendBuffer();
    buffer.write(filled(30));
    buffer.endRecord();
    buffer.finish();
    const [original] = drain(buffer, 100);
    expect(shape(original as Sent)).toBe('0+30 r0 end fin');
    lose(buffer, original as Sent);
    const [first, second] = drain(buffer, 20);
    expect(shape(first as Sent)).toBe('0+20 r0');
    expect(shape(second as Sent)).toBe('20+10 r0 end fin');
    expect(ack(buffer, original as Sent)).toBe(30);
    expect(buffer.allAcked).toBe(true);
    expect(ack(buffer, first as Sent)).toBe(0);
    expect(ack(buffer, second as Sent)).toBe(0);
    expect(ack(buffer, original as Sent)).toBe(0);
    lose(buffer, second as Sent);
    expect(buffer.hasPending(Infinity)).toBe(false);
  });

  it('a bulk stream reuses the storage of a chunk once it is acknowledged, for the bytes written next', () => {
    const buffer = new SendBuffer({ chunkSize: 8 });
    buffer.write(filled(16));
    const first = buffer.nextSegment(8, Infinity) as Segment;
    const storage = first.data.buffer;
    expect(buffer.onAcked(0, 8, false)).toBe(8);
    buffer.write(filled(8, 16));
    expect(buffer.nextSegment(8, Infinity)?.offset).toBe(8);
    const third = buffer.nextSegment(8, Infinity) as Segment;
    expect(third.offset).toBe(16);
    expect(third.data.buffer).toBe(storage);
    expect([...third.data]).toEqual([...filled(8, 16)]);
    expect(buffer.chunkCount).toBe(2);
  });

  it('a short message alone is a chunk of its own size, handed out whole', () => {
    const buffer = new SendBuffer();
    const message = filled(32);
    buffer.write(message);
    const segment = buffer.nextSegment(1000, Infinity) as Segment;
    expect([...segment.data]).toEqual([...message]);
    expect(segment.data.buffer.byteLength).toBe(32);
  });

  it('a segment within one chunk is a view of it; one spanning chunks is a copy, intact', () => {
    const buffer = new SendBuffer({ chunkSize: 8 });
    buffer.write(filled(20));
    const within = buffer.nextSegment(6, Infinity) as Segment;
    expect(within.data.buffer.byteLength).toBe(8);
    const spanning = buffer.nextSegment(14, Infinity) as Segment;
    expect(spanning.offset).toBe(6);
    expect([...spanning.data]).toEqual([...filled(14, 6)]);
    expect(buffer.chunkCount).toBe(3);
  });
});

describe('SendBuffer arguments', () => {
  it('rejects bad options', () => {
    for (const highWaterMark of [0, -1, Number.NaN, Infinity]) {
      expect(() => new SendBuffer({ highWaterMark })).toThrow(InvalidParameterError);
    }
    for (const chunkSize of [0, -1, 1.5, Number.NaN]) {
      expect(() => new SendBuffer({ chunkSize })).toThrow(InvalidParameterError);
    }
  });

  it('rejects bad maxBytes and flowLimit', () => {
    const buffer = new SendBuffer();
    buffer.write(filled(10));
    for (const maxBytes of [0, -1, 2.5, Number.NaN, Infinity]) {
      expect(() => buffer.nextSegment(maxBytes, Infinity)).toThrow(InvalidParameterError);
    }
    for (const flowLimit of [-1, 2.5, Number.NaN, -Infinity]) {
      expect(() => buffer.nextSegment(10, flowLimit)).toThrow(InvalidParameterError);
      expect(() => buffer.hasPending(flowLimit)).toThrow(InvalidParameterError);
    }
  });

  it('rejects a write that is not a Uint8Array', () => {
    const buffer = new SendBuffer();
    expect(() => buffer.write([1, 2] as unknown as Uint8Array)).toThrow(InvalidParameterError);
  });

  it('rejects reports of what was never sent', () => {
    const buffer = new SendBuffer();
    buffer.write(filled(10));
    buffer.endRecord();
    buffer.nextSegment(5, Infinity);
    const bad: [number, number, boolean, number?][] = [
      [-1, 2, false],
      [0, -1, false],
      [1.5, 2, false],
      [0, 6, false],
      [0, 5, true],
      [0, 5, false, 0],
      [0, 5, false, -1],
    ];
    for (const [offset, length, fin, record] of bad) {
      expect(() => buffer.onAcked(offset, length, fin, record)).toThrow(InvalidParameterError);
      expect(() => buffer.onLost(offset, length, fin, record)).toThrow(InvalidParameterError);
    }
    buffer.finish();
    drain(buffer);
    // Marker 1 is the FIN, not a record end.
    expect(() => buffer.onAcked(10, 0, false, 1)).toThrow(InvalidParameterError);
  });
});
