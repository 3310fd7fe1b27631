import { InvalidParameterError } from '../errors.js';
import type { LinkParams } from './link.js';

/**
 * Named link pairs after the SST/libuia simulator's presets (Ford, SIGCOMM 2007 §5; libuia
 * `simulation/`). `up` runs from the client side (the first host given to `setLinks`), `down`
 * back to it. Rates and queues count UDP payload bytes. Where SST gave no figure the value is
 * ours and marked so; docs/SIMULATOR.md explains each choice.
 */
export const PRESETS = {
  /** DSL: 1536 kbit/s down, 384 kbit/s up, 13 ms RTT, queues of 300 ms down and 750 ms up (SST). */
  dsl_15: {
    down: { bandwidthBps: 1_536_000, delayMs: 6.5, queueBytes: 57_600, mtu: 1472 },
    up: { bandwidthBps: 384_000, delayMs: 6.5, queueBytes: 36_000, mtu: 1472 },
  },
  /** Cable: 5000 kbit/s down, 384 kbit/s up, 7 ms RTT (SST); queues of 300/750 ms are ours. */
  cable_5: {
    down: { bandwidthBps: 5_000_000, delayMs: 3.5, queueBytes: 187_500, mtu: 1472 },
    up: { bandwidthBps: 384_000, delayMs: 3.5, queueBytes: 36_000, mtu: 1472 },
  },
  /**
   * Satellite: 10 Mbit/s each way (SST's name), 500 ms RTT (SST's "500 ms delay" read as the
   * round trip of a geostationary hop); a 500 ms queue is ours.
   */
  sat_10: {
    down: { bandwidthBps: 10_000_000, delayMs: 250, queueBytes: 625_000, mtu: 1472 },
    up: { bandwidthBps: 10_000_000, delayMs: 250, queueBytes: 625_000, mtu: 1472 },
  },
  /** Switched 100 Mbit/s Ethernet: 0.2 ms RTT and a 100-packet queue are ours. */
  eth_100: {
    down: { bandwidthBps: 100_000_000, delayMs: 0.1, queueBytes: 147_200, mtu: 1472 },
    up: { bandwidthBps: 100_000_000, delayMs: 0.1, queueBytes: 147_200, mtu: 1472 },
  },
  /** Switched gigabit Ethernet: 0.1 ms RTT and a 1000-packet queue are ours. */
  eth_1000: {
    down: { bandwidthBps: 1_000_000_000, delayMs: 0.05, queueBytes: 1_472_000, mtu: 1472 },
    up: { bandwidthBps: 1_000_000_000, delayMs: 0.05, queueBytes: 1_472_000, mtu: 1472 },
  },
  /**
   * Lossy Wi-Fi (ours): ~18 Mbit/s each way as SST measured on 802.11g, 4 ms RTT, up to 3 ms of
   * jitter, and Gilbert-Elliott bursts averaging about 1.5 % loss (0.5 % in the good state, 50 %
   * in bad bursts of 4 packets on average).
   */
  wifi_lossy: {
    down: {
      bandwidthBps: 18_000_000,
      delayMs: 2,
      jitterMs: 3,
      queueBytes: 225_000,
      mtu: 1472,
      burst: { pGoodToBad: 0.005, pBadToGood: 0.25, lossGood: 0.005, lossBad: 0.5 },
    },
    up: {
      bandwidthBps: 18_000_000,
      delayMs: 2,
      jitterMs: 3,
      queueBytes: 225_000,
      mtu: 1472,
      burst: { pGoodToBad: 0.005, pBadToGood: 0.25, lossGood: 0.005, lossBad: 0.5 },
    },
  },
} as const satisfies Record<string, { up: Partial<LinkParams>; down: Partial<LinkParams> }>;

/** The name of a preset link pair. */
export type LinkPreset = keyof typeof PRESETS;

/** Names of all presets. */
export const PRESET_NAMES = Object.keys(PRESETS) as LinkPreset[];

/** The `{ up, down }` parameters of a preset. @throws InvalidParameterError naming `preset`. */
export function presetLinks(name: string): { up: Partial<LinkParams>; down: Partial<LinkParams> } {
  if (!Object.hasOwn(PRESETS, name)) {
    throw new InvalidParameterError(
      'preset',
      `unknown preset ${JSON.stringify(name)}; known: ${PRESET_NAMES.join(', ')}`,
    );
  }
  return PRESETS[name as LinkPreset];
}
