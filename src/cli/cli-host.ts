/** The {@link Host} a network command runs on, with its channels tuned to `--timeout`. */
import type { Identity } from '../crypto/identity.js';
import type { CryptoSuite } from '../crypto/suite.js';
import { type Clock, RealClock, type TimerHandle } from '../net/clock.js';
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

/**
 * The real clock, with a switch that cancels every pending timer and refuses new ones. A closed
 * host leaves a handshake under way running (its retransmissions then throw on the closed
 * socket, from a timer); stopped, its clock runs none of it, and nothing holds the process.
 */
class StoppableClock implements Clock {
  readonly #clock = new RealClock();
  readonly #pending = new Set<TimerHandle>();
  #stopped = false;

  now(): number {
    return this.#clock.now();
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    if (this.#stopped) return {};
    const handle = this.#clock.setTimer(delayMs, () => {
      this.#pending.delete(handle);
      callback();
    });
    this.#pending.add(handle);
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    if (!this.#pending.delete(handle)) return;
    this.#clock.clearTimer(handle);
  }

  stop(): void {
    this.#stopped = true;
    for (const handle of this.#pending) this.#clock.clearTimer(handle);
    this.#pending.clear();
  }
}

/** A host and the means to close it completely. */
export interface CliHost {
  readonly host: Host;
  /**
   * Closes the host after one more turn of the event loop (what the last turn queued, a FIN or
   * a reset, is flushed at its end and would be lost if the host closed first), then stops
   * every timer it left.
   */
  close(): Promise<void>;
}

/**
 * A host on one UDP socket. An idle channel pings four times per timeout (at most every 5 s, at
 * least every 250 ms), so that a peer that vanished (killed, unplugged) shows as a stalled link
 * well within the timeout, and the link is declared down once nothing was heard for the timeout.
 */
export async function openHost(options: CliHostOptions): Promise<CliHost> {
  const keepaliveMs = Math.min(5000, Math.max(250, Math.floor(options.timeoutMs / 4)));
  const clock = new StoppableClock();
  const host = await Host.create({
    identity: options.identity,
    suite: options.suite,
    clock,
    bind: [options.bind],
    channel: { keepaliveMs, downAfterMs: options.timeoutMs },
  });
  const close = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    // Its channels are closed (the CLOSE sent) before it first waits, on the sockets closing.
    const closed = host.close();
    clock.stop();
    await closed;
  };
  return { host, close };
}
