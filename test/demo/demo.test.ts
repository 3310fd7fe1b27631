/**
 * The main job end to end: the demo's two runs with small files, over loopback UDP and on the
 * simulator, verified file by file.
 */
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/demo.js';
import { type FileSpec, makeFiles } from '../../src/demo/files.js';
import { type DemoOutput, ProgressView } from '../../src/demo/progress.js';
import { runOnSimulator } from '../../src/demo/sim-run.js';
import { runOverUdp } from '../../src/demo/udp-run.js';
import { type Host, HostClosedError } from '../../src/host.js';

/** Small files whose priorities are not in size order, as the demo's are. */
const SMALL: readonly FileSpec[] = [
  { name: 'first.bin', size: 48 * 1024, priority: 3 },
  { name: 'second.bin', size: 160 * 1024, priority: 2 },
  { name: 'third.bin', size: 8 * 1024, priority: 1 },
  { name: 'fourth.bin', size: 64 * 1024, priority: 0 },
];

function recorder(isTTY: boolean): DemoOutput & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY, write: (text) => chunks.push(text), text: () => chunks.join('') };
}

describe('the demo', () => {
  it('fetches every file over UDP and on the simulator, verifies each, and narrates it', async () => {
    const out = recorder(false);
    const report = await runDemo({ files: SMALL, seed: 7, out });
    expect(report.ok).toBe(true);
    for (const run of [report.udp, report.sim]) {
      expect(run.files.map((file) => [file.name, file.verified])).toEqual(
        SMALL.map((file) => [file.name, true]),
      );
      expect(run.files.map((file) => file.size)).toEqual(SMALL.map((file) => file.size));
      expect(run.goodputBps).toBeGreaterThan(0);
      expect(run.rttMs?.samples).toBeGreaterThan(0);
      expect(run.linkChanges[run.linkChanges.length - 1]?.state).toBe('up');
      expect(run.datagrams.server.datagramsSent).toBeGreaterThan(0);
      expect(run.channels.server?.packetsSent).toBeGreaterThan(0);
    }
    // Virtual time makes the finishing order deterministic: highest priority first, although
    // the 8 KiB file is the smallest.
    const order = [...report.sim.files]
      .sort((a, b) => (a.completedMs as number) - (b.completedMs as number))
      .map((file) => file.name);
    expect(order).toEqual(['first.bin', 'second.bin', 'third.bin', 'fourth.bin']);
    expect(report.sim.priorityOrder).toBe(true);
    const text = out.text();
    expect(text).toContain('Run 1: real UDP');
    expect(text).toContain('third.bin: verified (8.0 KiB, priority 1)');
    expect(text).toContain(`trace hash ${report.sim.traceHash}`);
    expect(text).toContain('Every file arrived intact in both runs.');
    expect(text).not.toContain('\x1b[');
  });

  it('redraws progress in place on a terminal', async () => {
    const out = recorder(true);
    const view = new ProgressView(out);
    await runOnSimulator({
      files: makeFiles(SMALL, 1),
      preset: 'eth_100',
      seed: 1,
      limitMs: 10_000,
      onProgress: (fetch) => view.progress(fetch),
      onEvent: (event, fetch) => view.event(event, fetch),
    });
    const text = out.text();
    // Five lines (four files, the link) drawn, then rewritten from their first line.
    expect(text).toContain('\x1b[5A');
    expect(text).toMatch(/third\.bin +p1 +8\.0 KiB +\[#{20}\] +100% +verified/);
  });

  it('on the simulator, the same seed replays the same trace; another seed does not', async () => {
    const files = makeFiles(SMALL, 3);
    const run = (seed: number) =>
      runOnSimulator({ files, preset: 'wifi_lossy', seed, limitMs: 60_000 });
    const [a, b, c] = [await run(3), await run(3), await run(4)];
    expect(a.allVerified && b.allVerified && c.allVerified).toBe(true);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b).toEqual(a);
    expect(c.traceHash).not.toBe(a.traceHash);
  });

  it('the UDP run leaves both hosts closed, with every stream finished and collected', async () => {
    const hosts: Host[] = [];
    const report = await runOverUdp({
      files: makeFiles(SMALL, 2),
      onHosts: (client, server) => hosts.push(client, server),
    });
    expect(report.allVerified).toBe(true);
    const [client, server] = hosts as [Host, Host];
    expect(client.streamSession(server.eid)?.streams.size).toBe(0);
    expect(server.streamSession(client.eid)?.streams.size).toBe(0);
    expect(() => client.connect(server.eid, 'files', 'fetch/1', { endpoints: [] })).toThrow(
      HostClosedError,
    );
  });
});
