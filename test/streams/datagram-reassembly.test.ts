import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../src/net/errors.js';
import {
  DatagramReassembly,
  type DatagramReassemblyOptions,
} from '../../src/streams/datagram-reassembly.js';

/** Cheaper than expect() in the hot loops of properties; fast-check reports the message. */
function agree<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected)
    throw new Error(`${what}: got ${String(actual)}, expected ${String(expected)}`);
}

/** `length` bytes that differ between datagrams and along each one, so mix-ups show. */
function pattern(length: number, salt: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + salt * 31 + 1) & 0xff);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

const zeroStats = {
  delivered: 0,
  expired: 0,
  evicted: 0,
  malformed: 0,
  duplicates: 0,
  tooLarge: 0,
  late: 0,
};

/** A fragment of datagram `id`: bytes `offset` to `end` (exclusive). */
interface Piece {
  id: number;
  offset: number;
  end: number;
}

/** One copy of a piece reaching the receiver at time `at`. */
interface Arrival extends Piece {
  at: number;
}

interface Plan {
  datagrams: Uint8Array[];
  arrivals: Arrival[];
}

/** A datagram and how the sender cuts it: a tiling at `cuts`, plus overlapping `extras`. */
interface DatagramSpec {
  size: number;
  cuts: number[];
  extras: [number, number][];
}

const datagramSpecArb: fc.Arbitrary<DatagramSpec> = fc.record({
  size: fc.nat(300),
  cuts: fc.array(fc.nat(), { maxLength: 8 }),
  extras: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 2 }),
});

function piecesOf(id: number, spec: DatagramSpec): Piece[] {
  const { size, cuts, extras } = spec;
  if (size === 0) return [{ id, offset: 0, end: 0 }];
  const bounds = [...new Set([0, size, ...cuts.map((cut) => cut % size)])].sort((a, b) => a - b);
  const pieces = bounds.slice(1).map((end, i) => ({ id, offset: bounds[i] as number, end }));
  for (const [a, b] of extras) {
    const offset = a % size;
    pieces.push({ id, offset, end: offset + 1 + (b % (size - offset)) });
  }
  return pieces;
}

/** Arrival times of one piece: mostly one copy, sometimes lost, sometimes duplicated. */
const copiesArb = fc.oneof(
  { arbitrary: fc.tuple(fc.nat(1000)), weight: 12 },
  { arbitrary: fc.constant([]), weight: 2 },
  { arbitrary: fc.tuple(fc.nat(1000), fc.nat(1000)), weight: 3 },
);

/** Datagrams cut into fragments that arrive in random order, lost and duplicated at random. */
const planArb: fc.Arbitrary<Plan> = fc
  .array(datagramSpecArb, { minLength: 1, maxLength: 8 })
  .chain((specs) => {
    const pieces = specs.flatMap((spec, id) => piecesOf(id, spec));
    return fc
      .array(copiesArb, { minLength: pieces.length, maxLength: pieces.length })
      .map((copies) => ({
        datagrams: specs.map((spec, id) => pattern(spec.size, id)),
        arrivals: pieces
          .flatMap((piece, i) => (copies[i] ?? []).map((at) => ({ ...piece, at })))
          .sort((x, y) => x.at - y.at),
      }));
  });

/** What the receiver has seen of each datagram: per byte, whether some fragment carried it. */
class Coverage {
  readonly #seen: boolean[][];
  readonly #arrived = new Set<number>();

  constructor(datagrams: Uint8Array[]) {
    this.#seen = datagrams.map((datagram) => new Array<boolean>(datagram.length).fill(false));
  }

  /** Records `piece`; true when it is the first to make its datagram complete. */
  add(piece: Piece): boolean {
    const seen = this.#seen[piece.id] as boolean[];
    const before = this.#arrived.has(piece.id) && seen.every(Boolean);
    this.#arrived.add(piece.id);
    seen.fill(true, piece.offset, piece.end);
    return !before && seen.every(Boolean);
  }

  complete(id: number): boolean {
    return this.#arrived.has(id) && (this.#seen[id] as boolean[]).every(Boolean);
  }

  get arrivedIds(): number {
    return this.#arrived.size;
  }
}

/** Feeds the plan's arrivals to `reassembly`, checking the invariants of every step. */
function run(
  reassembly: DatagramReassembly,
  plan: Plan,
  options: DatagramReassemblyOptions,
  onStep: (arrival: Arrival, result: Uint8Array | undefined, completes: boolean) => void,
): Coverage {
  const coverage = new Coverage(plan.datagrams);
  const delivered = new Set<number>();
  for (const arrival of plan.arrivals) {
    const datagram = plan.datagrams[arrival.id] as Uint8Array;
    const result = reassembly.receive(
      arrival.id,
      arrival.offset,
      datagram.length,
      datagram.subarray(arrival.offset, arrival.end),
      arrival.at,
    );
    const completes = coverage.add(arrival);
    if (result !== undefined) {
      agree(sameBytes(result, datagram), true, `datagram ${arrival.id} intact`);
      agree(delivered.has(arrival.id), false, `datagram ${arrival.id} delivered again`);
      agree(coverage.complete(arrival.id), true, `datagram ${arrival.id} had every byte`);
      delivered.add(arrival.id);
    }
    onStep(arrival, result, completes);
    if (reassembly.bytesHeld > (options.maxBytes ?? 1 << 20)) throw new Error('over maxBytes');
    if (reassembly.partials > (options.maxDatagrams ?? 64)) throw new Error('over maxDatagrams');
  }
  agree(reassembly.stats.delivered, delivered.size, 'stats.delivered');
  return coverage;
}

describe('DatagramReassembly', () => {
  it('returns a datagram in one fragment at once, as a copy of the packet buffer', () => {
    const reassembly = new DatagramReassembly();
    const packet = pattern(100, 1);
    const data = packet.subarray(10, 60);
    const datagram = reassembly.receive(1, 0, 50, data, 0);
    expect(datagram).toEqual(pattern(100, 1).subarray(10, 60));
    packet.fill(0);
    expect(datagram).toEqual(pattern(100, 1).subarray(10, 60));
    expect(reassembly.partials).toBe(0);
    expect(reassembly.bytesHeld).toBe(0);
    expect(reassembly.stats).toEqual({ ...zeroStats, delivered: 1 });
  });

  it('delivers an empty datagram', () => {
    const reassembly = new DatagramReassembly();
    expect(reassembly.receive(0, 0, 0, new Uint8Array(0), 0)).toEqual(new Uint8Array(0));
  });

  it('holds fragments until the last byte arrives, in any order, then delivers the whole', () => {
    const reassembly = new DatagramReassembly();
    const whole = pattern(300, 2);
    expect(reassembly.receive(7, 200, 300, whole.subarray(200), 0)).toBeUndefined();
    expect(reassembly.partials).toBe(1);
    expect(reassembly.bytesHeld).toBe(300);
    expect(reassembly.receive(7, 0, 300, whole.subarray(0, 100), 1)).toBeUndefined();
    const datagram = reassembly.receive(7, 100, 300, whole.subarray(100, 200), 2);
    expect(datagram).toEqual(whole);
    expect(reassembly.partials).toBe(0);
    expect(reassembly.bytesHeld).toBe(0);
    expect(reassembly.stats).toEqual({ ...zeroStats, delivered: 1 });
  });

  it('keeps copies: reusing the packet buffer does not change what it holds', () => {
    const reassembly = new DatagramReassembly();
    const whole = pattern(20, 3);
    const packet = new Uint8Array(10);
    packet.set(whole.subarray(0, 10));
    reassembly.receive(1, 0, 20, packet, 0);
    packet.fill(0xee);
    expect(reassembly.receive(1, 10, 20, whole.subarray(10), 0)).toEqual(whole);
  });

  it('accepts overlapping fragments and counts those that bring no new byte as duplicates', () => {
    const reassembly = new DatagramReassembly();
    const whole = pattern(100, 4);
    reassembly.receive(1, 0, 100, whole.subarray(0, 60), 0);
    expect(reassembly.receive(1, 10, 100, whole.subarray(10, 50), 0)).toBeUndefined();
    expect(reassembly.receive(1, 0, 100, whole.subarray(0, 60), 0)).toBeUndefined();
    expect(reassembly.stats.duplicates).toBe(2);
    expect(reassembly.receive(1, 40, 100, whole.subarray(40, 100), 0)).toEqual(whole);
    expect(reassembly.stats.duplicates).toBe(2);
  });

  it('ignores late fragments of a delivered datagram instead of reassembling it again', () => {
    const reassembly = new DatagramReassembly();
    const whole = pattern(10, 5);
    reassembly.receive(1, 0, 10, whole.subarray(0, 5), 0);
    reassembly.receive(1, 5, 10, whole.subarray(5), 0);
    expect(reassembly.receive(1, 0, 10, whole.subarray(0, 5), 0)).toBeUndefined();
    expect(reassembly.receive(1, 0, 10, whole, 0)).toBeUndefined();
    expect(reassembly.receive(2, 0, 3, whole.subarray(0, 3), 0)).toEqual(whole.subarray(0, 3));
    expect(reassembly.receive(2, 0, 3, whole.subarray(0, 3), 0)).toBeUndefined();
    expect(reassembly.partials).toBe(0);
    expect(reassembly.stats).toEqual({ ...zeroStats, delivered: 2, duplicates: 3 });
  });

  it('remembers only the last rememberedIds finished ids', () => {
    const reassembly = new DatagramReassembly({ rememberedIds: 3 });
    const whole = pattern(4, 6);
    for (let id = 0; id < 4; id++) reassembly.receive(id, 0, 4, whole, 0);
    expect(reassembly.receive(1, 0, 4, whole, 0)).toBeUndefined();
    // Id 0 fell out of the window, so a copy of it passes for a new datagram.
    expect(reassembly.receive(0, 0, 4, whole, 0)).toEqual(whole);
  });

  it('drops and counts a fragment beyond the total length, or without bytes', () => {
    const reassembly = new DatagramReassembly();
    const bytes = pattern(10, 7);
    expect(reassembly.receive(1, 5, 12, bytes, 0)).toBeUndefined();
    expect(reassembly.receive(1, 13, 12, new Uint8Array(0), 0)).toBeUndefined();
    expect(reassembly.receive(1, 3, 12, new Uint8Array(0), 0)).toBeUndefined();
    expect(reassembly.stats).toEqual({ ...zeroStats, malformed: 3 });
    expect(reassembly.partials).toBe(0);
  });

  it('drops and counts a fragment whose fields are not non-negative integers', () => {
    const reassembly = new DatagramReassembly();
    const bytes = pattern(4, 8);
    const bad = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53];
    for (const value of bad) {
      expect(reassembly.receive(value, 0, 8, bytes, 0)).toBeUndefined();
      expect(reassembly.receive(1, value, 8, bytes, 0)).toBeUndefined();
      expect(reassembly.receive(1, 0, value, bytes, 0)).toBeUndefined();
    }
    expect(reassembly.stats).toEqual({ ...zeroStats, malformed: 3 * bad.length });
  });

  it('drops a fragment that disagrees with the total length its datagram started with', () => {
    const reassembly = new DatagramReassembly();
    const whole = pattern(20, 9);
    reassembly.receive(1, 0, 20, whole.subarray(0, 10), 0);
    expect(reassembly.receive(1, 10, 30, whole.subarray(10, 20), 0)).toBeUndefined();
    expect(reassembly.receive(1, 10, 10, whole.subarray(10, 20), 0)).toBeUndefined();
    expect(reassembly.stats.malformed).toBe(2);
    // The partial datagram is untouched and still completes.
    expect(reassembly.receive(1, 10, 20, whole.subarray(10, 20), 0)).toEqual(whole);
  });

  it('drops a datagram longer than maxDatagramSize without holding anything', () => {
    const reassembly = new DatagramReassembly({ maxBytes: 1000, maxDatagramSize: 100 });
    expect(reassembly.receive(1, 0, 101, pattern(50, 0), 0)).toBeUndefined();
    expect(reassembly.receive(2, 0, 101, pattern(101, 0), 0)).toBeUndefined();
    expect(reassembly.receive(3, 0, 2 ** 40, pattern(50, 0), 0)).toBeUndefined();
    expect(reassembly.stats).toEqual({ ...zeroStats, tooLarge: 3 });
    expect(reassembly.bytesHeld).toBe(0);
    expect(reassembly.receive(4, 0, 100, pattern(100, 0), 0)).toEqual(pattern(100, 0));
  });

  it('limits maxDatagramSize to maxBytes by default', () => {
    const reassembly = new DatagramReassembly({ maxBytes: 100 });
    expect(reassembly.receive(1, 0, 101, pattern(50, 0), 0)).toBeUndefined();
    expect(reassembly.stats.tooLarge).toBe(1);
  });

  it('evicts the oldest partial datagram to stay within maxDatagrams', () => {
    const reassembly = new DatagramReassembly({ maxDatagrams: 2 });
    const whole = pattern(10, 10);
    reassembly.receive(1, 0, 10, whole.subarray(0, 5), 0);
    reassembly.receive(2, 0, 10, whole.subarray(0, 5), 1);
    reassembly.receive(1, 5, 10, whole.subarray(5, 6), 2); // progress does not make it younger
    reassembly.receive(3, 0, 10, whole.subarray(0, 5), 3);
    expect(reassembly.partials).toBe(2);
    expect(reassembly.stats.evicted).toBe(1);
    // The rest of datagram 1 is late: it starts nothing, so datagrams 2 and 3 are safe.
    expect(reassembly.receive(1, 6, 10, whole.subarray(6), 4)).toBeUndefined();
    expect(reassembly.stats.late).toBe(1);
    expect(reassembly.receive(2, 5, 10, whole.subarray(5), 5)).toEqual(whole);
    expect(reassembly.receive(3, 5, 10, whole.subarray(5), 6)).toEqual(whole);
  });

  it('evicts the oldest partial datagrams until a new one fits within maxBytes', () => {
    const reassembly = new DatagramReassembly({ maxBytes: 1000 });
    reassembly.receive(1, 0, 400, pattern(1, 0), 0);
    reassembly.receive(2, 0, 300, pattern(1, 0), 0);
    reassembly.receive(3, 0, 300, pattern(1, 0), 0);
    expect(reassembly.bytesHeld).toBe(1000);
    reassembly.receive(4, 0, 650, pattern(1, 0), 0);
    expect(reassembly.stats.evicted).toBe(2);
    expect(reassembly.bytesHeld).toBe(950);
    expect(reassembly.partials).toBe(2);
    // Fragments of held datagrams take no room of their own.
    reassembly.receive(3, 100, 300, pattern(100, 0), 0);
    expect(reassembly.stats.evicted).toBe(2);
  });

  it('with one more datagram interleaved than it holds, still completes all but one', () => {
    const reassembly = new DatagramReassembly({ maxDatagrams: 4 });
    const whole = pattern(40, 11);
    const delivered: number[] = [];
    for (let offset = 0; offset < 40; offset += 10) {
      for (let id = 0; id < 5; id++) {
        const datagram = reassembly.receive(id, offset, 40, whole.subarray(offset, offset + 10), 0);
        if (datagram !== undefined) delivered.push(id);
      }
    }
    expect(delivered).toEqual([1, 2, 3, 4]);
    expect(reassembly.stats.evicted).toBe(1);
  });

  it('drops partial datagrams older than timeoutMs at the next call', () => {
    const reassembly = new DatagramReassembly({ timeoutMs: 100 });
    const whole = pattern(10, 12);
    reassembly.receive(1, 0, 10, whole.subarray(0, 5), 0);
    reassembly.receive(2, 0, 10, whole.subarray(0, 5), 50);
    // At exactly timeoutMs a datagram is not yet older than it.
    reassembly.receive(3, 0, 1, whole.subarray(0, 1), 100);
    expect(reassembly.partials).toBe(2);
    reassembly.receive(3, 0, 1, whole.subarray(0, 1), 101);
    expect(reassembly.partials).toBe(1);
    expect(reassembly.stats.expired).toBe(1);
    expect(reassembly.receive(1, 5, 10, whole.subarray(5), 120)).toBeUndefined();
    expect(reassembly.stats.late).toBe(1);
    expect(reassembly.receive(2, 5, 10, whole.subarray(5), 120)).toEqual(whole);
  });

  it('expire frees the memory of old partial datagrams without a fragment', () => {
    const reassembly = new DatagramReassembly({ timeoutMs: 100 });
    reassembly.receive(1, 0, 10, pattern(5, 0), 0);
    reassembly.expire(100);
    expect(reassembly.bytesHeld).toBe(10);
    reassembly.expire(101);
    expect(reassembly.bytesHeld).toBe(0);
    expect(reassembly.stats.expired).toBe(1);
  });

  it('rejects limits that are not positive integers, or a maxDatagramSize above maxBytes', () => {
    const bad: DatagramReassemblyOptions[] = [
      { maxBytes: 0 },
      { maxBytes: 1.5 },
      { maxBytes: 2 ** 31 },
      { maxDatagrams: 0 },
      { maxDatagrams: Number.NaN },
      { timeoutMs: 0 },
      { timeoutMs: Number.POSITIVE_INFINITY },
      { maxDatagramSize: -1 },
      { maxBytes: 100, maxDatagramSize: 101 },
      { maxDatagramSize: (1 << 20) + 1 },
      { rememberedIds: 0 },
    ];
    for (const options of bad) {
      expect(() => new DatagramReassembly(options), JSON.stringify(options)).toThrow(
        InvalidParameterError,
      );
    }
  });

  it('property: within its limits, every datagram is delivered exactly once, intact, as soon as all its bytes arrived, and never before', () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        const reassembly = new DatagramReassembly();
        const coverage = run(reassembly, plan, {}, (arrival, result, completes) => {
          agree(result !== undefined, completes, `delivery of ${arrival.id} at ${arrival.at}`);
        });
        const complete = plan.datagrams.filter((_, id) => coverage.complete(id)).length;
        agree(reassembly.stats.delivered, complete, 'datagrams delivered');
        agree(reassembly.partials, coverage.arrivedIds - complete, 'partial datagrams left');
        agree(reassembly.stats.evicted + reassembly.stats.expired, 0, 'datagrams dropped');
      }),
      { numRuns: 300 },
    );
  });

  it('property: under tight limits, memory stays bounded, nothing is delivered twice or with a missing byte, and every datagram is delivered, dropped or still held', () => {
    fc.assert(
      fc.property(
        planArb,
        fc.integer({ min: 300, max: 1200 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 1200 }),
        (plan, maxBytes, maxDatagrams, timeoutMs) => {
          const options = { maxBytes, maxDatagrams, timeoutMs, maxDatagramSize: 300 };
          const reassembly = new DatagramReassembly(options);
          const coverage = run(reassembly, plan, options, () => {});
          const { delivered, evicted, expired } = reassembly.stats;
          agree(
            delivered + evicted + expired + reassembly.partials,
            coverage.arrivedIds,
            'datagrams accounted for',
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
