/**
 * The deterministic network simulator: `structured-secure-streams/sim`.
 * @packageDocumentation
 */
export type { Clock, TimerHandle, XStateClock } from '../clock.js';
export { toXStateClock } from '../clock.js';
export type { DatagramSocket, ReceiveHandler, SocketAddress } from '../datagram-socket.js';
export { InvalidParameterError } from '../errors.js';
export { Prng, type PrngState } from '../prng.js';
export {
  type FaultPlanConstraints,
  faultPlanArb,
  gilbertElliottArb,
  type LinkParamsConstraints,
  linkParamsArb,
} from './arbitraries.js';
export { assertDeterministic, NondeterminismError, type Scenario } from './determinism.js';
export { EventQueue, type SimEvent } from './event-queue.js';
export { applyPlan, type FaultEvent, type FaultKind, type FaultPlan } from './faults.js';
export {
  type Damage,
  type DropReason,
  type GilbertElliott,
  IDEAL_LINK,
  type LinkParams,
  linkParams,
} from './link.js';
export type { NatOptions } from './nat.js';
export { type LinkEnd, SimNetwork, type SimNetworkOptions } from './network.js';
export { type LinkPreset, PRESET_NAMES, PRESETS, presetLinks } from './presets.js';
export { type HostOptions, SimHost, SimSocket } from './sim-host.js';
export {
  formatTraceRecord,
  hashBytes,
  type JsonValue,
  Trace,
  type TraceRecord,
  type TraceStats,
} from './trace.js';
export { ClockScheduler, SimulationLimitError, VirtualClock } from './virtual-clock.js';
