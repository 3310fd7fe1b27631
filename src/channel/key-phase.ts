/**
 * Key update for one channel, after RFC 9001 §6. Each direction starts with the key the handshake
 * gave it and replaces it, now and then, with the next key of a one-way chain: knowing today's key
 * tells nothing about yesterday's, and no key ever seals more than a bounded number of packets.
 * The one-bit key phase in the packet header tells the receiver that the sender moved on; packet
 * numbers keep increasing across updates, so a (key, nonce) pair is still never reused.
 *
 * This is the bookkeeping only, sans IO: the channel seals and opens, and tells {@link KeyPhases}
 * what happened. Keys are derived once per update, never per packet, and per-packet calls
 * allocate nothing.
 *
 * @module
 */
import { AEAD_KEY_BYTES, type CryptoSuite } from '../crypto/suite.js';
import { checkPositive, InvalidParameterError } from '../net/errors.js';
import type { KeyPhase } from './packet-codec.js';
import { NO_PACKET } from './packet-number.js';

/** Default of {@link KeyPhaseOptions.updateAfterPackets}. */
export const DEFAULT_UPDATE_AFTER_PACKETS = 2 ** 24;
/** Default of {@link KeyPhaseOptions.updateAfterMs}: one hour. */
export const DEFAULT_UPDATE_AFTER_MS = 3_600_000;
/**
 * Default of {@link KeyPhaseOptions.oldKeyRetentionMs}: three times the first PTO of a channel
 * (about 1 s from the initial RTT of RFC 9002 §6.2.2), as RFC 9001 §6.5 suggests.
 */
export const DEFAULT_OLD_KEY_RETENTION_MS = 3000;

const UPDATE_INFO = new TextEncoder().encode('sss key update');
const NO_SALT = new Uint8Array(0);

export interface KeyPhaseOptions {
  readonly suite: CryptoSuite;
  /** The handshake's key for our direction (32 bytes); copied. */
  readonly sendKey: Uint8Array;
  /** The handshake's key for the peer's direction (32 bytes); copied. */
  readonly receiveKey: Uint8Array;
  /** Packets sealed under one send key before we start an update (default 2 ** 24). */
  readonly updateAfterPackets?: number;
  /** Age of a send key at which we start an update, ms (default 3_600_000). */
  readonly updateAfterMs?: number;
  /**
   * How long the previous receive key stays usable after a rotation, ms: the first value of
   * {@link KeyPhases.oldKeyRetentionMs}. Default {@link DEFAULT_OLD_KEY_RETENTION_MS}.
   */
  readonly oldKeyRetentionMs?: number;
}

/** Counters of one channel's key updates. */
export interface KeyPhaseStats {
  /** Updates we started because a send key was due. */
  updatesStarted: number;
  /** Updates the peer started and we followed with our send key. */
  updatesFollowed: number;
  /** Packets that authenticated under the previous receive key, delayed across a rotation. */
  oldKeyUsed: number;
}

/**
 * The key that follows `key` in its direction's chain: HKDF-SHA256 with an empty salt, `key` as
 * input keying material and the info `sss key update`, 32 bytes. Like QUIC's `quic ku`
 * (RFC 9001 §6.1), it depends on the previous key alone, so both ends derive it without talking.
 */
export function nextPacketKey(suite: CryptoSuite, key: Uint8Array): Uint8Array {
  return suite.hkdf('SHA256', NO_SALT, key, UPDATE_INFO, AEAD_KEY_BYTES);
}

/**
 * The packet keys of both directions of one channel across key updates.
 *
 * Sending: seal with {@link KeyPhases.sendKey} under {@link KeyPhases.sendPhase}, then call
 * {@link KeyPhases.onPacketSent}; feed every acknowledged packet number to
 * {@link KeyPhases.onPacketAcked}.
 *
 * Receiving: {@link KeyPhases.receiveKeyFor} names the key to try; only once that key
 * authenticated the packet does {@link KeyPhases.onPacketOpened} commit what it implies. A forged
 * packet with a flipped phase bit therefore moves nothing.
 *
 * Keep {@link KeyPhases.oldKeyRetentionMs} at three times the channel's current PTO
 * (RFC 9001 §6.5); the value in force at a rotation decides when that rotation's old key goes.
 */
export class KeyPhases {
  readonly stats: KeyPhaseStats = { updatesStarted: 0, updatesFollowed: 0, oldKeyUsed: 0 };
  readonly #suite: CryptoSuite;
  readonly #updateAfterPackets: number;
  readonly #updateAfterMs: number;
  #oldKeyRetentionMs: number;

  // Generations rather than phase bits: the bit alone cannot tell "the peer is one update ahead"
  // from "we are one ahead", and which end follows depends on exactly that.
  #sendGeneration = 0;
  #sendKey: Uint8Array;
  #sendKeySince: number;
  #sentUnderKey = 0;
  #firstSentUnderKey = NO_PACKET;
  /** The peer acknowledged a packet sealed under the current send key (RFC 9001 §6.1). */
  #confirmed = false;

  #receiveGeneration = 0;
  #receiveKey: Uint8Array;
  /** Precomputed at each rotation so that trying it costs the same as any key (RFC 9001 §6.3). */
  #nextReceiveKey: Uint8Array;
  #oldReceiveKey: Uint8Array | undefined;
  #oldKeyUntil = 0;
  // The peer switches keys at one packet number: every packet under the old key is below every
  // packet under the current one, and every packet under the next key above. These bounds are
  // what tells an old-key packet from a next-key one, as both carry the same phase bit.
  #lowestReceived = Number.POSITIVE_INFINITY;
  #highestReceived = NO_PACKET;

  /**
   * @param now the time the handshake keys took effect: the send key's age counts from here.
   * @throws InvalidParameterError for a key that is not 32 bytes or a threshold or retention
   * that is not a positive number.
   */
  constructor(options: KeyPhaseOptions, now: number) {
    this.#suite = options.suite;
    this.#sendKey = copyKey('sendKey', options.sendKey);
    this.#receiveKey = copyKey('receiveKey', options.receiveKey);
    this.#updateAfterPackets = checkPositive(
      'updateAfterPackets',
      options.updateAfterPackets ?? DEFAULT_UPDATE_AFTER_PACKETS,
    );
    this.#updateAfterMs = checkPositive(
      'updateAfterMs',
      options.updateAfterMs ?? DEFAULT_UPDATE_AFTER_MS,
    );
    this.#oldKeyRetentionMs = checkPositive(
      'oldKeyRetentionMs',
      options.oldKeyRetentionMs ?? DEFAULT_OLD_KEY_RETENTION_MS,
    );
    this.#sendKeySince = now;
    this.#nextReceiveKey = nextPacketKey(this.#suite, this.#receiveKey);
  }

  /** The phase bit to write into the header of the next packet we send. */
  get sendPhase(): KeyPhase {
    return phaseOf(this.#sendGeneration);
  }

  /** The key to seal the next packet with. Owned by this object: do not modify it. */
  get sendKey(): Uint8Array {
    return this.#sendKey;
  }

  /** The phase bit of the peer's packets under our current receive key. */
  get receivePhase(): KeyPhase {
    return phaseOf(this.#receiveGeneration);
  }

  /**
   * How long, ms, the previous receive key stays usable after a rotation. The channel keeps it at
   * three times its current PTO; a new value applies from the next rotation on.
   *
   * @throws InvalidParameterError when set to anything but a positive number.
   */
  get oldKeyRetentionMs(): number {
    return this.#oldKeyRetentionMs;
  }

  set oldKeyRetentionMs(ms: number) {
    this.#oldKeyRetentionMs = checkPositive('oldKeyRetentionMs', ms);
  }

  /**
   * Records that packet `pn` was sealed under {@link KeyPhases.sendKey}. When the key is due (by
   * packet count or age) and an update may start, switches to the next send key and flips
   * {@link KeyPhases.sendPhase}, so the next packet goes out under the new key.
   *
   * An update may start only once the peer acknowledged a packet under the current key, so that
   * it holds that key and can derive the next one (RFC 9001 §6.1), and once our previous receive
   * key is gone: the peer rotated at about the same time and keeps its own old key as long, and
   * a second update before then would leave its in-flight packets of two updates ago
   * undecryptable (RFC 9001 §6.5).
   */
  onPacketSent(pn: number, now: number): void {
    this.#sentUnderKey++;
    if (this.#firstSentUnderKey === NO_PACKET) this.#firstSentUnderKey = pn;
    this.#forgetExpiredOldKey(now);
    if (!this.#confirmed || this.#oldReceiveKey !== undefined) return;
    const due =
      this.#sentUnderKey >= this.#updateAfterPackets ||
      now - this.#sendKeySince >= this.#updateAfterMs;
    if (!due) return;
    this.#advanceSendKey(now);
    this.stats.updatesStarted++;
  }

  /**
   * The key to try on a received packet with header phase bit `phase` and full packet number
   * `pn`: the current receive key, the next one (the peer may have started an update) or the
   * previous one (a packet delayed across the last rotation, within its retention). Undefined
   * when none can apply: drop the packet. Changes nothing, so a forged packet costs one failed
   * authentication and no state.
   */
  receiveKeyFor(phase: KeyPhase, pn: number, now: number): Uint8Array | undefined {
    if (phase === this.receivePhase) return this.#receiveKey;
    if (pn > this.#highestReceived) return this.#nextReceiveKey;
    if (pn < this.#lowestReceived && this.#holdsOldKey(now)) return this.#oldReceiveKey;
    return undefined;
  }

  /**
   * Commits a packet that the key from {@link KeyPhases.receiveKeyFor} (same `phase`, `pn` and
   * `now`) authenticated. A packet under the next key rotates the receive keys, keeping the
   * previous one for {@link KeyPhases.oldKeyRetentionMs}; if the peer started that update, our
   * send key follows it (RFC 9001 §6.2).
   *
   * @throws InvalidParameterError when no key applies to the packet, which means the caller
   * skipped `receiveKeyFor` or the authentication.
   */
  onPacketOpened(phase: KeyPhase, pn: number, now: number): void {
    if (phase === this.receivePhase) {
      if (pn > this.#highestReceived) this.#highestReceived = pn;
      if (pn < this.#lowestReceived) this.#lowestReceived = pn;
    } else if (pn > this.#highestReceived) {
      this.#rotateReceiveKeys(pn, now);
    } else if (pn < this.#lowestReceived && this.#holdsOldKey(now)) {
      this.stats.oldKeyUsed++;
    } else {
      throw new InvalidParameterError('pn', `no receive key applies to packet ${pn}`);
    }
    this.#forgetExpiredOldKey(now);
  }

  /**
   * The peer acknowledged our packet `pn`. An acknowledgment of a packet under the current send
   * key confirms that the peer holds it, and allows the next update.
   */
  onPacketAcked(pn: number): void {
    if (this.#firstSentUnderKey !== NO_PACKET && pn >= this.#firstSentUnderKey) {
      this.#confirmed = true;
    }
  }

  #rotateReceiveKeys(pn: number, now: number): void {
    this.#receiveGeneration++;
    this.#oldReceiveKey = this.#receiveKey;
    this.#oldKeyUntil = now + this.#oldKeyRetentionMs;
    this.#receiveKey = this.#nextReceiveKey;
    this.#nextReceiveKey = nextPacketKey(this.#suite, this.#receiveKey);
    this.#lowestReceived = pn;
    this.#highestReceived = pn;
    if (this.#sendGeneration < this.#receiveGeneration) {
      this.#advanceSendKey(now);
      this.stats.updatesFollowed++;
    }
  }

  #advanceSendKey(now: number): void {
    this.#sendGeneration++;
    this.#sendKey = nextPacketKey(this.#suite, this.#sendKey);
    this.#sendKeySince = now;
    this.#sentUnderKey = 0;
    this.#firstSentUnderKey = NO_PACKET;
    this.#confirmed = false;
  }

  #holdsOldKey(now: number): boolean {
    return this.#oldReceiveKey !== undefined && now < this.#oldKeyUntil;
  }

  /** Drops the reference, so that an expired key does not linger in memory until the next update. */
  #forgetExpiredOldKey(now: number): void {
    if (!this.#holdsOldKey(now)) this.#oldReceiveKey = undefined;
  }
}

function phaseOf(generation: number): KeyPhase {
  return generation % 2 === 0 ? 0 : 1;
}

function copyKey(parameter: string, key: Uint8Array): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_BYTES) {
    throw new InvalidParameterError(parameter, `must be ${AEAD_KEY_BYTES} bytes`);
  }
  // Not `slice`: on a Buffer that is a view, and the caller's bytes could change under us.
  return new Uint8Array(key);
}
