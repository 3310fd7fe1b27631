import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../src/net/errors.js';
import { ReceiveBuffer, type ReceiveOutcome } from '../../src/streams/receive-buffer.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function text(s: string): Uint8Array {
  return encoder.encode(s);
}

function str(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : decoder.decode(bytes);
}

/** Cheaper than expect() in the hot loops of properties; fast-check reports the message. */
function agree<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected)
    throw new Error(`${what}: got ${String(actual)}, expected ${String(expected)}`);
}

function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array | undefined, what: string) {
  const ok =
    actual === undefined || expected === undefined
      ? actual === expected
      : actual.length === expected.length && actual.every((b, i) => b === expected[i]);
  if (!ok) throw new Error(`${what}: got ${String(actual)}, expected ${String(expected)}`);
}

/** Every getter: a refused segment must leave all of them as they were. */
function snapshot(rb: ReceiveBuffer): string {
  return JSON.stringify([
    rb.available,
    rb.buffered,
    rb.pendingRecords,
    rb.pendingRecordSize,
    rb.atEnd,
    rb.maxOffset,
    rb.window,
    rb.blocked,
    rb.windowUpdateDue,
  ]);
}

type Op =
  /** A data segment from `at`, or with `mark` a zero-length segment carrying a record end. */
  | { kind: 'send'; at: number; length: number; fin: boolean; mark: boolean }
  | { kind: 'read'; record: boolean; max: number | undefined }
  | { kind: 'advertise' }
  | { kind: 'resize'; window: number }
  | { kind: 'grow'; by: number }
  /** A segment ending `beyond + 1` bytes past maxOffset. */
  | { kind: 'violate'; beyond: number; length: number; flags: number }
  /** A FIN at another final size, data beyond the final size, or a FIN below data received. */
  | { kind: 'contradict'; at: number; data: boolean };

/** How the reader reads: bytes (records unbounded), whole records only, or anything. */
type ReaderStyle = 'bytes' | 'records' | 'any';

interface Scenario {
  /** The records as written: the first may be empty (the one empty record the wire can carry). */
  readonly records: readonly Uint8Array[];
  /** Whether the last record has a record end of its own; otherwise only the FIN ends it. */
  readonly terminated: boolean;
  readonly window: number;
  readonly ops: readonly Op[];
}

/**
 * A sender that respects the advertised maxOffset and cuts, repeats and reorders segments at
 * random, a reader, and the model: what the receiver has been told (bytes, record ends, the FIN)
 * and what the reader has consumed. Every receive outcome is checked against the model.
 */
class Simulation {
  readonly rb: ReceiveBuffer;
  readonly stream: Uint8Array;
  readonly length: number;
  /** Where records end, ascending; 0 when the first record is empty. */
  readonly boundaries: number[] = [];
  readonly firstEmpty: boolean;
  /** Segments are handed over in this reused buffer, as a packet buffer would be. */
  readonly #scratch: Uint8Array;
  sendLimit: number;
  lastAdvertised: number;
  #markerZeroSent = false;
  readonly received: boolean[];
  /** Record ends the receiver has been told of (data ending there, a zero-length mark, the FIN). */
  readonly known = new Set<number>();
  cursor = 0;
  finSeen = false;
  emptyFirst: 'absent' | 'pending' | 'read' = 'absent';
  highest = 0;
  /** What each read returned, in order, and the max it was given. */
  readonly reads: { data: Uint8Array; from: number; max: number | undefined }[] = [];

  /**
   * @param owned hand each segment over in an array of its own that is never changed, with
   *   `owned`, as the stream layer does with a packet's frames.
   */
  constructor(
    scenario: Scenario,
    readonly owned = false,
  ) {
    this.rb = new ReceiveBuffer({ window: scenario.window });
    const { records, terminated } = scenario;
    this.length = records.reduce((n, r) => n + r.length, 0);
    this.stream = new Uint8Array(this.length);
    let at = 0;
    records.forEach((record, k) => {
      this.stream.set(record, at);
      at += record.length;
      if (record.length === 0 || k < records.length - 1 || terminated) this.boundaries.push(at);
    });
    this.firstEmpty = records[0]?.length === 0;
    this.received = new Array<boolean>(this.length).fill(false);
    this.#scratch = new Uint8Array(this.length);
    this.sendLimit = scenario.window;
    this.lastAdvertised = scenario.window;
  }

  get readableEnd(): number {
    let i = this.cursor;
    while (i < this.length && this.received[i]) i++;
    return i;
  }

  /** The first record end the receiver knows of beyond the read position. */
  get nextKnownEnd(): number | undefined {
    let next: number | undefined;
    for (const x of this.known) if (x > this.cursor && (next === undefined || x < next)) next = x;
    return next;
  }

  get modelBuffered(): number {
    let n = 0;
    for (let i = this.cursor; i < this.length; i++) if (this.received[i]) n++;
    return n;
  }

  get modelPendingRecords(): number {
    const readable = this.readableEnd;
    let n = this.emptyFirst === 'pending' ? 1 : 0;
    for (const x of this.known) if (x > this.cursor && x <= readable) n++;
    return n;
  }

  get modelPendingRecordSize(): number {
    if (this.emptyFirst === 'pending') return 0;
    const next = this.nextKnownEnd;
    return next !== undefined && next <= this.readableEnd ? next - this.cursor : -1;
  }

  get modelAtEnd(): boolean {
    return this.finSeen && this.cursor === this.length && this.emptyFirst !== 'pending';
  }

  /** Hands a segment of the stream to the receiver and checks the outcome against the model. */
  deliver(offset: number, end: number, recordEnd: boolean, fin: boolean): ReceiveOutcome {
    let fresh = false;
    for (let i = Math.max(offset, this.cursor); i < end; i++) fresh ||= !this.received[i];
    const newEnd =
      recordEnd &&
      (end === 0
        ? this.emptyFirst === 'absent' && this.cursor === 0
        : end - 1 >= this.cursor && !this.known.has(end));
    const expected = fresh || newEnd || (fin && !this.finSeen) ? 'ok' : 'duplicate';
    let outcome: ReceiveOutcome;
    if (this.owned) {
      outcome = this.rb.receive(offset, this.stream.slice(offset, end), recordEnd, fin, true);
    } else {
      this.#scratch.set(this.stream.subarray(offset, end));
      outcome = this.rb.receive(offset, this.#scratch.subarray(0, end - offset), recordEnd, fin);
      this.#scratch.fill(0xee); // the packet buffer is reused at once
    }
    agree(
      outcome,
      expected,
      `receive(${offset}..${end}${recordEnd ? ' end' : ''}${fin ? ' fin' : ''})`,
    );
    for (let i = offset; i < end; i++) this.received[i] = true;
    if (recordEnd && end === 0 && newEnd) this.emptyFirst = 'pending';
    if (recordEnd && end > 0) this.known.add(end);
    if (fin && !this.finSeen) {
      this.finSeen = true;
      if (end > 0) this.known.add(end);
    }
    if (end > offset || recordEnd) this.highest = Math.max(this.highest, end);
    return outcome;
  }

  /** The first record end or the end of the stream beyond `a`: no segment crosses one. */
  #segmentEndAfter(a: number): number {
    return this.boundaries.find((x) => x > a) ?? this.length;
  }

  /** The empty first record's end goes first, as the send buffer sends it before any byte. */
  #sendMarkerZero(): void {
    if (!this.firstEmpty || this.#markerZeroSent) return;
    this.#markerZeroSent = true;
    this.deliver(0, 0, true, false);
  }

  #sendData(a: number, b: number, finWanted: boolean): void {
    this.#sendMarkerZero();
    this.deliver(a, b, this.boundaries.includes(b), b === this.length && finWanted);
  }

  send(op: Extract<Op, { kind: 'send' }>): void {
    const sendable = Math.min(this.length, this.sendLimit);
    if (op.mark) {
      // A record end (or the FIN) alone, as the send buffer sends one whose data went earlier.
      const points = this.boundaries.filter((x) => x <= sendable);
      if (this.length <= this.sendLimit && !this.boundaries.includes(this.length)) {
        points.push(this.length);
      }
      const x = points[op.at % Math.max(1, points.length)];
      if (x === undefined) return;
      const recordEnd = this.boundaries.includes(x);
      const fin = x === this.length && op.fin;
      if (!recordEnd && !fin) return;
      if (x === 0 && recordEnd) this.#markerZeroSent = true;
      this.deliver(x, x, recordEnd, fin);
      return;
    }
    if (sendable === 0) return;
    const a = op.at % sendable;
    const b = Math.min(a + 1 + op.length, this.#segmentEndAfter(a), sendable);
    this.#sendData(a, b, op.fin);
  }

  readData(max: number | undefined): void {
    const from = this.cursor;
    const data = this.rb.readData(max);
    if (this.emptyFirst === 'pending') this.emptyFirst = 'read';
    let n = Math.min(max ?? Infinity, this.readableEnd - this.cursor);
    const next = this.nextKnownEnd;
    if (next !== undefined && next < this.cursor + n) n = next - this.cursor;
    sameBytes(data, this.stream.subarray(from, from + n), `readData(${max}) at ${from}`);
    this.cursor += n;
    this.reads.push({ data, from, max });
  }

  readRecord(max: number | undefined): void {
    const from = this.cursor;
    const data = this.rb.readRecord(max);
    let expected: Uint8Array | undefined;
    if (this.emptyFirst === 'pending') {
      this.emptyFirst = 'read';
      expected = new Uint8Array(0);
    } else {
      const next = this.nextKnownEnd;
      if (next !== undefined && next <= this.readableEnd) {
        expected = this.stream.subarray(from, Math.min(next, from + (max ?? Infinity)));
        this.cursor = next;
      }
    }
    sameBytes(data, expected, `readRecord(${max}) at ${from}`);
    if (data !== undefined) this.reads.push({ data, from, max });
  }

  advertise(): void {
    if (!this.rb.windowUpdateDue) return;
    const offset = this.rb.advertised();
    agree(offset >= this.lastAdvertised, true, `advertised ${offset} after ${this.lastAdvertised}`);
    this.lastAdvertised = offset;
    this.sendLimit = offset;
  }

  /** A segment past maxOffset: refused as flow-control, and nothing changes. */
  violate(op: Extract<Op, { kind: 'violate' }>): void {
    const end = this.rb.maxOffset + 1 + op.beyond;
    const length = Math.min(op.length, end);
    const before = snapshot(this.rb);
    const outcome = this.rb.receive(
      end - length,
      new Uint8Array(length).fill(0x5a),
      (op.flags & 1) !== 0,
      (op.flags & 2) !== 0,
    );
    agree(outcome, 'flow-control', `receive ending at ${end}, past maxOffset`);
    agree(snapshot(this.rb), before, 'state after a refused segment');
  }

  /** A segment contradicting the final size: refused as final-size, and nothing changes. */
  contradict(op: Extract<Op, { kind: 'contradict' }>): void {
    const max = this.rb.maxOffset;
    let offset: number;
    let length = 0;
    let fin = true;
    if (this.finSeen) {
      if (op.data && this.length < max) {
        offset = this.length + (op.at % (max - this.length));
        length = 1;
        fin = false;
      } else {
        offset = op.at % (max + 1);
        if (offset === this.length) offset = offset > 0 ? offset - 1 : offset + 1;
      }
    } else {
      if (this.highest === 0) return;
      offset = op.at % this.highest;
    }
    const before = snapshot(this.rb);
    const outcome = this.rb.receive(offset, new Uint8Array(length), false, fin);
    agree(outcome, 'final-size', `receive(${offset}+${length}${fin ? ' fin' : ''})`);
    agree(snapshot(this.rb), before, 'state after a refused segment');
  }

  step(op: Op, style: ReaderStyle): void {
    switch (op.kind) {
      case 'send':
        return this.send(op);
      case 'read':
        if (style === 'records' || (style === 'any' && op.record)) {
          this.readRecord(op.max);
        } else if (style === 'bytes' && op.record) {
          this.readRecord(undefined);
        } else {
          this.readData(op.max);
        }
        return;
      case 'advertise':
        return this.advertise();
      case 'resize':
        return this.rb.setWindow(op.window);
      case 'grow':
        return this.rb.setWindow(this.rb.window + op.by);
      case 'violate':
        return this.violate(op);
      case 'contradict':
        return this.contradict(op);
    }
  }

  /**
   * Then the sender sends everything missing and the reader reads everything, round after round,
   * until the stream is at its end. Each round the window moves, so this always gets there.
   */
  finish(style: ReaderStyle, afterEach: () => void): void {
    for (let round = 0; round <= this.length + 3 && !this.rb.atEnd; round++) {
      this.#sendMarkerZero();
      const sendable = Math.min(this.length, this.sendLimit);
      for (let a = this.cursor; a < sendable;) {
        if (this.received[a]) {
          a++;
          continue;
        }
        let b = a + 1;
        const stop = Math.min(this.#segmentEndAfter(a), sendable);
        while (b < stop && !this.received[b]) b++;
        this.#sendData(a, b, true);
        afterEach();
        a = b;
      }
      if (!this.finSeen && this.length <= this.sendLimit) {
        this.deliver(this.length, this.length, this.boundaries.includes(this.length), true);
        afterEach();
      }
      for (;;) {
        if (this.rb.pendingRecords > 0 && style !== 'bytes') this.readRecord(undefined);
        else if (style !== 'records' && (this.rb.available > 0 || this.rb.pendingRecords > 0)) {
          this.readData(undefined);
        } else break;
        afterEach();
      }
      this.advertise();
      afterEach();
    }
    agree(this.rb.atEnd, true, 'atEnd after everything was sent and read');
  }

  run(ops: readonly Op[], style: ReaderStyle, afterEach: () => void = () => undefined): void {
    for (const op of ops) {
      this.step(op, style);
      afterEach();
    }
    this.finish(style, afterEach);
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const recordsArb = fc
  .tuple(
    fc.nat(4).map((n) => n === 0),
    fc.array(fc.uint8Array({ minLength: 1, maxLength: 12 }), { maxLength: 40 }),
  )
  .map(([firstEmpty, rest]) => (firstEmpty ? [new Uint8Array(0), ...rest] : rest));

const sendArb = fc.record({
  kind: fc.constant('send' as const),
  at: fc.nat(),
  length: fc.nat(15),
  fin: fc.boolean(),
  mark: fc.nat(7).map((n) => n === 0),
});
const readArb = fc.record({
  kind: fc.constant('read' as const),
  record: fc.boolean(),
  max: fc.option(fc.nat(16), { nil: undefined }),
});
const advertiseArb = fc.constant({ kind: 'advertise' as const });

/** Ops of the common kinds, plus `extra` ones. */
function opsArb(...extra: fc.WeightedArbitrary<Op>[]): fc.Arbitrary<Op[]> {
  return fc.array(
    fc.oneof(
      { weight: 10, arbitrary: sendArb },
      { weight: 6, arbitrary: readArb },
      { weight: 2, arbitrary: advertiseArb },
      ...extra,
    ),
    { maxLength: 250 },
  );
}

function scenarioArb(
  options: { minWindow?: number; extra?: fc.WeightedArbitrary<Op>[] } = {},
): fc.Arbitrary<Scenario> {
  return fc.record({
    records: recordsArb,
    terminated: fc.boolean(),
    window: fc.integer({ min: options.minWindow ?? 4, max: 64 }),
    ops: opsArb(...(options.extra ?? [])),
  });
}

describe('ReceiveBuffer', () => {
  describe('properties', () => {
    it('property: every byte comes out exactly once, in order and intact, however segments are cut, repeated and reordered, and no read crosses a record end', () => {
      fc.assert(
        fc.property(scenarioArb(), (scenario) => {
          const sim = new Simulation(scenario);
          sim.run(scenario.ops, 'bytes');
          sameBytes(concat(sim.reads.map((r) => r.data)), sim.stream, 'bytes read');
          const ends = [...sim.boundaries, sim.length];
          for (const { data, from } of sim.reads) {
            const inside = ends.find((x) => x > from && x < from + data.length);
            agree(inside, undefined, `record end inside the read at ${from}+${data.length}`);
          }
        }),
      );
    });

    it('property: readRecord gives every record whole and as written, cut to max when max is smaller, the FIN ending an unterminated last one', () => {
      fc.assert(
        fc.property(scenarioArb({ minWindow: 24 }), (scenario) => {
          // Records of at most 12 bytes in a window of at least 24: half a window holds any of them,
          // so the window updates always come in time for a reader of whole records.
          const sim = new Simulation(scenario);
          sim.run(scenario.ops, 'records');
          agree(sim.reads.length, scenario.records.length, 'records read');
          sim.reads.forEach(({ data, max }, i) => {
            const written = scenario.records[i] as Uint8Array;
            sameBytes(data, written.subarray(0, max ?? Infinity), `record ${i}, max ${max}`);
          });
        }),
      );
    });

    it('property: available, buffered, pendingRecords, pendingRecordSize and every read agree with a model of what was received and consumed, at every step', () => {
      fc.assert(
        fc.property(scenarioArb(), (scenario) => {
          const sim = new Simulation(scenario);
          const rb = sim.rb;
          sim.run(scenario.ops, 'any', () => {
            agree(rb.available, sim.readableEnd - sim.cursor, 'available');
            agree(rb.buffered, sim.modelBuffered, 'buffered');
            agree(rb.pendingRecords, sim.modelPendingRecords, 'pendingRecords');
            agree(rb.pendingRecordSize, sim.modelPendingRecordSize, 'pendingRecordSize');
          });
        }),
      );
    });

    it('property: segments handed over as owned, kept as they came when they can be, give the same reads and figures, and no read changes afterwards', () => {
      fc.assert(
        fc.property(scenarioArb(), (scenario) => {
          const sim = new Simulation(scenario, true);
          const rb = sim.rb;
          sim.run(scenario.ops, 'any', () => {
            agree(rb.available, sim.readableEnd - sim.cursor, 'available');
            agree(rb.buffered, sim.modelBuffered, 'buffered');
            agree(rb.pendingRecords, sim.modelPendingRecords, 'pendingRecords');
            agree(rb.pendingRecordSize, sim.modelPendingRecordSize, 'pendingRecordSize');
          });
          for (const { data, from } of sim.reads) {
            sameBytes(data, sim.stream.subarray(from, from + data.length), `read at ${from}`);
          }
        }),
      );
    });

    it('owned segments that arrive in order are read without a copy; others are copied as usual', () => {
      const rb = new ReceiveBuffer({ window: 100 });
      const first = Uint8Array.from([1, 2, 3, 4]);
      expect(rb.receive(0, first, false, false, true)).toBe('ok');
      const read = rb.readData(3);
      expect([...read]).toEqual([1, 2, 3]);
      expect(read.buffer).toBe(first.buffer);
      // A segment arriving while bytes are held moves them into storage first.
      expect(rb.receive(4, Uint8Array.from([5, 6]), false, false, true)).toBe('ok');
      expect(rb.receive(8, Uint8Array.from([9]), false, false, true)).toBe('ok');
      expect([...rb.readData()]).toEqual([4, 5, 6]);
      expect(rb.receive(6, Uint8Array.from([7, 8]), true, false, true)).toBe('ok');
      expect([...(rb.readRecord() ?? [])]).toEqual([7, 8]);
      expect([...rb.readData()]).toEqual([9]);
      expect(rb.buffered).toBe(0);
    });

    it('property: atEnd holds exactly when the FIN has arrived and everything before it is consumed', () => {
      fc.assert(
        fc.property(scenarioArb(), (scenario) => {
          const sim = new Simulation(scenario);
          sim.run(scenario.ops, 'any', () => agree(sim.rb.atEnd, sim.modelAtEnd, 'atEnd'));
        }),
      );
    });

    it('property: buffered never exceeds the window while the sender stays below the advertised maxOffset, and blocked says when it is full', () => {
      const grow = fc.record({ kind: fc.constant('grow' as const), by: fc.nat(16) });
      fc.assert(
        fc.property(scenarioArb({ extra: [{ weight: 1, arbitrary: grow }] }), (scenario) => {
          const sim = new Simulation(scenario);
          const rb = sim.rb;
          sim.run(scenario.ops, 'any', () => {
            agree(rb.buffered <= rb.window, true, `buffered ${rb.buffered} <= ${rb.window}`);
            agree(rb.blocked, rb.buffered >= rb.window, 'blocked');
          });
        }),
      );
    });

    it('property: a segment ending beyond maxOffset returns flow-control and changes nothing', () => {
      const violate = fc.record({
        kind: fc.constant('violate' as const),
        beyond: fc.nat(40),
        length: fc.nat(8),
        flags: fc.nat(3),
      });
      fc.assert(
        fc.property(scenarioArb({ extra: [{ weight: 3, arbitrary: violate }] }), (scenario) => {
          const sim = new Simulation(scenario);
          sim.run(scenario.ops, 'bytes');
          sameBytes(concat(sim.reads.map((r) => r.data)), sim.stream, 'bytes read');
        }),
      );
    });

    it('property: a FIN contradicting the final size, data beyond it, or a FIN below data received returns final-size and changes nothing', () => {
      const contradict = fc.record({
        kind: fc.constant('contradict' as const),
        at: fc.nat(),
        data: fc.boolean(),
      });
      fc.assert(
        fc.property(scenarioArb({ extra: [{ weight: 3, arbitrary: contradict }] }), (scenario) => {
          const sim = new Simulation(scenario);
          sim.run(scenario.ops, 'bytes');
          // Now the FIN is known and everything read: each contradiction is refused again.
          for (const op of scenario.ops) if (op.kind === 'contradict') sim.contradict(op);
          sameBytes(concat(sim.reads.map((r) => r.data)), sim.stream, 'bytes read');
          agree(sim.rb.atEnd, true, 'atEnd');
        }),
      );
    });

    it('property: maxOffset and the advertised values never go down, whatever the window does; buffered stays within maxOffset', () => {
      const resize = fc.record({
        kind: fc.constant('resize' as const),
        window: fc.integer({ min: 1, max: 80 }),
      });
      fc.assert(
        fc.property(scenarioArb({ extra: [{ weight: 2, arbitrary: resize }] }), (scenario) => {
          const sim = new Simulation(scenario);
          const rb = sim.rb;
          let maxOffset = rb.maxOffset;
          sim.run(scenario.ops, 'any', () => {
            agree(rb.maxOffset, Math.max(maxOffset, sim.cursor + rb.window), 'maxOffset');
            maxOffset = rb.maxOffset;
            agree(rb.buffered <= rb.maxOffset - sim.cursor, true, 'buffered within maxOffset');
            agree(
              rb.windowUpdateDue,
              !sim.finSeen && rb.maxOffset - sim.lastAdvertised >= rb.window / 2,
              'windowUpdateDue',
            );
          });
        }),
      );
    });
  });

  describe('reassembly', () => {
    it('starts empty: nothing readable, no record, window open, not at end', () => {
      const rb = new ReceiveBuffer();
      expect(rb.window).toBe(256 * 1024);
      expect(rb.maxOffset).toBe(256 * 1024);
      expect([rb.available, rb.buffered, rb.pendingRecords, rb.pendingRecordSize]).toEqual([
        0, 0, 0, -1,
      ]);
      expect([rb.atEnd, rb.blocked, rb.windowUpdateDue]).toEqual([false, false, false]);
      expect(rb.readData()).toEqual(new Uint8Array(0));
      expect(rb.readRecord()).toBeUndefined();
    });

    it('copies what it keeps: the packet buffer may be reused at once', () => {
      const rb = new ReceiveBuffer();
      const packet = text('hello world');
      expect(rb.receive(0, packet.subarray(0, 5), false, false)).toBe('ok');
      packet.fill(0);
      expect(str(rb.readData())).toBe('hello');
    });

    it('puts out-of-order, overlapping and repeated segments back in order; one adding nothing is a duplicate', () => {
      const rb = new ReceiveBuffer();
      expect(rb.receive(6, text('world'), false, false)).toBe('ok');
      expect(rb.available).toBe(0);
      expect(rb.buffered).toBe(5);
      expect(rb.receive(3, text('lo wo'), false, false)).toBe('ok'); // overlaps, cut differently
      expect(rb.receive(7, text('orl'), false, false)).toBe('duplicate');
      expect(rb.available).toBe(0);
      expect(rb.receive(0, text('hel'), false, false)).toBe('ok');
      expect(rb.available).toBe(11);
      expect(str(rb.readData(4))).toBe('hell');
      expect(rb.receive(0, text('hello'), false, false)).toBe('duplicate'); // partly consumed
      expect(str(rb.readData())).toBe('o world');
      expect(rb.buffered).toBe(0);
    });

    it('keeps the first copy of a byte: a retransmission with other bytes cannot change it', () => {
      const rb = new ReceiveBuffer();
      rb.receive(0, text('abc'), false, false);
      expect(rb.receive(1, text('XYZ'), false, false)).toBe('ok');
      expect(str(rb.readData())).toBe('abcZ');
    });

    it('a long stream through a small window comes out intact while storage slides and grows', () => {
      const rb = new ReceiveBuffer({ window: 100 });
      const stream = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);
      const out: Uint8Array[] = [];
      // Each round sends the window's second half before its first, then reads unevenly.
      for (let at = 0; at < stream.length;) {
        const limit = Math.min(rb.maxOffset, stream.length);
        const mid = at + Math.floor((limit - at) / 2);
        expect(rb.receive(mid, stream.subarray(mid, limit), false, false)).toBe('ok');
        expect(rb.receive(at, stream.subarray(at, mid), false, false)).toBe('ok');
        out.push(rb.readData(37), rb.readData());
        at = limit;
      }
      expect(concat(out)).toEqual(stream);
    });
  });

  describe('records', () => {
    it('a long stream of records through a small window comes out whole while storage grows and slides under unread ones', () => {
      const rb = new ReceiveBuffer({ window: 64 });
      const records = Array.from({ length: 600 }, (_, k) =>
        Uint8Array.from({ length: 1 + (k % 9) }, (_, i) => (k * 31 + i) & 0xff),
      );
      const stream = concat(records);
      const ends = new Set<number>();
      records.reduce((at, r) => (ends.add(at + r.length), at + r.length), 0);
      const out: Uint8Array[] = [];
      for (let sent = 0; out.length < records.length;) {
        const limit = Math.min(rb.maxOffset, stream.length);
        const cuts: number[] = [];
        for (let at = sent + 1; at <= limit; at++) if (ends.has(at) || at === limit) cuts.push(at);
        // Each record in a segment of its own, the last first.
        for (let k = cuts.length - 1; k >= 0; k--) {
          const [a, b] = [cuts[k - 1] ?? sent, cuts[k] as number];
          expect(rb.receive(a, stream.subarray(a, b), ends.has(b), b === stream.length)).toBe('ok');
        }
        sent = limit;
        // One complete record stays unread until the end, so storage moves under its end.
        while (rb.pendingRecords > (sent === stream.length ? 0 : 1)) {
          out.push(rb.readRecord() as Uint8Array);
        }
      }
      expect(out).toEqual(records);
      expect(rb.atEnd).toBe(true);
    });

    it('readData stops at a record end; readRecord then starts at the next record', () => {
      const rb = new ReceiveBuffer();
      rb.receive(0, text('one'), true, false);
      rb.receive(3, text('two'), true, false);
      rb.receive(6, text('thr'), false, false);
      expect(rb.available).toBe(9);
      expect(rb.pendingRecords).toBe(2);
      expect(str(rb.readData())).toBe('one');
      expect(rb.pendingRecords).toBe(1);
      expect(str(rb.readRecord())).toBe('two');
      expect(rb.readRecord()).toBeUndefined(); // 'thr' has no end yet
      expect(str(rb.readData(2))).toBe('th');
      rb.receive(9, text('ee'), true, false);
      expect(rb.pendingRecordSize).toBe(3);
      expect(str(rb.readRecord())).toBe('ree'); // the rest of the record readData started
    });

    it('a record end that arrives before the bytes before it is kept', () => {
      const rb = new ReceiveBuffer();
      expect(rb.receive(4, text('ef'), true, false)).toBe('ok');
      expect(rb.receive(2, new Uint8Array(0), true, false)).toBe('ok'); // a record end alone
      expect(rb.receive(2, new Uint8Array(0), true, false)).toBe('duplicate');
      expect(rb.pendingRecords).toBe(0);
      rb.receive(0, text('abcd'), false, false);
      expect(rb.pendingRecords).toBe(2);
      expect(rb.pendingRecordSize).toBe(2);
      expect([str(rb.readRecord()), str(rb.readRecord()), rb.readRecord()]).toEqual([
        'ab',
        'cdef',
        undefined,
      ]);

      // The end of a 32-byte record, alone and early: it counts once all 32 bytes are there.
      const wide = new ReceiveBuffer();
      wide.receive(32, new Uint8Array(0), true, false);
      wide.receive(0, new Uint8Array(31), false, false);
      expect([wide.available, wide.pendingRecords]).toEqual([31, 0]);
      wide.receive(31, new Uint8Array(1), false, false);
      expect([wide.pendingRecords, wide.pendingRecordSize]).toEqual([1, 32]);
    });

    it('readRecord discards what does not fit in max but consumes the whole record', () => {
      const rb = new ReceiveBuffer();
      rb.receive(0, text('abcdef'), true, false);
      rb.receive(6, text('gh'), true, false);
      expect(str(rb.readRecord(4))).toBe('abcd');
      expect(str(rb.readRecord(0))).toBe('');
      expect(rb.pendingRecords).toBe(0);
      expect(rb.buffered).toBe(0);
    });

    it('a record end repeated at the same offset is the same record end, even alone in a zero-length segment', () => {
      const rb = new ReceiveBuffer();
      rb.receive(0, text('ab'), true, false);
      expect(rb.receive(2, new Uint8Array(0), true, false)).toBe('duplicate');
      expect(rb.receive(1, text('b'), true, false)).toBe('duplicate');
      expect(rb.pendingRecords).toBe(1);
      expect(str(rb.readRecord())).toBe('ab');
      // Once consumed, a late copy of its end changes nothing either.
      expect(rb.receive(2, new Uint8Array(0), true, false)).toBe('duplicate');
      expect(rb.pendingRecords).toBe(0);
    });

    it('an empty first record reads as an empty array; readData passes over it', () => {
      const rb = new ReceiveBuffer();
      expect(rb.receive(0, new Uint8Array(0), true, false)).toBe('ok');
      rb.receive(0, text('next'), true, false);
      expect(rb.pendingRecords).toBe(2);
      expect(rb.pendingRecordSize).toBe(0);
      expect(rb.readRecord()).toEqual(new Uint8Array(0));
      expect(rb.receive(0, new Uint8Array(0), true, false)).toBe('duplicate');
      expect(str(rb.readRecord())).toBe('next');

      // Once a FIN at 0 has ended the stream, a late empty record is not made up after the end.
      const ended = new ReceiveBuffer();
      ended.receive(0, new Uint8Array(0), false, true);
      expect(ended.receive(0, new Uint8Array(0), true, false)).toBe('duplicate');
      expect([ended.atEnd, ended.pendingRecords]).toEqual([true, 0]);

      const bytesReader = new ReceiveBuffer();
      bytesReader.receive(0, new Uint8Array(0), true, true); // a stream of one empty record
      expect(bytesReader.atEnd).toBe(false);
      expect(bytesReader.readData()).toEqual(new Uint8Array(0));
      expect(bytesReader.atEnd).toBe(true);
    });

    it('the FIN ends an unterminated last record', () => {
      const rb = new ReceiveBuffer();
      rb.receive(0, text('tail'), false, false);
      expect(rb.pendingRecords).toBe(0);
      expect(rb.receive(4, new Uint8Array(0), false, true)).toBe('ok');
      expect(rb.pendingRecords).toBe(1);
      expect(str(rb.readRecord())).toBe('tail');
      expect(rb.atEnd).toBe(true);
    });
  });

  describe('end of stream', () => {
    it('atEnd once the FIN has arrived and everything before it is consumed', () => {
      const rb = new ReceiveBuffer();
      rb.receive(3, text('def'), false, true);
      expect(rb.atEnd).toBe(false);
      rb.receive(0, text('abc'), false, false);
      expect(str(rb.readData(5))).toBe('abcde');
      expect(rb.atEnd).toBe(false);
      expect(str(rb.readData())).toBe('f');
      expect(rb.atEnd).toBe(true);
      expect(rb.receive(0, text('abcdef'), false, true)).toBe('duplicate');

      // A record end or FIN after readData took the record's bytes: there is no record left.
      const late = new ReceiveBuffer();
      late.receive(0, text('abc'), false, false);
      expect(str(late.readData())).toBe('abc');
      expect(late.receive(3, new Uint8Array(0), true, false)).toBe('duplicate');
      expect(late.receive(3, new Uint8Array(0), false, true)).toBe('ok');
      expect([late.pendingRecords, late.pendingRecordSize, late.atEnd]).toEqual([0, -1, true]);

      const empty = new ReceiveBuffer();
      expect(empty.receive(0, new Uint8Array(0), false, true)).toBe('ok');
      expect([empty.atEnd, empty.pendingRecords]).toEqual([true, 0]);
    });

    it('final-size: a FIN elsewhere than the first, data beyond it, or a FIN below bytes received', () => {
      const rb = new ReceiveBuffer();
      rb.receive(0, text('abcdef'), false, false);
      expect(rb.receive(0, text('abc'), false, true)).toBe('final-size');
      expect(rb.receive(6, new Uint8Array(0), false, true)).toBe('ok');
      expect(rb.receive(7, new Uint8Array(0), false, true)).toBe('final-size');
      expect(rb.receive(6, text('g'), false, false)).toBe('final-size');
      expect(rb.receive(6, new Uint8Array(0), true, false)).toBe('duplicate'); // the FIN's own end
      expect(rb.receive(7, new Uint8Array(0), true, false)).toBe('final-size');
      expect(rb.receive(4, text('ef'), false, true)).toBe('duplicate');
      expect(str(rb.readData())).toBe('abcdef');
    });

    it('asks for no window update after the FIN: the peer needs no room beyond the final size', () => {
      const rb = new ReceiveBuffer({ window: 10 });
      rb.receive(0, text('0123456789'), false, false);
      rb.readData();
      expect(rb.windowUpdateDue).toBe(true);
      rb.receive(10, text('x'), false, true);
      expect(rb.windowUpdateDue).toBe(false);
    });
  });

  describe('flow control', () => {
    it('refuses a segment ending beyond maxOffset; one ending exactly there is accepted', () => {
      const rb = new ReceiveBuffer({ window: 8 });
      expect(rb.receive(4, text('56789'), false, false)).toBe('flow-control');
      expect(rb.receive(9, new Uint8Array(0), false, true)).toBe('flow-control');
      expect(rb.buffered).toBe(0);
      expect(rb.receive(4, text('5678'), false, false)).toBe('ok');
      expect(rb.blocked).toBe(false);
      expect(rb.receive(0, text('1234'), false, false)).toBe('ok');
      expect(rb.blocked).toBe(true);
      expect(rb.readData(3)).toHaveLength(3);
      expect([rb.blocked, rb.maxOffset]).toEqual([false, 11]);
      expect(rb.receive(8, text('9ab'), false, false)).toBe('ok');
      expect(rb.receive(11, text('c'), false, false)).toBe('flow-control');
    });

    it('windowUpdateDue after half a window of growth; advertised() records the offset', () => {
      const rb = new ReceiveBuffer({ window: 10 });
      rb.receive(0, text('0123456789'), false, false);
      rb.readData(4);
      expect([rb.maxOffset, rb.windowUpdateDue]).toEqual([14, false]);
      rb.readData(1);
      expect([rb.maxOffset, rb.windowUpdateDue]).toEqual([15, true]);
      expect(rb.advertised()).toBe(15);
      expect(rb.windowUpdateDue).toBe(false);
      rb.readData();
      expect(rb.windowUpdateDue).toBe(true);
      expect(rb.advertised()).toBe(20);
    });

    it('setWindow: growing raises maxOffset at once; shrinking never lowers it, the new window applying as the reader catches up', () => {
      const rb = new ReceiveBuffer({ window: 10 });
      rb.setWindow(30);
      expect([rb.window, rb.maxOffset, rb.windowUpdateDue]).toEqual([30, 30, true]);
      expect(rb.advertised()).toBe(30);
      rb.setWindow(4);
      expect([rb.window, rb.maxOffset]).toEqual([4, 30]);
      expect(rb.receive(0, new Uint8Array(30), false, false)).toBe('ok'); // the peer had 30
      expect(rb.blocked).toBe(true);
      rb.readData(20);
      expect(rb.maxOffset).toBe(30); // 20 + 4 is below what was advertised
      rb.readData();
      expect(rb.maxOffset).toBe(34);
      expect(rb.receive(30, new Uint8Array(5), false, false)).toBe('flow-control');
    });

    it('bounds the out-of-order ranges: one more is flow-control, while adjacent segments merge and readable ones do not count', () => {
      const rb = new ReceiveBuffer({ window: 100, maxOutOfOrderRanges: 3 });
      for (const at of [10, 20, 30]) expect(rb.receive(at, text('x'), false, false)).toBe('ok');
      expect(rb.receive(40, text('x'), false, false)).toBe('flow-control');
      expect(rb.receive(11, text('yy'), false, false)).toBe('ok'); // grows the range at 10
      expect(rb.receive(5, text('zzzzz'), false, false)).toBe('ok'); // joins it too
      expect(rb.receive(0, text('a'), false, false)).toBe('ok'); // readable: not out of order
      expect(rb.receive(40, text('x'), false, false)).toBe('flow-control');
      expect(rb.receive(1, text('bcde'), false, false)).toBe('ok'); // fills the gap up to 13
      expect(rb.available).toBe(13);
      expect(rb.receive(40, text('x'), false, false)).toBe('ok');
      expect(rb.buffered).toBe(16);
    });

    it('by default holds 1024 out-of-order ranges, so a peer sending scattered single bytes is stopped there', () => {
      const rb = new ReceiveBuffer({ window: 4096 });
      for (let k = 1; k <= 1024; k++) expect(rb.receive(2 * k, text('x'), false, false)).toBe('ok');
      expect(rb.receive(2 * 1025, text('x'), false, false)).toBe('flow-control');
      expect(rb.buffered).toBe(1024);
    });
  });

  it('rejects bad arguments from the caller', () => {
    for (const window of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 30 + 1]) {
      expect(() => new ReceiveBuffer({ window })).toThrow(InvalidParameterError);
      expect(() => new ReceiveBuffer().setWindow(window)).toThrow(InvalidParameterError);
    }
    for (const maxOutOfOrderRanges of [0, 2.5]) {
      expect(() => new ReceiveBuffer({ maxOutOfOrderRanges })).toThrow(InvalidParameterError);
    }
    const rb = new ReceiveBuffer();
    for (const max of [-1, 0.5, Number.NaN]) {
      expect(() => rb.readData(max)).toThrow(InvalidParameterError);
      expect(() => rb.readRecord(max)).toThrow(InvalidParameterError);
    }
    for (const offset of [-1, 0.5, Number.NaN]) {
      expect(() => rb.receive(offset, text('x'), false, false)).toThrow(InvalidParameterError);
    }
  });
});
