/**
 * Specification of key update (RFC 9001 §6 as docs/PROTOCOL.md §3 adopts it): two ends, each a
 * KeyPhases, exchange packets really sealed and opened with ChaCha20-Poly1305, so an end that picks
 * the wrong key fails to open, not just a comparison. Each packet carries an acknowledgment of the
 * largest packet its sender opened, as the channel's ACK frames would.
 */
import { hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../net/fixtures.js';
import { createNativeSuite } from '../../src/crypto/native-suite.js';
import type { CryptoSuite } from '../../src/crypto/suite.js';
import { InvalidParameterError } from '../../src/net/errors.js';
import type { KeyPhase } from '../../src/channel/packet-codec.js';
import {
  DEFAULT_OLD_KEY_RETENTION_MS,
  KeyPhases,
  nextPacketKey,
  type KeyPhaseOptions,
} from '../../src/channel/key-phase.js';

const suite = createNativeSuite();
const KEY_AB = Uint8Array.from({ length: 32 }, (_, i) => i);
const KEY_BA = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
const PAYLOAD = new TextEncoder().encode('frames');
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** The next key computed a second, independent way: node:crypto's own HKDF. */
function referenceNext(key: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', key, new Uint8Array(0), 'sss key update', 32));
}

/** The key `generations` updates after `key`. */
function keyAfter(key: Uint8Array, generations: number): Uint8Array {
  let result = key;
  for (let i = 0; i < generations; i++) result = referenceNext(result);
  return result;
}

/** PROTOCOL.md §3.2: 4 zero bytes and the packet number as a 64-bit big-endian integer. */
function nonceOf(pn: number): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, BigInt(pn));
  return nonce;
}

interface Packet {
  readonly phase: KeyPhase;
  readonly pn: number;
  /** Largest packet number the sender had opened from the receiver, or -1. */
  readonly ack: number;
  readonly sealed: Uint8Array;
  /** A copy of the key that sealed it. */
  readonly key: Uint8Array;
  readonly sentAt: number;
}

type Outcome = 'opened' | 'no key' | 'auth failed';

/** One end of a channel: numbers, seals and opens packets the way the channel will. */
class End {
  nextPn = 0;
  largestOpened = -1;
  /** The key that opened the last packet received. */
  lastKey: Uint8Array | undefined;

  constructor(readonly keys: KeyPhases) {}

  send(now: number): Packet {
    const pn = this.nextPn++;
    const { sendPhase: phase, sendKey: key } = this.keys;
    const sealed = suite.seal(key, nonceOf(pn), Uint8Array.of(phase), PAYLOAD);
    this.keys.onPacketSent(pn, now);
    return { phase, pn, ack: this.largestOpened, sealed, key: key.slice(), sentAt: now };
  }

  receive(packet: Packet, now: number): Outcome {
    const key = this.keys.receiveKeyFor(packet.phase, packet.pn, now);
    this.lastKey = key;
    if (key === undefined) return 'no key';
    const nonce = nonceOf(packet.pn);
    const opened = suite.open(key, nonce, Uint8Array.of(packet.phase), packet.sealed);
    if (opened === null) return 'auth failed';
    this.keys.onPacketOpened(packet.phase, packet.pn, now);
    this.largestOpened = Math.max(this.largestOpened, packet.pn);
    if (packet.ack >= 0) this.keys.onPacketAcked(packet.ack);
    return 'opened';
  }
}

type Tuning = Omit<KeyPhaseOptions, 'suite' | 'sendKey' | 'receiveKey'>;

function pair(tuning: Tuning = {}, now = 0): { a: End; b: End } {
  const a = new KeyPhases({ suite, sendKey: KEY_AB, receiveKey: KEY_BA, ...tuning }, now);
  const b = new KeyPhases({ suite, sendKey: KEY_BA, receiveKey: KEY_AB, ...tuning }, now);
  return { a: new End(a), b: new End(b) };
}

/** `from` sends one packet and `to` opens it. */
function deliver(from: End, to: End, now: number): Packet {
  const packet = from.send(now);
  expect(to.receive(packet, now)).toBe('opened');
  return packet;
}

/** `a` sends, `b` answers: `a` now has an acknowledgment of a packet under its current key. */
function roundTrip(a: End, b: End, now: number): void {
  deliver(a, b, now);
  deliver(b, a, now);
}

/** A suite that counts its HKDF calls. */
function countingSuite(): { suite: CryptoSuite; hkdfCalls: () => number } {
  let calls = 0;
  const counting: CryptoSuite = {
    ...suite,
    hkdf: (...args) => {
      calls++;
      return suite.hkdf(...args);
    },
  };
  return { suite: counting, hkdfCalls: () => calls };
}

describe('next key', () => {
  it('is HKDF-SHA256(salt empty, ikm the key, info "sss key update"), 32 bytes', () => {
    expect(toHex(nextPacketKey(suite, KEY_AB))).toBe(toHex(referenceNext(KEY_AB)));
    expect(toHex(nextPacketKey(suite, KEY_AB))).not.toBe(toHex(KEY_AB));
  });
});

describe('KeyPhases options', () => {
  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects %s as a threshold or retention',
    (value) => {
      for (const name of ['updateAfterPackets', 'updateAfterMs', 'oldKeyRetentionMs'] as const) {
        expect(parameterOf(() => pair({ [name]: value }))).toBe(name);
      }
    },
  );

  it('rejects keys that are not 32 bytes', () => {
    const short = new Uint8Array(31);
    expect(parameterOf(() => new KeyPhases({ suite, sendKey: short, receiveKey: KEY_BA }, 0))).toBe(
      'sendKey',
    );
    expect(
      parameterOf(
        () => new KeyPhases({ suite, sendKey: KEY_AB, receiveKey: new Uint8Array(33) }, 0),
      ),
    ).toBe('receiveKey');
  });

  it('rejects a bad retention set later, keeping the old value', () => {
    const { a } = pair();
    expect(a.keys.oldKeyRetentionMs).toBe(DEFAULT_OLD_KEY_RETENTION_MS);
    expect(() => (a.keys.oldKeyRetentionMs = 0)).toThrow(InvalidParameterError);
    a.keys.oldKeyRetentionMs = 250;
    expect(a.keys.oldKeyRetentionMs).toBe(250);
  });

  it('copies the keys it is given', () => {
    const sendKey = KEY_AB.slice();
    const keys = new KeyPhases({ suite, sendKey, receiveKey: KEY_BA }, 0);
    sendKey.fill(0);
    expect(toHex(keys.sendKey)).toBe(toHex(KEY_AB));
  });
});

describe('KeyPhases', () => {
  it('starts in phase 0 with the handshake keys', () => {
    const { a } = pair();
    expect(a.keys.sendPhase).toBe(0);
    expect(a.keys.receivePhase).toBe(0);
    expect(toHex(a.keys.sendKey)).toBe(toHex(KEY_AB));
    expect(a.keys.stats).toEqual({ updatesStarted: 0, updatesFollowed: 0, oldKeyUsed: 0 });
  });

  it('starts an update after updateAfterPackets packets under one key', () => {
    const { a, b } = pair({ updateAfterPackets: 4 });
    roundTrip(a, b, 0);
    for (let i = 0; i < 2; i++) deliver(a, b, 0);
    expect(a.keys.sendPhase).toBe(0);
    deliver(a, b, 0); // the 4th under the handshake key
    expect(a.keys.sendPhase).toBe(1);
    expect(toHex(a.keys.sendKey)).toBe(toHex(keyAfter(KEY_AB, 1)));
    expect(a.keys.stats.updatesStarted).toBe(1);
  });

  it('does not start the first update before a packet under the handshake key is acknowledged', () => {
    const { a, b } = pair({ updateAfterPackets: 2 });
    for (let i = 0; i < 10; i++) deliver(a, b, 0);
    expect(a.keys.sendPhase).toBe(0);
    deliver(b, a, 0); // acknowledges packet 9
    deliver(a, b, 0);
    expect(a.keys.sendPhase).toBe(1);
  });

  it('the peer follows an update: rotates its receive key and flips its send phase', () => {
    const { a, b } = pair({ updateAfterPackets: 2 });
    roundTrip(a, b, 0);
    deliver(a, b, 0);
    expect(a.keys.sendPhase).toBe(1);

    const packet = deliver(a, b, 5);
    expect(packet.phase).toBe(1);
    expect(b.lastKey).toEqual(keyAfter(KEY_AB, 1));
    expect(b.keys.receivePhase).toBe(1);
    expect(b.keys.sendPhase).toBe(1);
    expect(toHex(b.keys.sendKey)).toBe(toHex(keyAfter(KEY_BA, 1)));
    expect(b.keys.stats).toEqual({ updatesStarted: 0, updatesFollowed: 1, oldKeyUsed: 0 });

    // The answer opens under a's next receive key, and a, which started it, does not flip again.
    deliver(b, a, 6);
    expect(a.keys.receivePhase).toBe(1);
    expect(a.keys.sendPhase).toBe(1);
    expect(a.lastKey).toEqual(keyAfter(KEY_BA, 1));
    expect(a.keys.stats).toEqual({ updatesStarted: 1, updatesFollowed: 0, oldKeyUsed: 0 });
  });

  it('accepts packets in flight under the old key after the rotation', () => {
    const { a, b } = pair({ updateAfterPackets: 2, oldKeyRetentionMs: 100 });
    roundTrip(a, b, 0);
    const late = a.send(0); // the second under phase 0 starts the update
    expect(a.keys.sendPhase).toBe(1);
    expect(b.receive(a.send(1), 10)).toBe('opened');
    expect(b.keys.receivePhase).toBe(1);
    expect(b.receive(late, 109)).toBe('opened');
    expect(b.lastKey).toEqual(KEY_AB);
    expect(b.keys.stats.oldKeyUsed).toBe(1);
  });

  it('drops the old key once the retention after the rotation has passed', () => {
    const { a, b } = pair({ updateAfterPackets: 2, oldKeyRetentionMs: 100 });
    roundTrip(a, b, 0);
    const late = a.send(0);
    expect(b.receive(a.send(1), 10)).toBe('opened');
    // The retention in force at the rotation counts, not a later one.
    b.keys.oldKeyRetentionMs = 10_000;
    expect(b.receive(late, 110)).toBe('no key');
    expect(b.keys.stats.oldKeyUsed).toBe(0);
  });

  it('drops a packet whose phase differs but whose number fits neither the old nor the next key', () => {
    const { a, b } = pair({ updateAfterPackets: 2 });
    roundTrip(a, b, 0);
    a.send(0); // pn 1, the last under phase 0, lost
    const [p2, p3, p4] = [a.send(0), a.send(0), a.send(0)];
    expect(b.receive(p4, 0)).toBe('opened'); // rotates
    expect(b.receive(p2, 0)).toBe('opened'); // lowers the bound of the old key's numbers
    // Phase 0 between the lowest and highest numbers under phase 1: no honest sender makes it.
    expect(b.keys.receiveKeyFor(0, 3, 0)).toBeUndefined();
    expect(b.receive(p3, 0)).toBe('opened');
    expect(() => b.keys.onPacketOpened(0, 3, 0)).toThrow(InvalidParameterError);
  });

  it('does not start a second update before a packet under the current key is acknowledged', () => {
    const { a, b } = pair({ updateAfterPackets: 2, oldKeyRetentionMs: 10 });
    roundTrip(a, b, 0);
    const lastOld = a.send(0); // starts the update
    expect(a.keys.sendPhase).toBe(1);
    const unconfirmed = Array.from({ length: 10 }, () => a.send(0));
    // Acknowledgments of packets under phase 0 do not confirm phase 1.
    expect(b.receive(lastOld, 0)).toBe('opened');
    for (let i = 0; i < 5; i++) deliver(b, a, 0);
    a.send(100);
    expect(a.keys.sendPhase).toBe(1);
    expect(a.keys.stats.updatesStarted).toBe(1);

    // b sees phase 1, follows, and acknowledges it under phase 1: now a may update again once its
    // old receive key is gone.
    for (const packet of unconfirmed) expect(b.receive(packet, 100)).toBe('opened');
    deliver(b, a, 100);
    a.send(200);
    expect(a.keys.sendPhase).toBe(0);
    expect(a.keys.stats.updatesStarted).toBe(2);
    expect(toHex(a.keys.sendKey)).toBe(toHex(keyAfter(KEY_AB, 2)));
  });

  it('waits for its old receive key to expire before starting another update (RFC 9001 §6.5)', () => {
    const { a, b } = pair({ updateAfterPackets: 1, oldKeyRetentionMs: 50 });
    roundTrip(a, b, 0);
    deliver(a, b, 1);
    expect(a.keys.sendPhase).toBe(1);
    deliver(a, b, 2); // b follows
    deliver(b, a, 3); // a rotates its receive keys at 3 and is confirmed
    a.send(52);
    expect(a.keys.sendPhase).toBe(1);
    a.send(53);
    expect(a.keys.sendPhase).toBe(0);
    expect(a.keys.stats.updatesStarted).toBe(2);
  });

  it('a forged packet with the phase flipped moves nothing', () => {
    const { hkdfCalls, suite: counting } = countingSuite();
    const a = new End(
      new KeyPhases({ suite, sendKey: KEY_AB, receiveKey: KEY_BA, updateAfterPackets: 2 }, 0),
    );
    const b = new End(new KeyPhases({ suite: counting, sendKey: KEY_BA, receiveKey: KEY_AB }, 0));
    roundTrip(a, b, 0);
    const nextKey = b.keys.receiveKeyFor(1, 100, 0);
    expect(nextKey).toEqual(keyAfter(KEY_AB, 1));

    const forgedKey = new Uint8Array(32).fill(7);
    const sealed = suite.seal(forgedKey, nonceOf(100), Uint8Array.of(1), PAYLOAD);
    const forged: Packet = { phase: 1, pn: 100, ack: 0, sealed, key: forgedKey, sentAt: 0 };
    for (let i = 0; i < 5; i++) expect(b.receive(forged, 0)).toBe('auth failed');

    expect([b.keys.receivePhase, b.keys.sendPhase]).toEqual([0, 0]);
    expect(b.keys.stats).toEqual({ updatesStarted: 0, updatesFollowed: 0, oldKeyUsed: 0 });
    expect(b.keys.receiveKeyFor(1, 100, 0)).toBe(nextKey);
    expect(hkdfCalls()).toBe(1); // the next receive key, once, at construction

    // The genuine update still goes through.
    a.send(0); // starts the update
    expect(b.receive(a.send(0), 0)).toBe('opened');
    expect([b.keys.receivePhase, b.keys.sendPhase]).toEqual([1, 1]);
    expect(hkdfCalls()).toBe(3);
  });

  it('derives keys once per update, never per packet', () => {
    const { hkdfCalls, suite: counting } = countingSuite();
    const keys = new KeyPhases(
      { suite: counting, sendKey: KEY_AB, receiveKey: KEY_BA, updateAfterPackets: 1000 },
      0,
    );
    for (let pn = 0; pn < 500; pn++) {
      keys.onPacketSent(pn, pn);
      keys.receiveKeyFor(0, pn, pn);
      keys.receiveKeyFor(1, pn + 1, pn);
      keys.onPacketOpened(0, pn, pn);
      keys.onPacketAcked(pn);
    }
    expect(hkdfCalls()).toBe(1);
    keys.onPacketOpened(1, 500, 500); // rotation and follow: next receive key and next send key
    expect(hkdfCalls()).toBe(3);
  });

  it('starts an update when the send key reaches updateAfterMs', () => {
    const { a, b } = pair({ updateAfterMs: 1000, oldKeyRetentionMs: 10 });
    roundTrip(a, b, 0);
    a.send(999);
    expect(a.keys.sendPhase).toBe(0);
    a.send(1000);
    expect(a.keys.sendPhase).toBe(1);

    // b's key age counts from when it followed.
    deliver(a, b, 1500);
    expect(b.keys.sendPhase).toBe(1);
    deliver(b, a, 1500);
    deliver(a, b, 1500); // acknowledges b's phase-1 packet
    deliver(b, a, 2499);
    expect(b.keys.sendPhase).toBe(1);
    deliver(b, a, 2500);
    expect(b.keys.sendPhase).toBe(0);
    expect(b.keys.stats).toEqual({ updatesStarted: 1, updatesFollowed: 1, oldKeyUsed: 0 });
  });

  it('when both ends start the same update at once, neither follows', () => {
    const { a, b } = pair({ updateAfterPackets: 3 });
    roundTrip(a, b, 0);
    roundTrip(a, b, 0); // both confirmed, two packets sent each
    a.send(0); // the third ones start the updates and are lost
    b.send(0);
    expect([a.keys.sendPhase, b.keys.sendPhase]).toEqual([1, 1]);
    const fromA = a.send(0);
    const fromB = b.send(0);
    expect(b.receive(fromA, 1)).toBe('opened');
    expect(a.receive(fromB, 1)).toBe('opened');
    for (const end of [a, b]) {
      expect(end.keys.stats).toEqual({ updatesStarted: 1, updatesFollowed: 0, oldKeyUsed: 0 });
    }
    roundTrip(a, b, 2);
    roundTrip(b, a, 2);
  });
});

type Step =
  | { readonly kind: 'send'; readonly fromA: boolean }
  | { readonly kind: 'deliver' | 'lose'; readonly pick: number };

const stepArb: fc.Arbitrary<{ step: Step; advance: number }> = fc.record({
  step: fc.oneof(
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('send' as const), fromA: fc.boolean() }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('lose' as const), pick: fc.nat() }) },
  ),
  advance: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 })),
});

describe('KeyPhases property', () => {
  it('every packet delivered within the retention opens with exactly the key that sealed it', () => {
    let updates = 0;
    let oldKeyUsed = 0;
    fc.assert(
      fc.property(
        fc.record({
          updateAfterPackets: fc.integer({ min: 1, max: 8 }),
          updateAfterMs: fc.integer({ min: 1, max: 200 }),
          oldKeyRetentionMs: fc.integer({ min: 1, max: 30 }),
        }),
        fc.array(stepArb, { minLength: 1, maxLength: 400, size: 'max' }),
        (tuning, steps) => {
          // Why the retention suffices: the sender switched keys before the receiver could rotate,
          // so a packet younger than the retention is younger than the receiver's rotation plus
          // the retention; and neither end starts an update while it holds an old receive key, so
          // no packet that young can be two updates behind.
          const { a, b } = pair(tuning);
          const inFlight: { packet: Packet; to: End }[] = [];
          let now = 0;
          for (const { step, advance } of steps) {
            now += advance;
            // Older packets count as lost: the guarantee covers the retention window only.
            for (let i = inFlight.length - 1; i >= 0; i--) {
              const flight = inFlight[i];
              if (flight && now - flight.packet.sentAt >= tuning.oldKeyRetentionMs) {
                inFlight.splice(i, 1);
              }
            }
            if (step.kind === 'send') {
              const [from, to] = step.fromA ? [a, b] : [b, a];
              inFlight.push({ packet: from.send(now), to });
              continue;
            }
            if (inFlight.length === 0) continue;
            const [flight] = inFlight.splice(step.pick % inFlight.length, 1);
            if (flight === undefined || step.kind === 'lose') continue;
            const outcome = flight.to.receive(flight.packet, now);
            if (outcome !== 'opened') throw new Error(`packet ${flight.packet.pn}: ${outcome}`);
            expect(flight.to.lastKey).toEqual(flight.packet.key);
          }
          for (const end of [a, b]) {
            updates += end.keys.stats.updatesStarted + end.keys.stats.updatesFollowed;
            oldKeyUsed += end.keys.stats.oldKeyUsed;
          }
        },
      ),
      { numRuns: 200 },
    );
    // The property is only worth something if the runs did update keys and use old ones.
    // About 8 updates and 0.6 old-key packets per run on average.
    expect(updates).toBeGreaterThan(600);
    expect(oldKeyUsed).toBeGreaterThan(30);
  });
});
