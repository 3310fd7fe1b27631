import { toHex } from '../bytes.js';

/**
 * Results of the static-static Diffie-Hellman (`ss`) by remote static key. Between two hosts that
 * result never changes, so a host that handshakes with the same peers again (reconnects, key
 * updates, many channels) saves one of the ten X25519 multiplications of an IK handshake, as
 * WireGuard precomputes it per peer (NDSS 2017, §5.4.2). Bounded: the least recently used entry
 * goes first, so peers an attacker invents cost a DH each and never memory.
 */
export class StaticDhCache {
  readonly #capacity: number;
  readonly #entries = new Map<string, Uint8Array>();

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  /** The cached `ss` with `remoteStatic`, or the result of `compute`, remembered. */
  get(remoteStatic: Uint8Array, compute: () => Uint8Array): Uint8Array {
    const key = toHex(remoteStatic);
    const cached = this.#entries.get(key);
    if (cached !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, cached);
      return cached;
    }
    const shared = compute();
    this.#entries.set(key, shared);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return shared;
  }
}
