import { describe, expect, it } from 'vitest';
import { runSimScenario } from '../../src/cli/sim-scenario.js';
import { InvalidParameterError } from '../../src/net/errors.js';
import { PRESETS } from '../../src/net/sim/presets.js';

describe('sss sim scenario', () => {
  it('reports the same run for the same seed, and another for another seed', () => {
    const run = (seed: number) => runSimScenario({ preset: 'wifi_lossy', seed, durationMs: 2000 });
    expect(run(4)).toEqual(run(4));
    expect(run(5).traceHash).not.toBe(run(4).traceHash);
  });

  it('measures a loss-free preset at the offered 90 % of its rate, with its propagation delay', () => {
    const report = runSimScenario({ preset: 'cable_5', seed: 1, durationMs: 5000 });
    const down = report.flows[0];
    expect(down?.delivered).toBe(down?.sent);
    expect(down?.capacityBps).toBe(PRESETS.cable_5.down.bandwidthBps);
    expect((down?.goodputBps ?? 0) / (down?.capacityBps ?? 1)).toBeCloseTo(0.9, 2);
    expect(down?.delayMs.min).toBeGreaterThanOrEqual(PRESETS.cable_5.down.delayMs);
    expect(report.dropped).toEqual({});
  });

  it('applies a fault plan: a partition drops the datagrams sent across it', () => {
    const report = runSimScenario({
      preset: 'eth_100',
      seed: 1,
      durationMs: 1000,
      plan: [
        { at: 200, type: 'partition', a: ['client'], b: ['server'] },
        { at: 400, type: 'heal-all' },
      ],
    });
    const down = report.flows[0];
    expect(report.dropped.partition).toBeGreaterThan(0);
    expect((down?.delivered ?? 0) + (report.dropped.partition ?? 0)).toBeGreaterThanOrEqual(
      down?.sent ?? 0,
    );
  });

  it('rejects an unknown preset with an error naming it', () => {
    expect(() => runSimScenario({ preset: 'dsl_16', seed: 1, durationMs: 10 })).toThrow(
      InvalidParameterError,
    );
  });
});
