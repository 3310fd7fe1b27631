/**
 * The README's benchmark table from the benchmarks' JSON: figures with units, targets and
 * verdicts read from each JSON, failed benches and failed cases shown as such, output that
 * Prettier leaves as it is, and the README block put between its markers.
 */
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import {
  type BenchOutcome,
  type BenchResult,
  benchRow,
  benchTable,
  escapeText,
  machineLine,
  README_END,
  README_START,
  readmeBlock,
  replaceBlock,
} from '../../bench/bench-table.js';
import { SssError } from '../../src/net/errors.js';

// Trimmed from real runs (short --seconds/--packets/--streams); field names as the benches print them.
const SIM: BenchResult = {
  bench: 'sim',
  seed: 1,
  packets: 100000,
  wallSeconds: 0.56,
  packetsPerSecond: 178476,
  peakRssMB: 80.8,
  bareClockEventsPerSecond: 983812,
  ratio: 0.181,
  traceHash: '4d4d8a5a846b5518',
  baseline: { packetsPerSecond: 300000, peakRssMB: 200 },
};
const HANDSHAKE: BenchResult = {
  bench: 'handshake',
  nativeHandshakesPerSec: 315,
  nobleHandshakesPerSec: 70,
  x25519PerSec: 21392,
  x25519BoundHandshakesPerSec: 2139,
  handshakeToBoundRatio: 0.15,
  aeadMBps: { native1200: 148.4, noble1200: 22.5, native65536: 188.6, noble65536: 96.1 },
  rawNodeAeadMBps1200: 138.9,
  native1200ToRawNodeRatio: 1.07,
  baseline: {
    nativeHandshakesPerSec: 2000,
    nobleHandshakesPerSec: 100,
    aeadMBps: { native1200: 200 },
  },
};
const CHANNEL: BenchResult = {
  bench: 'channel',
  machine: { cpus: 2, loadAverage1m: 6.6 },
  loopbackMBps: 118.7,
  loopbackNobleMBps: 34.3,
  udpBaselineMBps: 96.4,
  ratio: 1.232,
  maxDatagramSize: 65507,
  simUtilization: {
    dsl_15: { uplink: 0.97, downlink: 0.969 },
    cable_5: { uplink: 0.969, downlink: 0.968 },
  },
  fairness: 0.5,
  fairnessCubic: 0.486,
  targets: { ratio: 1, loopbackMBps: 300, simUtilization: 0.9, fairness: 0.45 },
  meetsTargets: { ratio: true, loopbackMBps: false, simUtilization: true, fairness: true },
  errors: {},
};
const STREAMS: BenchResult = {
  bench: 'streams',
  sssMBps: 26.2,
  sssNodeCryptoMBps: 20.5,
  sssBuffersMBps: 31.1,
  tcpMBps: 151.4,
  tlsMBps: 176.9,
  tlsChaChaMBps: 234.2,
  ratioTls: 0.148,
  ratioTcp: 0.173,
  coldRequestRtts: 2,
  warmRequestRtts: 1,
  streamsPerSec: 11238,
  bytesPerIdleStream: 4370,
  targets: {
    ratioTls: 0.5,
    coldRequestRtts: 2,
    warmRequestRtts: 1.1,
    streamsPerSec: 20000,
    bytesPerIdleStream: 8192,
  },
  meetsTargets: {
    ratioTls: false,
    coldRequestRtts: true,
    warmRequestRtts: true,
    streamsPerSec: false,
    bytesPerIdleStream: true,
    all: false,
  },
  errors: {},
};

const ALL: BenchOutcome[] = [
  { name: 'sim', result: SIM },
  { name: 'handshake', result: HANDSHAKE },
  { name: 'channel', result: CHANNEL },
  { name: 'streams', result: STREAMS },
];

const NOTE = {
  date: new Date('2025-03-04T05:06:07Z'),
  commit: 'aa1526d',
  cpuModel: 'Intel(R) Xeon(R) CPU @ 2.20GHz',
  cpus: 2,
  loadAverage: [6.73, 5.64, 4],
};

/** What Prettier makes of `markdown` with the repository's settings. */
async function prettier(markdown: string): Promise<string> {
  const config = await resolveConfig(new URL('../../README.md', import.meta.url));
  return format(markdown, { ...config, parser: 'markdown' });
}

/** The cells of `table`'s data rows (Markdown), by command. */
function cellsOf(table: string): Map<string, string[]> {
  const rows = table.split('\n').slice(2);
  return new Map(
    rows.map((row) => {
      const cells = row
        .slice(2, -2)
        .split(/(?<!\\) \| /)
        .map((cell) => cell.trim());
      return [cells[0] as string, cells];
    }),
  );
}

describe('benchTable', () => {
  it('has one row per bench under the five-column header, in the order given', () => {
    const lines = benchTable(ALL).split('\n');
    expect(lines[0]?.split('|').map((cell) => cell.trim())).toEqual([
      '',
      'command',
      'what it measures',
      'result',
      'target / baseline',
      'met?',
      '',
    ]);
    expect(lines[1]).toMatch(/^\| -+ \| -+ \| -+ \| -+ \| -+ \|$/);
    expect(lines.slice(2).map((line) => /`npm run bench:(\w+)`/.exec(line)?.[1])).toEqual([
      'sim',
      'handshake',
      'channel',
      'streams',
    ]);
    expect(lines).toHaveLength(6);
  });

  it('shows the key figures with units, the targets the JSON names and which are met', () => {
    const rows = cellsOf(benchTable(ALL));
    const [, , simResult, simTarget, simMet] = rows.get('`npm run bench:sim`') ?? [];
    expect(simResult).toBe(
      "178,476 pkt/s, peak RSS 80.8 MB, 0.181× a bare virtual clock's 983,812 events/s; " +
        'trace hash seed 1 = `4d4d8a5a846b5518`',
    );
    expect(simTarget).toBe(
      'packets/s ≥ 300,000 pkt/s; peak RSS ≤ 200 MB; in the same run: a bare virtual clock firing as many timers',
    );
    // sim's and handshake's JSON give no verdict: the table compares figure and baseline itself.
    expect(simMet).toBe('packets/s: no; peak RSS: yes');
    const [, , hsResult, hsTarget, hsMet] = rows.get('`npm run bench:handshake`') ?? [];
    expect(hsResult).toContain('native 315, noble 70 handshakes/s');
    expect(hsResult).toContain('AEAD 1200 B: native 148.4 MB/s (raw node:crypto 138.9)');
    expect(hsTarget).toContain('native AEAD 1200 B ≥ 200 MB/s');
    expect(hsMet).toBe('native handshakes: no; noble handshakes: no; native AEAD 1200 B: no');
    const [, , chResult, , chMet] = rows.get('`npm run bench:channel`') ?? [];
    expect(chResult).toContain('native 118.7 MB/s, noble 34.3, UDP baseline 96.4, ratio 1.232');
    expect(chResult).toContain('dsl_15 0.97 up, 0.969 down; cable_5 0.969 up, 0.968 down');
    expect(chMet).toBe(
      'native loopback: no; ratio to UDP: yes; sim utilization: yes; fairness: yes',
    );
    const [, , stResult, stTarget, stMet] = rows.get('`npm run bench:streams`') ?? [];
    expect(stResult).toContain('cold 2 RTT, warm 1 RTT; 11,238 streams/s; 4,370 bytes per idle');
    expect(stTarget).toContain('bytes per idle stream ≤ 8,192');
    expect(stMet).toBe(
      'ratio to TLS: no; cold request: yes; warm request: yes; streams/s: no; bytes per idle stream: yes',
    );
  });

  it("takes the JSON's own verdict over comparing", () => {
    // The verdict the bench printed is the one to show, even where the table would judge otherwise.
    const stated = {
      ...CHANNEL,
      meetsTargets: { ...(CHANNEL.meetsTargets as object), ratio: false },
    };
    expect(benchRow({ name: 'channel', result: stated })[4]).toContain('ratio to UDP: no');
    const unstated = { ...CHANNEL, meetsTargets: undefined };
    expect(benchRow({ name: 'channel', result: unstated })[4]).toBe(
      'native loopback: no; ratio to UDP: yes; sim utilization: yes; fairness: yes',
    );
  });

  it('marks a bench that printed nothing as failed, with no targets to judge', () => {
    const row = benchRow({ name: 'channel', failure: 'timed out after 600 s' });
    expect(row[2]).toBe('FAILED: timed out after 600 s');
    expect(row[3]).toBe('—');
    expect(row[4]).toBe('—');
  });

  it('shows a failed case of a bench that still printed its JSON', () => {
    const partial: BenchResult = {
      ...STREAMS,
      tlsMBps: null,
      ratioTls: null,
      meetsTargets: { ...(STREAMS.meetsTargets as object), ratioTls: null },
      errors: { tls: 'tls receiver exited with 1' },
    };
    const row = benchRow({ name: 'streams', result: partial, failure: 'exited with code 1' });
    expect(row[2]).toMatch(/^FAILED: exited with code 1; /);
    expect(row[2]).toContain('against TLS — (ChaCha20 234.2)');
    expect(row[2]).toContain('ratio to TLS —;');
    expect(row[2]).toMatch(/failed cases: tls \(tls receiver exited with 1\)$/);
    expect(row[4]).toMatch(/^ratio to TLS: n\/a; cold request: yes/);
  });

  it('is Markdown that Prettier leaves as it is, failures with special characters included', async () => {
    const outcomes: BenchOutcome[] = [
      ...ALL.slice(0, 2),
      { name: 'channel', failure: 'exited with code 1' },
      {
        name: 'streams',
        result: { ...STREAMS, errors: { memory: 'a | b *c* _d_ <e> [f] `g` ~h~ #i \\j\nk' } },
        failure: 'exited with code 1',
      },
    ];
    const table = benchTable(outcomes);
    expect(await prettier(table)).toBe(`${table}\n`);
    const readme = `# T\n\n${README_START}\n\n${readmeBlock(table, NOTE)}\n\n${README_END}\n`;
    expect(await prettier(readme)).toBe(readme);
  });
});

describe('escapeText', () => {
  it('keeps text on one line and escapes what Markdown would read as markup', () => {
    expect(escapeText('a|b\n  *c* _d_ <e>')).toBe('a\\|b \\*c\\* \\_d\\_ \\<e\\>');
  });

  it('cuts long text', () => {
    expect(escapeText('x'.repeat(300), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('machineLine', () => {
  it('names the date, commit, CPU, load average and the command that regenerates the table', () => {
    expect(machineLine(NOTE)).toBe(
      'Measured 2025-03-04 at commit `aa1526d` on Intel(R) Xeon(R) CPU @ 2.20GHz (2 CPUs), ' +
        'load average 6.73, 5.64, 4.00 (1, 5, 15 min) before the first benchmark; figures from a ' +
        'shared machine are noisy. Regenerate with `npm run bench -- --readme`.',
    );
    expect(machineLine({ ...NOTE, commit: undefined })).toContain('at an unknown commit on');
  });
});

describe('replaceBlock', () => {
  const readme = `# R\n\n## Benchmarks\n\n${README_START}\nold table\n${README_END}\n\n## Next\n`;

  it('replaces only what is between the markers', () => {
    expect(replaceBlock(readme, 'new')).toBe(
      `# R\n\n## Benchmarks\n\n${README_START}\n\nnew\n\n${README_END}\n\n## Next\n`,
    );
  });

  it('gives the same README when run twice', () => {
    const once = replaceBlock(readme, 'new');
    expect(replaceBlock(once, 'new')).toBe(once);
  });

  it('refuses a README without both markers, in order', () => {
    for (const broken of [
      readme.replace(README_START, ''),
      readme.replace(README_END, ''),
      `${README_END}\n${README_START}\n`,
    ]) {
      expect(() => replaceBlock(broken, 'new')).toThrow(SssError);
    }
    expect(() => replaceBlock(readme.replace(README_END, ''), 'new')).toThrow(
      /README\.md has no <!-- bench-table:end --> after <!-- bench-table:start -->/,
    );
  });
});
