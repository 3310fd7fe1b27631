/**
 * The newest handshake timestamp accepted from each initiator, so that a captured INITIATE
 * replayed later opens no session (WireGuard's TAI64N rule, NDSS 2017 §5.1). Bounded: past
 * `capacity` identities the least recently seen one is forgotten, which re-opens a replay window
 * for that identity only; memory never grows with the number of peers an attacker can invent,
 * because only authenticated initiators get an entry.
 */
export class TimestampTable {
  readonly #capacity: number;
  readonly #latest = new Map<string, bigint>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#latest.size;
  }

  /** True when `timestamp` is newer than any accepted from `initiator`. */
  isFresh(initiator: string, timestamp: bigint): boolean {
    const latest = this.#latest.get(initiator);
    return latest === undefined || timestamp > latest;
  }

  /** Records an accepted timestamp; it must have passed {@link TimestampTable.isFresh}. */
  accept(initiator: string, timestamp: bigint): void {
    // Re-inserting moves the entry to the end of the Map's order: least recent first.
    this.#latest.delete(initiator);
    this.#latest.set(initiator, timestamp);
    if (this.#latest.size > this.#capacity) {
      const oldest = this.#latest.keys().next().value;
      if (oldest !== undefined) this.#latest.delete(oldest);
    }
  }
}
