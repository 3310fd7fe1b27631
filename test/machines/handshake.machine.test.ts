import { type AnyStateMachine, createActor, type EventObject } from 'xstate';
import {
  type DirectedGraphNode,
  getAdjacencyMap,
  getShortestPaths,
  toDirectedGraph,
} from 'xstate/graph';
import { describe, expect, it } from 'vitest';
import { initiatorMachine, responderMachine } from '../../src/machines/handshake.machine.js';
import { VirtualClock } from '../../src/net/sim/virtual-clock.js';

interface Edge {
  readonly source: string;
  readonly event: string;
  readonly target: string;
}

function edgesOf(node: DirectedGraphNode): Edge[] {
  return [
    ...node.edges.map((e) => ({ source: e.source.id, event: e.label.text, target: e.target.id })),
    ...node.children.flatMap(edgesOf),
  ];
}

function stateIdsOf(node: DirectedGraphNode): string[] {
  return [node.id, ...node.children.flatMap(stateIdsOf)];
}

/** The ids of the state nodes a snapshot value has active (`a.b` for `{ a: 'b' }`). */
function activeIds(machineId: string, value: unknown, prefix = machineId): string[] {
  if (typeof value === 'string') return [`${prefix}.${value}`];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => [
    `${prefix}.${key}`,
    ...activeIds(machineId, child, `${prefix}.${key}`),
  ]);
}

const initiator = initiatorMachine;
const responder = responderMachine;
const initiatorInput = {
  initialRetransmitMs: 100,
  maxRetransmitMs: 400,
  timeoutMs: 1000,
  sendInitiate: () => undefined,
};
const responderInput = { halfOpenTimeoutMs: 500, resendReply: () => undefined };

const cases = [
  {
    name: 'initiator',
    machine: initiator as AnyStateMachine,
    input: initiatorInput,
    // Whether an authentication failure was seen decides which way the deadline goes.
    serialize: (snapshot: { value: unknown; context: { authFailures: number } }) =>
      JSON.stringify([snapshot.value, snapshot.context.authFailures > 0]),
  },
  {
    name: 'responder',
    machine: responder as AnyStateMachine,
    input: responderInput,
    serialize: (snapshot: { value: unknown }) => JSON.stringify(snapshot.value),
  },
];

describe.each(cases)('$name machine graph', ({ machine, input, serialize }) => {
  const graph = toDirectedGraph(machine);
  const edges = edgesOf(graph);
  const events: EventObject[] = [...new Set(edges.map((e) => e.event))].map((type) => ({ type }));
  const options = { input, events, serializeState: serialize as never };

  it('every state node is reachable', () => {
    const reached = new Set(
      getShortestPaths(machine, options).flatMap((path) => activeIds(machine.id, path.state.value)),
    );
    const states = stateIdsOf(graph).filter((id) => id !== machine.id);
    expect(states.filter((id) => !reached.has(id))).toEqual([]);
  });

  it('every transition is taken from some reachable state', () => {
    const adjacency = getAdjacencyMap(machine, options);
    const taken = new Set<string>();
    for (const entry of Object.values(adjacency)) {
      const from = activeIds(machine.id, entry.state.value);
      for (const [eventKey, next] of Object.entries(
        entry.transitions as Record<string, { state: { value: unknown } }>,
      )) {
        const event = (JSON.parse(eventKey) as EventObject).type;
        const to = activeIds(machine.id, next.state.value);
        for (const edge of edges) {
          if (edge.event === event && from.includes(edge.source) && to.includes(edge.target)) {
            taken.add(JSON.stringify(edge));
          }
        }
      }
    }
    expect(edges.filter((edge) => !taken.has(JSON.stringify(edge)))).toEqual([]);
  });
});

/** Delays by event type, so that a path's `xstate.after` steps can be replayed on the clock. */
function delayOf(type: string): number {
  if (type.includes('after.retransmit')) return initiatorInput.maxRetransmitMs;
  if (type.includes('after.deadline')) return initiatorInput.timeoutMs;
  if (type.includes('after.halfOpenTimeout')) return responderInput.halfOpenTimeoutMs;
  throw new Error(`no delay for ${type}`);
}

describe.each(cases)(
  '$name machine paths on the virtual clock',
  ({ machine, input, serialize }) => {
    const events: EventObject[] = [
      ...new Set(edgesOf(toDirectedGraph(machine)).map((e) => e.event)),
    ].map((type) => ({ type }));
    const paths = getShortestPaths(machine, { input, events, serializeState: serialize as never });

    it.each(paths.map((path) => [serialize(path.state as never), path] as const))(
      'reaches %s by replaying its path, timers firing on the injected clock',
      (_name, path) => {
        const clock = new VirtualClock();
        const actor = createActor(machine, { input, clock: clock.toXState() }).start();
        for (const step of path.steps.slice(1)) {
          if (step.event.type.startsWith('xstate.after.')) {
            // Let virtual time run until the named timer has fired and changed the state.
            const before = serialize(actor.getSnapshot() as never);
            const changed = clock.runUntil(
              () => serialize(actor.getSnapshot() as never) !== before,
              delayOf(step.event.type),
            );
            expect(changed).toBe(true);
          } else {
            actor.send(step.event);
          }
        }
        expect(serialize(actor.getSnapshot() as never)).toBe(serialize(path.state as never));
        actor.stop();
      },
    );
  },
);
