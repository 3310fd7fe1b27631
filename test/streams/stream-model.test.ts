/**
 * Model-based property tests of the stream layer (fc.commands): the stream API driven on two
 * hosts over the simulator, under generated fault plans (loss, burst loss, reordering and
 * jitter, duplication, corruption, blackholes and partitions, all healed at the plan's end),
 * and with the channel failing under the streams at either side (a command), against a small
 * reference model. See fixtures/stream-model.ts for the model, the commands
 * and the checks.
 *
 * Properties, after the faults heal and the network goes quiet:
 *  1. bytes, records and reliable datagrams arrive exactly once, in order, intact, per stream;
 *  2. substream trees arrive as opened;
 *  3. resets: the reader sees the writer's code and no data after the reset arrived; the
 *     writer's reset$ reports at most what it wrote as unacknowledged;
 *  4. no receiving stream ever buffers more than its window (checked at every packet);
 *  5. once both sides finish, every stream is collected, its actor done, the sessions empty;
 *  6. the same scenario gives the same trace hash.
 * A failure prints fast-check's seed and path, and the counterexample: the network seed, the
 * fault plan (JSON) and the commands; the error lists the commands as they ran, with the
 * streams they chose. STREAM_MODEL_TRACE=<ms> prints the simulator's trace up to that time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { faultPlanArb } from '../../src/net/sim/arbitraries.js';
import type { FaultPlan } from '../../src/net/sim/faults.js';
import { StreamClosedError } from '../../src/streams/errors.js';
import { writeResetFrame } from '../../src/streams/stream-frames.js';
import { StreamSession } from '../../src/streams/stream-session.js';
import { hostPair } from '../fixtures/host-pair.js';
import {
  AdvanceTime,
  Close,
  commandArbs,
  Connect,
  OpenSubstream,
  Reset,
  runScenario,
  ShutdownWrite,
  Write,
  WriteReliableDatagram,
} from './fixtures/stream-model.js';

/** Runs of the main property (STREAM_MODEL_RUNS overrides it, for a longer search). */
const RUNS = Number(process.env.STREAM_MODEL_RUNS ?? 300);

/** Long searches need more than the default test timeout. */
const TIMEOUT_MS = Math.max(60_000, RUNS * 500);

/** Faults happen in the first DURATION_MS; the plan ends with heal-all then. */
const DURATION_MS = 2000;

const scenarioArb = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  plan: faultPlanArb({
    hosts: ['client', 'server'],
    durationMs: DURATION_MS,
    maxEvents: 6,
    kinds: ['partition', 'heal', 'impair'],
    link: { maxDelayMs: 100, maxLoss: 0.3 },
  }),
});

const commandsArb = fc.commands(commandArbs(), { maxCommands: 60, size: 'large' });

describe('stream layer, model-based', () => {
  it(
    'delivers exactly once and in order, keeps trees and windows, resets as specified, collects everything',
    async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb, commandsArb, async (scenario, commands) => {
          await runScenario({ ...scenario, durationMs: DURATION_MS }, commands);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'is deterministic: the same scenario twice gives the same trace hash',
    async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb, commandsArb, async (scenario, commands) => {
          const options = { ...scenario, durationMs: DURATION_MS };
          const first = await runScenario(options, commands);
          const second = await runScenario(options, commands);
          expect(second.hash).toBe(first.hash);
        }),
        { numRuns: Math.max(1, Math.ceil(RUNS / 6)) },
      );
    },
    TIMEOUT_MS,
  );
});

const HEALTHY: FaultPlan = [{ at: DURATION_MS, type: 'heal-all' }];
const client = 0;
const server = 1;

/**
 * Counterexamples the model found, shrunk, kept as fixed scenarios (each starts with the
 * client's stream #0 to the server; `pick` 0 is the first stream a command may apply to).
 */
const regressions: {
  name: string;
  seed?: number;
  plan: FaultPlan;
  commands: () => Iterable<fc.Command<never, never>>;
}[] = [
  {
    name: "a reliable datagram's carrier is collected at its writer, which never reads it",
    plan: HEALTHY,
    commands: () => [new AdvanceTime(20), new WriteReliableDatagram(client, 0, 1)],
  },
  {
    name: "a substream opened before its parent's end is not refused for arriving after it",
    plan: HEALTHY,
    commands: () => [
      new OpenSubstream(client, 0),
      new AdvanceTime(30),
      new ShutdownWrite(server, 0),
      new AdvanceTime(10),
    ],
  },
  {
    name: 'a FIN that overtakes the data it ends still lets the records before it be read',
    plan: [{ at: 11, type: 'partition', a: ['client'], b: ['server'], oneWay: true }, ...HEALTHY],
    commands: () => [new AdvanceTime(1000), new AdvanceTime(1000)],
  },
  {
    name: 'frames after one whose events flush the channel are not lost (re-entrant flush)',
    plan: [
      { at: 21, type: 'impair', from: 'client', to: 'server', params: { blackhole: true } },
      ...HEALTHY,
    ],
    commands: () => [new AdvanceTime(21), new Connect(), new AdvanceTime(1)],
  },
  {
    name: "a substream waits until the service has read its parent's request",
    plan: [
      { at: 0, type: 'impair', from: 'client', to: 'server', params: { blackhole: true } },
      ...HEALTHY,
    ],
    commands: () => [
      new AdvanceTime(867),
      new Write(client, 0, 7275, false),
      new Write(client, 0, 1966, false),
      new AdvanceTime(109),
      new Write(client, 0, 1185, false),
      new OpenSubstream(client, 0),
    ],
  },
  {
    name: 'closing a stream opened to a service does not hold up its substreams',
    plan: HEALTHY,
    commands: () => [
      new OpenSubstream(client, 0),
      new Close(client, 0),
      new Write(client, 1, 1, false),
    ],
  },
  {
    name: 'a substream of a stream closed before the service read its request is not refused',
    plan: [
      { at: 21, type: 'partition', a: ['client'], b: ['server'] },
      { at: 31, type: 'heal', a: ['client'], b: ['server'] },
      ...HEALTHY,
    ],
    commands: () => [
      new Write(client, 0, 10_479, false),
      new WriteReliableDatagram(client, 0, 1),
      new Close(client, 0),
      new AdvanceTime(1),
    ],
  },

  {
    name: 'a stream closed by its opener before its request was read still reaches the service',
    plan: [
      { at: 21, type: 'partition', a: ['client'], b: ['server'] },
      { at: 31, type: 'heal', a: ['client'], b: ['server'] },
      ...HEALTHY,
    ],
    commands: () => [new AdvanceTime(31), new Close(client, 0), new AdvanceTime(1)],
  },
  {
    name: 'a STOP is not forgotten with its stream: the writer is told to stop',
    plan: HEALTHY,
    commands: () => [
      new Write(client, 0, 2000, false),
      new AdvanceTime(30),
      new Write(client, 0, 30_300, false),
      new ShutdownWrite(server, 0),
      new AdvanceTime(20),
      new Reset(server, 0, 256),
      new Write(client, 0, 33_227, false),
      new AdvanceTime(1),
    ],
  },
  {
    name: 'a STOP does not overtake the opening of its stream',
    plan: HEALTHY,
    commands: () => [
      new Close(client, 0),
      new AdvanceTime(100),
      new Write(server, 0, 40_000, false),
      new Write(server, 0, 40_000, false),
      new AdvanceTime(100),
    ],
  },
  {
    name: 'a RESET overtaking the opening of its stream ends it',
    seed: 1,
    plan: [
      { at: 0, type: 'impair', from: 'client', to: 'server', params: { jitterMs: 1 } },
      ...HEALTHY,
    ],
    commands: () => [
      new AdvanceTime(86),
      new Connect(),
      new Reset(client, 1, 256),
      new AdvanceTime(1),
    ],
  },
  {
    name: "the peer's RESET after a STOP of its own ends reading",
    seed: 12,
    plan: [
      {
        at: 0,
        type: 'impair',
        from: 'client',
        to: 'server',
        params: { jitterMs: 50 },
        bothWays: true,
      },
      ...HEALTHY,
    ],
    commands: () => [
      new AdvanceTime(200),
      new OpenSubstream(client, 0),
      new Write(client, 1, 100, false),
      new AdvanceTime(1),
      new Reset(client, 1, 300),
      new AdvanceTime(300),
    ],
  },
];

describe('stream layer, regressions found by the model', () => {
  for (const { name, seed, plan, commands } of regressions) {
    it(name, async () => {
      await runScenario({ seed: seed ?? 1, plan, durationMs: DURATION_MS }, commands() as never);
    });
  }

  it('openSubstream after shutdownWrite is an error: the substream could arrive after the end', async () => {
    const { client: a, server: b, endpoints } = await hostPair();
    b.listen('s', '', 'v1', '');
    const stream = a.connect(b.eid, 's', 'v1', { endpoints });
    stream.shutdownWrite();
    expect(() => stream.openSubstream()).toThrow(StreamClosedError);
  });

  it('a RESET that fits in a packet when the STOP after it does not is sent, not dropped', () => {
    const session = new StreamSession({
      localKey: new Uint8Array(32).fill(1),
      peerKey: new Uint8Array(32).fill(2),
      randomBytes: (n) => new Uint8Array(n).fill(7),
      now: () => 0,
      onIncoming: () => undefined,
    });
    const stream = session.open(undefined);
    stream.send.write(new Uint8Array(10));
    session.wake(stream);
    const out = new Uint8Array(1200);
    const first = session.writeFrames(out, 0, out.length);
    session.onAcked(first?.token ?? []);
    session.reset(stream, 7);
    session.stopReading(stream, 7);
    const resetBytes = writeResetFrame(out, 0, stream.id, 7, 10);
    const kinds: string[] = [];
    for (const limit of [resetBytes + 1, out.length]) {
      const written = session.writeFrames(out, 0, limit);
      for (const frame of written?.token ?? []) kinds.push(frame.kind);
    }
    expect(kinds).toEqual(['reset', 'stop']);
  });
});
