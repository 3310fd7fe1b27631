/** The {@link Host} a network command runs on, with its channels tuned to `--timeout`. */
import type { Identity } from '../crypto/identity.js';
import type { CryptoSuite } from '../crypto/suite.js';
import type { SocketAddress } from '../net/datagram-socket.js';
import { Host } from '../host.js';

/** `--timeout` when not given, ms. */
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface CliHostOptions {
  readonly identity: Identity;
  readonly suite: CryptoSuite;
  readonly bind: SocketAddress;
  readonly timeoutMs: number;
}

/** A host and the means to close it completely. */
export interface CliHost {
  readonly host: Host;
  /** Closes the host: what was written goes out first, then its CLOSE; no timer is left. */
  close(): Promise<void>;
}

/**
 * A host on one UDP socket. An idle channel pings four times per timeout (at most every 5 s, at
 * least every 250 ms), so that a peer that vanished (killed, unplugged) shows as a stalled link
 * well within the timeout, and the link is declared down once nothing was heard for the timeout.
 */
export async function openHost(options: CliHostOptions): Promise<CliHost> {
  const keepaliveMs = Math.min(5000, Math.max(250, Math.floor(options.timeoutMs / 4)));
  const host = await Host.create({
    identity: options.identity,
    suite: options.suite,
    bind: [options.bind],
    channel: { keepaliveMs, downAfterMs: options.timeoutMs },
  });
  return { host, close: () => host.close() };
}
