import { equalBytes } from '../crypto/bytes.js';

/**
 * One network path of a channel as the driver names it: `key` is unique per (local socket,
 * peer address); `peerHost` is the peer's IP literal, so that a change of port only (NAT
 * rebinding) can be told from a move to another host.
 */
export interface ChannelPath {
  readonly key: string;
  readonly peerHost: string;
}

/** Before validation a path gets at most this many bytes per byte it sent (RFC 9000 §8). */
export const AMPLIFICATION_FACTOR = 3;

/**
 * Paths learnt from arriving packets that are remembered at once; beyond, the least recently
 * used one not in use is forgotten. Configured paths do not count: the application bounds them.
 */
export const MAX_LEARNT_PATHS = 8;

/** Below this allowance an unvalidated path gets nothing: no useful packet is that small. */
export const MIN_USEFUL_PACKET = 64;

/** Challenges sent on one path before its validation fails (RFC 9000 §8.2.4 leaves it open). */
export const MAX_CHALLENGES = 3;

/** What the channel knows of one path. */
export interface PathEntry<P extends ChannelPath> {
  readonly path: P;
  /** The peer answered a challenge on it, or it is where the handshake ran. */
  validated: boolean;
  /** One of the peer's endpoints the application named: never forgotten, probed on failover. */
  readonly configured: boolean;
  bytesReceived: number;
  bytesSent: number;
  /** The data of the outstanding PATH_CHALLENGE, or undefined. */
  challenge: Uint8Array | undefined;
  challengesSent: number;
  /** When the challenge goes out (again), ms; `Infinity` when none is due. */
  challengeDueAt: number;
  /** The earliest time a failed or idle configured path is probed again, ms. */
  nextProbeAt: number;
  lastUsed: number;
}

/** What a validation step changed, for the channel to act on. */
export type ValidationEvent<P extends ChannelPath> =
  | { readonly kind: 'validated'; readonly entry: PathEntry<P> }
  | { readonly kind: 'failed'; readonly entry: PathEntry<P> };

/**
 * The peer addresses one channel knows, which one it sends to, and the state of path validation
 * on each (RFC 9000 §8.2, §9): challenges with their retries, and the anti-amplification budget
 * of a path not yet validated. Sans-IO; the channel decides when to migrate.
 */
export class PathSet<P extends ChannelPath> {
  readonly #entries = new Map<string, PathEntry<P>>();
  readonly #retryMs: () => number;
  #active: PathEntry<P>;
  /** The validated path we left for one not yet validated: where we go back if it fails. */
  #fallback: PathEntry<P> | undefined;
  #learnt = 0;
  /**
   * Entries with a challenge outstanding: the channel asks for due challenges and the deadline on
   * every packet it builds, and with none pending that costs no walk over the entries.
   */
  #pending = 0;

  /**
   * @param initial where the handshake ran: validated.
   * @param alternates the peer's other endpoints, probed on failover.
   * @param retryMs the wait between challenges on one path (the channel passes its PTO).
   */
  constructor(initial: P, alternates: readonly P[], retryMs: () => number, now: number) {
    this.#retryMs = retryMs;
    this.#active = this.#add(initial, true, now);
    this.#active.validated = true;
    for (const path of alternates) {
      if (!this.#entries.has(path.key)) this.#add(path, true, now);
    }
  }

  get active(): PathEntry<P> {
    return this.#active;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry of `path`, made on first sight. */
  entry(path: P, now: number): PathEntry<P> {
    const known = this.#entries.get(path.key);
    if (known !== undefined) {
      known.lastUsed = now;
      return known;
    }
    return this.#add(path, false, now);
  }

  /** The known entry under `key`, or undefined. */
  find(key: string): PathEntry<P> | undefined {
    return this.#entries.get(key);
  }

  /** Configured paths other than the active one. */
  *alternates(): Iterable<PathEntry<P>> {
    for (const entry of this.#entries.values()) {
      if (entry.configured && entry !== this.#active) yield entry;
    }
  }

  /**
   * Bytes that may still be sent on `entry` before the peer proves it is there: three times what
   * arrived on it. Unlimited once validated, and on endpoints the application named: the limit
   * keeps a forged source address from aiming us at a victim, and those were not learnt from
   * the network.
   */
  allowance(entry: PathEntry<P>): number {
    if (entry.validated || entry.configured) return Number.POSITIVE_INFINITY;
    return AMPLIFICATION_FACTOR * entry.bytesReceived - entry.bytesSent;
  }

  /**
   * Makes `entry` the path we send on. An unvalidated one is challenged, and the path we left is
   * kept to fall back to.
   */
  moveTo(entry: PathEntry<P>, challenge: Uint8Array, now: number): void {
    if (entry === this.#active) return;
    if (this.#active.validated) this.#fallback = this.#active;
    this.#active = entry;
    if (!entry.validated) this.challenge(entry, challenge, now);
  }

  /** Starts validating `entry` with `data` (8 random bytes): a challenge is due at once. */
  challenge(entry: PathEntry<P>, data: Uint8Array, now: number): void {
    if (entry.challenge === undefined) this.#pending++;
    entry.challenge = data;
    entry.challengesSent = 0;
    entry.challengeDueAt = now;
  }

  /** Whether the anti-amplification limit lets no useful packet go to `entry` now. */
  blocked(entry: PathEntry<P>): boolean {
    return this.allowance(entry) < MIN_USEFUL_PACKET;
  }

  /**
   * The entry whose challenge is due at `now` and may be sent, or undefined. A challenge the
   * amplification limit holds back waits for the peer to send more on that path.
   */
  dueChallenge(now: number): PathEntry<P> | undefined {
    if (this.#pending === 0) return undefined;
    for (const entry of this.#entries.values()) {
      if (entry.challenge !== undefined && entry.challengeDueAt <= now && !this.blocked(entry)) {
        return entry;
      }
    }
    return undefined;
  }

  /** A challenge went out on `entry`: the next one waits a retry interval. */
  onChallengeSent(entry: PathEntry<P>, now: number): void {
    entry.challengesSent++;
    entry.challengeDueAt = now + this.#retryMs();
  }

  /** Matches a PATH_RESPONSE (on whatever path it came) to the challenge it answers. */
  onResponse(data: Uint8Array): ValidationEvent<P> | undefined {
    for (const entry of this.#entries.values()) {
      if (entry.challenge !== undefined && equalBytes(entry.challenge, data)) {
        this.#clearChallenge(entry);
        entry.validated = true;
        if (entry === this.#active) this.#fallback = undefined;
        return { kind: 'validated', entry };
      }
    }
    return undefined;
  }

  /** When {@link PathSet.onTimeout} has something to do, ms, or `Infinity`. */
  get deadline(): number {
    let deadline = Number.POSITIVE_INFINITY;
    if (this.#pending === 0) return deadline;
    for (const entry of this.#entries.values()) {
      if (
        entry.challenge !== undefined &&
        entry.challengeDueAt < deadline &&
        !this.blocked(entry)
      ) {
        deadline = entry.challengeDueAt;
      }
    }
    return deadline;
  }

  /**
   * Ends validations that used up their challenges. When the active path fails, the channel
   * goes back to the path it left (RFC 9000 §9.3.2).
   */
  onTimeout(now: number, probeIntervalMs: number): ValidationEvent<P> | undefined {
    if (this.#pending === 0) return undefined;
    for (const entry of this.#entries.values()) {
      if (
        entry.challenge === undefined ||
        entry.challengeDueAt > now ||
        entry.challengesSent < MAX_CHALLENGES
      ) {
        continue;
      }
      this.#clearChallenge(entry);
      entry.nextProbeAt = now + probeIntervalMs;
      if (entry === this.#active && this.#fallback !== undefined) {
        this.#active = this.#fallback;
        this.#fallback = undefined;
      }
      return { kind: 'failed', entry };
    }
    return undefined;
  }

  #clearChallenge(entry: PathEntry<P>): void {
    if (entry.challenge === undefined) return;
    entry.challenge = undefined;
    entry.challengeDueAt = Number.POSITIVE_INFINITY;
    this.#pending--;
  }

  #add(path: P, configured: boolean, now: number): PathEntry<P> {
    if (!configured && this.#learnt >= MAX_LEARNT_PATHS) this.#evict();
    if (!configured) this.#learnt++;
    const entry: PathEntry<P> = {
      path,
      validated: false,
      configured,
      bytesReceived: 0,
      bytesSent: 0,
      challenge: undefined,
      challengesSent: 0,
      challengeDueAt: Number.POSITIVE_INFINITY,
      nextProbeAt: now,
      lastUsed: now,
    };
    this.#entries.set(path.key, entry);
    return entry;
  }

  /** Forgets the least recently used path that is neither in use nor configured. */
  #evict(): void {
    let oldest: PathEntry<P> | undefined;
    for (const entry of this.#entries.values()) {
      if (entry.configured || entry === this.#active || entry === this.#fallback) continue;
      if (oldest === undefined || entry.lastUsed < oldest.lastUsed) oldest = entry;
    }
    if (oldest === undefined) return;
    this.#clearChallenge(oldest);
    this.#entries.delete(oldest.path.key);
    this.#learnt--;
  }
}
