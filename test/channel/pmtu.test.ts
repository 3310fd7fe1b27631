import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BASE_PLPMTU,
  BLACK_HOLE_LOSSES,
  MAX_PROBES,
  PMTU_RAISE_INTERVAL_MS,
  type PmtuOptions,
  PmtuSearch,
  STOP_GAP,
} from '../../src/channel/pmtu.js';
import { MAX_UDP_PAYLOAD_IPV4, MAX_UDP_PAYLOAD_IPV6 } from '../../src/net/datagram-socket.js';
import { Prng } from '../../src/net/prng.js';
import { parameterOf } from '../net/fixtures.js';

/** Time a probe takes to be acknowledged or declared lost, ms. */
const RTT = 10;

/** The Ethernet sizes the search tries before bisecting (a 1500-byte frame over IPv4, IPv6). */
const PLATEAUS = 2;

/**
 * A simulated path: it carries a datagram iff it is at most `mtu` bytes and `drop` (random
 * loss, asked only of datagrams that fit) does not take it. `now` is the shared clock, ms.
 */
interface Path {
  mtu: number;
  now: number;
  drop?: (size: number) => boolean;
}

interface Run {
  /** Probe sizes in the order sent. */
  readonly sizes: number[];
  /** Sizes of the probes that were lost. */
  readonly lost: number[];
}

/**
 * Sends every probe `search` asks for, one round trip each, feeding back its fate, until it has
 * none to send now. After every probe, `check` sees the search and the run so far (invariants).
 */
function drive(
  search: PmtuSearch,
  path: Path,
  check?: (search: PmtuSearch, run: Run) => void,
): Run {
  const run: Run = { sizes: [], lost: [] };
  for (;;) {
    const size = search.probeSize(path.now);
    if (size === undefined) return run;
    if (run.sizes.length === 1000) throw new Error('the search does not end');
    search.onProbeSent(size, path.now);
    expect(search.probeSize(path.now)).toBeUndefined();
    expect(search.deadline).toBe(Infinity);
    path.now += RTT;
    run.sizes.push(size);
    if (size <= path.mtu && !(path.drop?.(size) ?? false)) {
      search.onProbeAcked(size, path.now);
    } else {
      run.lost.push(size);
      search.onProbeLost(size, path.now);
    }
    check?.(search, run);
  }
}

/** A search over `path` from its current time. */
function searching(path: Path, options: PmtuOptions): PmtuSearch {
  return new PmtuSearch(options, path.now);
}

/** Whether `search` ended within `stopGap` below the path MTU, never above. */
function expectConverged(search: PmtuSearch, mtu: number, stopGap = STOP_GAP): void {
  expect(search.state).toBe('complete');
  expect(search.current).toBeLessThanOrEqual(mtu);
  expect(mtu - search.current).toBeLessThan(stopGap);
}

/**
 * Most probes a search from `baseSize` to `maxSize` may take on a path without random loss: the
 * top size, the Ethernet sizes, one step above an acknowledged one, a bisection down to
 * `stopGap`, `maxProbes - 1` retries of the size that ends it, and a probe of the base size.
 */
function probeBound(options: Required<PmtuOptions>): number {
  const { baseSize, maxSize, stopGap, maxProbes } = options;
  const bisections = Math.ceil(Math.log2(Math.max(1, (maxSize + 1 - baseSize) / stopGap)));
  return 1 + PLATEAUS + 1 + bisections + (maxProbes - 1) + 1;
}

function withDefaults(options: PmtuOptions): Required<PmtuOptions> {
  return {
    baseSize: BASE_PLPMTU,
    maxProbes: MAX_PROBES,
    raiseIntervalMs: PMTU_RAISE_INTERVAL_MS,
    blackHoleLosses: BLACK_HOLE_LOSSES,
    stopGap: STOP_GAP,
    ...options,
  };
}

/** Loss events of regular packets of `size`, at distinct times one round trip apart. */
function loseRegular(search: PmtuSearch, path: Path, size: number, events: number): void {
  for (let i = 0; i < events; i++) {
    path.now += RTT;
    search.onPacketLost(size, path.now);
  }
}

describe('PmtuSearch on common paths', () => {
  it('on loopback takes the largest UDP payload in one probe, with nothing left to raise', () => {
    for (const maxSize of [MAX_UDP_PAYLOAD_IPV4, MAX_UDP_PAYLOAD_IPV6]) {
      const path: Path = { mtu: maxSize, now: 0 };
      const search = searching(path, { maxSize });
      expect(search.state).toBe('base');
      expect(search.current).toBe(BASE_PLPMTU);
      expect(drive(search, path).sizes).toEqual([maxSize]);
      expect(search.current).toBe(maxSize);
      expect(search.state).toBe('complete');
      expect(search.deadline).toBe(Infinity);
    }
  });

  it('on a 1500-byte IPv4 path settles at 1472 in five probes', () => {
    const path: Path = { mtu: 1472, now: 0 };
    const search = searching(path, { maxSize: MAX_UDP_PAYLOAD_IPV4 });
    const run = drive(search, path);
    expect(run.sizes).toEqual([65507, 1472, 1504, 1504, 1504]);
    expect(search.current).toBe(1472);
    expect(search.state).toBe('complete');
    expect(search.stats).toEqual({ probesSent: 5, probesAcked: 1, probesLost: 4, blackHoles: 0 });
    expect(search.deadline).toBe(path.now + PMTU_RAISE_INTERVAL_MS);
  });

  it('on a 1500-byte IPv6 path settles at 1452 in five probes', () => {
    const path: Path = { mtu: 1452, now: 0 };
    const search = searching(path, { maxSize: MAX_UDP_PAYLOAD_IPV6 });
    expect(drive(search, path).sizes).toEqual([65527, 1472, 1452, 1472, 1472]);
    expect(search.current).toBe(1452);
    expect(search.state).toBe('complete');
  });

  it('asks for the first probe at once, and for none while one is in flight', () => {
    const search = new PmtuSearch({ maxSize: 9000 }, 500);
    expect(search.deadline).toBe(500);
    expect(search.probeSize(500)).toBe(9000);
    search.onProbeSent(9000, 500);
    expect(search.probeSize(600)).toBeUndefined();
    expect(search.deadline).toBe(Infinity);
    search.onProbeLost(9000, 700);
    expect(search.deadline).toBe(700);
    expect(search.probeSize(700)).toBe(1472);
  });

  it('ignores the fate of a probe it is not waiting for', () => {
    const search = new PmtuSearch({ maxSize: 9000 }, 0);
    search.onProbeSent(9000, 0);
    search.onProbeAcked(4000, 10);
    search.onProbeLost(2000, 10);
    expect(search.current).toBe(BASE_PLPMTU);
    expect(search.deadline).toBe(Infinity);
    expect(search.stats).toEqual({ probesSent: 1, probesAcked: 0, probesLost: 0, blackHoles: 0 });
  });
});

describe('PmtuSearch convergence', () => {
  const optionsArb = fc.record({
    baseSize: fc.integer({ min: 1, max: 2000 }),
    maxSize: fc.oneof(
      fc.constant(MAX_UDP_PAYLOAD_IPV4),
      fc.constant(MAX_UDP_PAYLOAD_IPV6),
      fc.integer({ min: 2000, max: MAX_UDP_PAYLOAD_IPV6 }),
    ),
    maxProbes: fc.integer({ min: 1, max: 5 }),
    stopGap: fc.integer({ min: 1, max: 64 }),
  });

  it('property: converges to within stopGap below the path MTU in a bounded number of probes', () => {
    fc.assert(
      fc.property(
        optionsArb.chain((options) =>
          fc.tuple(
            fc.constant(options),
            fc.integer({ min: options.baseSize, max: options.maxSize }),
          ),
        ),
        ([options, mtu]) => {
          const path: Path = { mtu, now: 0 };
          const search = searching(path, options);
          const run = drive(search, path, (s, { lost }) => {
            // The current size never reaches one the path failed.
            expect(s.current).toBeLessThan(Math.min(...lost));
          });
          expectConverged(search, mtu, options.stopGap);
          expect(run.sizes.length).toBeLessThanOrEqual(probeBound(withDefaults(options)));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('needs at most 16 probes for any path MTU with the defaults', () => {
    let most = 0;
    for (let mtu = BASE_PLPMTU; mtu <= MAX_UDP_PAYLOAD_IPV4; mtu += 61) {
      const path: Path = { mtu, now: 0 };
      const search = searching(path, { maxSize: MAX_UDP_PAYLOAD_IPV4 });
      most = Math.max(most, drive(search, path).sizes.length);
      expectConverged(search, mtu);
    }
    expect(most).toBeLessThanOrEqual(16);
  });
});

describe('PmtuSearch under random probe loss', () => {
  it('property: losses of a fitting size, fewer than maxProbes in a row, never settle it low', () => {
    // A fitting size is taken as too big only when maxProbes of its probes are lost in a row,
    // which at loss rate p happens with probability p^maxProbes: the risk RFC 8899 §5.1.2
    // accepts. This path loses fitting probes at rate p but never the maxProbes-th in a row, so
    // the property holds for every seed; the next test shows the accepted case.
    fc.assert(
      fc.property(
        fc.integer({ min: BASE_PLPMTU, max: MAX_UDP_PAYLOAD_IPV4 }),
        fc.double({ min: 0, max: 0.9, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (mtu, p, seed) => {
          const random = new Prng(seed);
          const lostInRow = new Map<number, number>();
          const drop = (size: number): boolean => {
            const run = lostInRow.get(size) ?? 0;
            const lost = run < MAX_PROBES - 1 && random.nextFloat() < p;
            lostInRow.set(size, lost ? run + 1 : 0);
            return lost;
          };
          const path: Path = { mtu, now: 0, drop };
          const options = { maxSize: MAX_UDP_PAYLOAD_IPV4 };
          const search = searching(path, options);
          const run = drive(search, path, (s) => expect(s.current).toBeLessThanOrEqual(mtu));
          expectConverged(search, mtu);
          // Each size tried up to maxProbes times, and at most twice as many sizes as without
          // loss (suspects left by random losses before the search knew the path was lossy).
          expect(run.sizes.length).toBeLessThanOrEqual(
            2 * MAX_PROBES * probeBound(withDefaults(options)),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('settles low in under 2% of searches at 10% probe loss, never above the path MTU', () => {
    // Without the cap above, a fitting size fails with probability 0.1^3 each time it is
    // suspected, about ten times a search: near 1%. Seeds 0..499 make the count exact.
    let low = 0;
    for (let seed = 0; seed < 500; seed++) {
      const random = new Prng(seed);
      const mtu = BASE_PLPMTU + random.nextInt(MAX_UDP_PAYLOAD_IPV4 - BASE_PLPMTU + 1);
      const path: Path = { mtu, now: 0, drop: () => random.nextFloat() < 0.1 };
      const search = searching(path, { maxSize: MAX_UDP_PAYLOAD_IPV4 });
      drive(search, path, (s) => expect(s.current).toBeLessThanOrEqual(mtu));
      expect(search.state).toBe('complete');
      if (mtu - search.current >= STOP_GAP) low++;
    }
    expect(low).toBeLessThan(10);
  });

  it('takes a fitting size lost maxProbes times in a row as the limit until the raise timer', () => {
    // Loopback, where the first probe of the largest size and three of 1472 happen to be lost.
    let topLost = false;
    let lossesOf1472 = 0;
    const drop = (size: number): boolean => {
      if (size === MAX_UDP_PAYLOAD_IPV4 && !topLost) return (topLost = true);
      return size === 1472 && lossesOf1472++ < MAX_PROBES;
    };
    const path: Path = { mtu: MAX_UDP_PAYLOAD_IPV4, now: 0, drop };
    const search = searching(path, { maxSize: MAX_UDP_PAYLOAD_IPV4 });
    expect(drive(search, path).sizes).toEqual([65507, 1472, 1452, 1472, 1472]);
    expect(search.current).toBe(1452);
    expect(search.state).toBe('complete');

    path.now = search.deadline;
    expect(drive(search, path).sizes).toEqual([1452 + STOP_GAP, MAX_UDP_PAYLOAD_IPV4]);
    expect(search.current).toBe(MAX_UDP_PAYLOAD_IPV4);
  });

  it('keeps a size that is acknowledged after fewer than maxProbes losses', () => {
    let losses = 0;
    const path: Path = { mtu: 1472, now: 0, drop: (size) => size === 1472 && losses++ < 2 };
    const search = searching(path, { maxSize: MAX_UDP_PAYLOAD_IPV4 });
    drive(search, path);
    expect(search.current).toBe(1472);
    expect(search.state).toBe('complete');
  });
});

describe('PmtuSearch black holes', () => {
  /** A search settled on loopback. */
  function settledOnLoopback(): { search: PmtuSearch; path: Path } {
    const path: Path = { mtu: MAX_UDP_PAYLOAD_IPV4, now: 0 };
    const search = searching(path, { maxSize: MAX_UDP_PAYLOAD_IPV4 });
    drive(search, path);
    expect(search.current).toBe(MAX_UDP_PAYLOAD_IPV4);
    return { search, path };
  }

  it('falls back to the base size when the path shrinks, and converges again', () => {
    const { search, path } = settledOnLoopback();
    path.mtu = 1300;
    loseRegular(search, path, MAX_UDP_PAYLOAD_IPV4, 2);
    expect(search.current).toBe(MAX_UDP_PAYLOAD_IPV4);
    loseRegular(search, path, MAX_UDP_PAYLOAD_IPV4, 1);
    expect(search.current).toBe(BASE_PLPMTU);
    expect(search.state).toBe('base');
    expect(search.stats.blackHoles).toBe(1);
    expect(search.deadline).toBe(path.now);

    const run = drive(search, path, (s) => expect(s.current).toBeLessThanOrEqual(1300));
    expectConverged(search, 1300);
    expect(run.sizes.length).toBeLessThanOrEqual(10);
    // Packets still in flight at the old size are lost late; they say nothing of the new one.
    loseRegular(search, path, MAX_UDP_PAYLOAD_IPV4, 5);
    expect(search.stats.blackHoles).toBe(1);
  });

  it('counts losses declared at one moment as one event', () => {
    const { search, path } = settledOnLoopback();
    path.now += RTT;
    for (let i = 0; i < 20; i++) search.onPacketLost(MAX_UDP_PAYLOAD_IPV4, path.now);
    loseRegular(search, path, MAX_UDP_PAYLOAD_IPV4, 1);
    expect(search.stats.blackHoles).toBe(0);
    loseRegular(search, path, MAX_UDP_PAYLOAD_IPV4, 1);
    expect(search.stats.blackHoles).toBe(1);
  });

  it('is not a black hole while packets as large as the lost ones get through', () => {
    const { search, path } = settledOnLoopback();
    for (let i = 0; i < 10; i++) {
      loseRegular(search, path, 60_000, 2);
      search.onPacketAcked(60_000);
    }
    expect(search.stats.blackHoles).toBe(0);
    // Smaller packets getting through do not clear the evidence against larger ones.
    loseRegular(search, path, 60_000, 2);
    search.onPacketAcked(1300);
    loseRegular(search, path, 60_000, 1);
    expect(search.stats.blackHoles).toBe(1);
  });

  it('ignores losses of packets no larger than the base size', () => {
    const { search, path } = settledOnLoopback();
    loseRegular(search, path, BASE_PLPMTU, 10);
    expect(search.stats.blackHoles).toBe(0);
  });

  it('climbs back when the losses were not the path after all', () => {
    const path: Path = { mtu: 1472, now: 0 };
    const search = searching(path, { maxSize: MAX_UDP_PAYLOAD_IPV4 });
    drive(search, path);
    loseRegular(search, path, 1472, 3);
    expect(search.current).toBe(BASE_PLPMTU);
    drive(search, path);
    expect(search.current).toBe(1472);
    expect(search.state).toBe('complete');
  });

  it('forgets the probe in flight when the search starts again', () => {
    const path: Path = { mtu: 1472, now: 0 };
    const search = searching(path, { maxSize: MAX_UDP_PAYLOAD_IPV4 });
    drive(search, path);
    path.now = search.deadline;
    const size = search.probeSize(path.now);
    expect(size).toBe(1504);
    search.onProbeSent(1504, path.now);
    loseRegular(search, path, 1472, 3);
    expect(search.probeSize(path.now)).toBe(1452);
    search.onProbeAcked(1504, path.now);
    expect(search.current).toBe(BASE_PLPMTU);
  });
});

describe('PmtuSearch raise timer', () => {
  it('probes again after raiseIntervalMs and finds a grown path', () => {
    const raiseIntervalMs = 60_000;
    const path: Path = { mtu: 1472, now: 0 };
    const search = searching(path, { maxSize: MAX_UDP_PAYLOAD_IPV4, raiseIntervalMs });
    drive(search, path);
    const completedAt = path.now;
    expect(search.deadline).toBe(completedAt + raiseIntervalMs);
    expect(search.probeSize(search.deadline - 1)).toBeUndefined();

    // Unchanged path: one size just above, lost maxProbes times, and complete again.
    path.now = search.deadline;
    expect(drive(search, path).sizes).toEqual([1504, 1504, 1504]);
    expect(search.current).toBe(1472);
    expect(search.deadline).toBe(path.now + raiseIntervalMs);

    path.mtu = 8972;
    path.now = search.deadline;
    expect(drive(search, path).sizes.slice(0, 2)).toEqual([1504, 65507]);
    expectConverged(search, 8972);
  });
});

describe('PmtuSearch base and error states', () => {
  it('leaves the base state when a regular packet of the base size is acknowledged', () => {
    const search = new PmtuSearch({ maxSize: 9000 }, 0);
    search.onPacketAcked(BASE_PLPMTU - 1);
    expect(search.state).toBe('base');
    search.onPacketAcked(BASE_PLPMTU);
    expect(search.state).toBe('searching');
  });

  it('is in error while the path does not carry the base size, and leaves it when it does', () => {
    const path: Path = { mtu: 1000, now: 0 };
    const search = searching(path, { maxSize: 9000 });
    const run = drive(search, path, (s) => expect(s.current).toBe(BASE_PLPMTU));
    expect(search.state).toBe('error');
    expect(run.sizes.slice(-MAX_PROBES)).toEqual(Array(MAX_PROBES).fill(BASE_PLPMTU));

    // In the error state only the base size is probed, once per raise interval.
    expect(search.probeSize(path.now)).toBeUndefined();
    expect(search.deadline).toBe(path.now + PMTU_RAISE_INTERVAL_MS);
    path.now = search.deadline;
    expect(drive(search, path).sizes).toEqual([BASE_PLPMTU]);
    expect(search.state).toBe('error');
    expect(search.deadline).toBe(path.now + PMTU_RAISE_INTERVAL_MS);

    path.mtu = 1472;
    path.now = search.deadline;
    drive(search, path);
    expect(search.current).toBe(1472);
    expect(search.state).toBe('complete');
  });

  it('leaves the error state when a regular packet of the base size is acknowledged', () => {
    const path: Path = { mtu: 1000, now: 0 };
    const search = searching(path, { maxSize: 9000 });
    drive(search, path);
    expect(search.state).toBe('error');
    path.mtu = 1472;
    search.onPacketAcked(BASE_PLPMTU);
    expect(search.state).toBe('searching');
    expect(search.probeSize(path.now)).toBe(9000);
  });

  it('with maxSize equal to baseSize only confirms the base size', () => {
    const path: Path = { mtu: 1472, now: 0 };
    const search = searching(path, { baseSize: 1280, maxSize: 1280 });
    expect(drive(search, path).sizes).toEqual([1280]);
    expect(search.state).toBe('complete');
    expect(search.deadline).toBe(Infinity);
  });
});

describe('PmtuSearch options', () => {
  it('rejects bad options with the parameter named', () => {
    const bad: [Partial<PmtuOptions>, string][] = [
      [{ maxSize: 0 }, 'maxSize'],
      [{ maxSize: 1500.5 }, 'maxSize'],
      [{ maxSize: MAX_UDP_PAYLOAD_IPV6 + 1 }, 'maxSize'],
      [{ maxSize: Number.NaN }, 'maxSize'],
      [{ baseSize: 0 }, 'baseSize'],
      [{ baseSize: -1200 }, 'baseSize'],
      [{ baseSize: 1501 }, 'baseSize'],
      [{ maxProbes: 0 }, 'maxProbes'],
      [{ maxProbes: 2.5 }, 'maxProbes'],
      [{ raiseIntervalMs: 0 }, 'raiseIntervalMs'],
      [{ raiseIntervalMs: Infinity }, 'raiseIntervalMs'],
      [{ blackHoleLosses: 0 }, 'blackHoleLosses'],
      [{ blackHoleLosses: Number.NaN }, 'blackHoleLosses'],
      [{ stopGap: 0 }, 'stopGap'],
      [{ stopGap: 0.5 }, 'stopGap'],
    ];
    for (const [options, parameter] of bad) {
      expect(parameterOf(() => new PmtuSearch({ maxSize: 1500, ...options }, 0))).toBe(parameter);
    }
    expect(parameterOf(() => new PmtuSearch({ maxSize: 1500 }, 0))).toBeUndefined();
  });
});
