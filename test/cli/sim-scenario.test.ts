import { describe, expect, it } from 'vitest';
import { formatSimReport, runSimScenario } from '../../src/cli/sim-scenario.js';
import { InvalidParameterError } from '../../src/net/errors.js';
import { PRESETS } from '../../src/net/sim/presets.js';

describe('sss sim scenario: the demo fetch on the simulator', () => {
  it('reports the same run for the same seed, and another trace for another seed', async () => {
    const run = (seed: number) =>
      runSimScenario({ preset: 'wifi_lossy', seed, durationMs: 60_000, bytes: 64 * 1024 });
    const first = await run(4);
    expect(first.allVerified).toBe(true);
    expect(await run(4)).toEqual(first);
    expect((await run(5)).traceHash).not.toBe(first.traceHash);
  });

  it('on a loss-free preset every file verifies, in priority order, within the link capacity and above its propagation delay', async () => {
    const report = await runSimScenario({
      preset: 'cable_5',
      seed: 1,
      durationMs: 60_000,
      bytes: 256 * 1024,
    });
    const link = PRESETS.cable_5;
    expect(report.files.map((file) => file.verified)).toEqual([true, true, true, true]);
    expect(report.bytes).toBe(report.files.reduce((sum, file) => sum + file.size, 0));
    expect(report.priorityOrder).toBe(true);
    expect(report.network.dropped).toEqual({});
    expect(report.goodputBps).toBeGreaterThan(0);
    expect(report.goodputBps).toBeLessThan(link.down.bandwidthBps);
    const propagation = link.up.delayMs + link.down.delayMs;
    expect(report.rttMs?.min).toBeGreaterThanOrEqual(propagation);
    expect(report.channels.client?.rttMs?.min).toBeGreaterThanOrEqual(propagation);
    expect(report.linkChanges.map((change) => change.state)).toEqual(['down', 'up']);
  });

  it('a partition in the middle of the transfer stalls the link and drops packets; after the heal every file verifies', async () => {
    const report = await runSimScenario({
      preset: 'eth_100',
      seed: 1,
      durationMs: 60_000,
      bytes: 2 * 1024 * 1024,
      plan: [
        { at: 100, type: 'partition', a: ['client'], b: ['server'] },
        { at: 400, type: 'heal-all' },
      ],
    });
    expect(report.network.dropped.partition).toBeGreaterThan(0);
    expect(report.linkChanges.map((change) => change.state)).toContain('stalled');
    expect(report.allVerified).toBe(true);
    expect(report.durationMs).toBeGreaterThan(400);
    const text = formatSimReport(report, 0.1);
    expect(text).toContain('partition');
    expect(text).toContain(report.traceHash);
  });

  it('a server that crashes for good leaves every file unverified at the time limit, reported and not thrown', async () => {
    const report = await runSimScenario({
      preset: 'wifi_lossy',
      seed: 1,
      durationMs: 3000,
      bytes: 2 * 1024 * 1024,
      plan: [{ at: 100, type: 'crash', host: 'server' }],
    });
    expect(report.allVerified).toBe(false);
    expect(report.files.every((file) => file.error?.includes('3000 ms'))).toBe(true);
    expect(report.virtualMs).toBe(3000);
    expect(report.network.dropped['host-down']).toBeGreaterThan(0);
    expect(formatSimReport(report, 0.1)).toContain('no: no end within 3000 ms');
  });

  it('rejects an unknown preset and a bad size with errors naming them', async () => {
    await expect(
      runSimScenario({ preset: 'dsl_16', seed: 1, durationMs: 10, bytes: 1024 }),
    ).rejects.toThrow(InvalidParameterError);
    await expect(
      runSimScenario({ preset: 'dsl_15', seed: 1, durationMs: 10, bytes: 2 }),
    ).rejects.toThrow(/bytes/);
  });
});
