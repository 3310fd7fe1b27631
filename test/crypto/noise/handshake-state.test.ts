import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createNativeSuite } from '../../../src/crypto/native-suite.js';
import { HandshakeState, MAX_MESSAGE_BYTES } from '../../../src/crypto/noise/index.js';
import { InvalidParameterError } from '../../../src/net/errors.js';
import { seededRandom } from '../../../src/net/random.js';
import { parameterOf } from '../../net/fixtures.js';
import { ALL_PATTERNS, makePair, messageShapes, protocolName, type Pair } from './fixtures.js';
import { noiseCodeOf } from './fixtures.js';

const suite = createNativeSuite();
const IK = protocolName('IK');

/** Everything observable about a HandshakeState, to show that a rejected message changed nothing. */
function observe(state: HandshakeState): unknown {
  return {
    hash: state.handshakeHash,
    index: state.messageIndex,
    rs: state.remoteStaticKey,
    re: state.remoteEphemeralKey,
    complete: state.isComplete,
    myTurn: state.isMyTurn,
  };
}

function sides(pair: Pair, index: number): [HandshakeState, HandshakeState] {
  return index % 2 === 0 ? [pair.initiator, pair.responder] : [pair.responder, pair.initiator];
}

function flipBit(message: Uint8Array, bit: number): Uint8Array {
  const copy = message.slice();
  const at = Math.floor(bit / 8) % copy.length;
  copy[at] = (copy[at] as number) ^ (1 << (bit % 8));
  return copy;
}

const payloadArb = fc.uint8Array({ maxLength: 48 });

describe('every pattern, with and without PSK modifiers', () => {
  it.each(ALL_PATTERNS)('%s completes with matching hashes, keys and payloads', (pattern) => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.uint8Array({ maxLength: 16 }),
        fc.array(payloadArb, { minLength: 8, maxLength: 8 }),
        (seed, prologue, payloads) => {
          const pairSuite = createNativeSuite(seededRandom(seed));
          const pair = makePair(pairSuite, pattern, prologue);
          const pat = pair.initiator.protocol.handshake;
          const shapes = messageShapes(pat);
          pat.messages.forEach((_tokens, index) => {
            const [sender, receiver] = sides(pair, index);
            expect(sender.isMyTurn).toBe(true);
            expect(receiver.isMyTurn).toBe(false);
            const payload = payloads[index] as Uint8Array;
            const message = sender.writeMessage(payload);
            expect(message.length).toBe((shapes[index]?.overhead ?? 0) + payload.length);
            expect(receiver.readMessage(message)).toEqual(payload);
            expect(receiver.handshakeHash).toEqual(sender.handshakeHash);
          });
          const { initiator, responder } = pair;
          expect(initiator.isComplete && responder.isComplete).toBe(true);
          const a = initiator.split();
          const b = responder.split();
          expect(a.handshakeHash).toEqual(b.handshakeHash);
          expect(a.sendKey).toEqual(b.receiveKey);
          expect(a.receiveKey).toEqual(b.sendKey);
          expect(a.sendKey).not.toEqual(a.receiveKey);
          const last = payloads[7] as Uint8Array;
          expect(b.receive.decryptWithAd(prologue, a.send.encryptWithAd(prologue, last))).toEqual(
            last,
          );
          if (!pat.oneWay) {
            expect(a.receive.decryptWithAd(prologue, b.send.encryptWithAd(prologue, last))).toEqual(
              last,
            );
          }
          // Whoever learned the peer's static key learned the right one.
          if (responder.remoteStaticKey !== undefined) {
            expect(responder.remoteStaticKey).toEqual(pair.initiatorStatic.publicKey);
          }
          if (initiator.remoteStaticKey !== undefined) {
            expect(initiator.remoteStaticKey).toEqual(pair.responderStatic.publicKey);
          }
        },
      ),
      { numRuns: 2 },
    );
  });

  it('the same seed gives the same messages (no hidden randomness)', () => {
    const run = (): string[] => {
      const pair = makePair(createNativeSuite(seededRandom(9)), 'XXpsk3');
      return [0, 1, 2].map((index) => {
        const [sender, receiver] = sides(pair, index);
        const message = sender.writeMessage();
        receiver.readMessage(message);
        return Buffer.from(message).toString('hex');
      });
    };
    expect(run()).toEqual(run());
  });
});

describe('tampering', () => {
  it('a flipped bit in an authenticated message is rejected and changes nothing', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL_PATTERNS),
        fc.nat(7),
        fc.nat(),
        payloadArb,
        (pattern, target, bit, payload) => {
          const pair = makePair(suite, pattern);
          const pat = pair.initiator.protocol.handshake;
          const shapes = messageShapes(pat);
          const tamperAt = target % pat.messages.length;
          for (let index = 0; index < pat.messages.length; index++) {
            const [sender, receiver] = sides(pair, index);
            const message = sender.writeMessage(payload);
            if (index === tamperAt && shapes[index]?.keyed === true) {
              const before = observe(receiver);
              const code = noiseCodeOf(() => receiver.readMessage(flipBit(message, bit)));
              expect(['noise-decrypt-failed', 'noise-bad-key']).toContain(code);
              expect(observe(receiver)).toEqual(before);
            }
            expect(receiver.readMessage(message)).toEqual(payload);
          }
          expect(pair.initiator.split().sendKey).toEqual(pair.responder.split().receiveKey);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a flipped bit in an unauthenticated first message makes the next message fail', () => {
    const unkeyedFirst = ALL_PATTERNS.filter((pattern) => {
      const pair = makePair(suite, pattern);
      return messageShapes(pair.initiator.protocol.handshake)[0]?.keyed === false;
    });
    expect(unkeyedFirst).toContain('NN');
    fc.assert(
      fc.property(fc.constantFrom(...unkeyedFirst), fc.nat(), (pattern, bit) => {
        const { initiator, responder } = makePair(suite, pattern);
        responder.readMessage(flipBit(initiator.writeMessage(), bit));
        const reply = responder.writeMessage();
        const before = observe(initiator);
        expect(noiseCodeOf(() => initiator.readMessage(reply))).toBe('noise-decrypt-failed');
        expect(observe(initiator)).toEqual(before);
      }),
      { numRuns: 40 },
    );
  });

  it('truncated, extended and empty messages are rejected and change nothing', () => {
    const { initiator, responder } = makePair(suite, 'IK');
    const first = initiator.writeMessage(Uint8Array.of(1, 2, 3));
    const before = observe(responder);
    for (const bad of [
      new Uint8Array(0),
      first.subarray(0, 31),
      first.subarray(0, 32 + 48 + 15),
      first.subarray(0, first.length - 1),
      Uint8Array.of(...first, 0),
    ]) {
      expect(['noise-malformed', 'noise-decrypt-failed']).toContain(
        noiseCodeOf(() => responder.readMessage(bad)),
      );
      expect(observe(responder)).toEqual(before);
    }
    expect(noiseCodeOf(() => responder.readMessage(first.subarray(0, 40)))).toBe('noise-malformed');
    expect(responder.readMessage(first)).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('IK with the wrong responder key fails at the responder, which can still serve others', () => {
    const responderStatic = suite.generateKeyPair();
    const responder = new HandshakeState(suite, {
      protocolName: IK,
      initiator: false,
      s: responderStatic,
    });
    const mistaken = new HandshakeState(suite, {
      protocolName: IK,
      initiator: true,
      s: suite.generateKeyPair(),
      rs: suite.generateKeyPair().publicKey,
    });
    const before = observe(responder);
    expect(noiseCodeOf(() => responder.readMessage(mistaken.writeMessage()))).toBe(
      'noise-decrypt-failed',
    );
    expect(observe(responder)).toEqual(before);

    const genuine = new HandshakeState(suite, {
      protocolName: IK,
      initiator: true,
      s: suite.generateKeyPair(),
      rs: responderStatic.publicKey,
    });
    responder.readMessage(genuine.writeMessage());
    genuine.readMessage(responder.writeMessage());
    expect(genuine.split().sendKey).toEqual(responder.split().receiveKey);
  });

  it('a low-order ephemeral key is rejected as noise-bad-key and changes nothing', () => {
    const { initiator, responder } = makePair(suite, 'IK');
    const forged = initiator.writeMessage();
    forged.fill(0, 0, 32);
    const before = observe(responder);
    expect(noiseCodeOf(() => responder.readMessage(forged))).toBe('noise-bad-key');
    expect(observe(responder)).toEqual(before);
  });

  it('different prologues make the handshake fail', () => {
    const a = makePair(suite, 'NN', Uint8Array.of(1));
    const b = makePair(suite, 'NN', Uint8Array.of(2));
    b.responder.readMessage(a.initiator.writeMessage());
    expect(noiseCodeOf(() => a.initiator.readMessage(b.responder.writeMessage()))).toBe(
      'noise-decrypt-failed',
    );
  });
});

describe('inputs', () => {
  it('keeps no view of a received Buffer (a UDP datagram is one)', () => {
    const { initiator, responder } = makePair(suite, 'NN');
    const datagram = Buffer.from(initiator.writeMessage(Uint8Array.of(1, 2)));
    const payload = responder.readMessage(datagram);
    const re = responder.remoteEphemeralKey;
    datagram.fill(0);
    expect(responder.remoteEphemeralKey).toEqual(re);
    expect(payload).toEqual(Uint8Array.of(1, 2));
  });
});

describe('turns and limits', () => {
  it('refuses to read or write out of turn, and after completion', () => {
    const { initiator, responder } = makePair(suite, 'NN');
    expect(noiseCodeOf(() => responder.writeMessage())).toBe('noise-state');
    expect(noiseCodeOf(() => initiator.readMessage(new Uint8Array(48)))).toBe(
      'noise-unexpected-message',
    );
    expect(noiseCodeOf(() => initiator.split())).toBe('noise-state');
    const first = initiator.writeMessage();
    responder.readMessage(first);
    // A replayed first message is unexpected now.
    expect(noiseCodeOf(() => responder.readMessage(first))).toBe('noise-unexpected-message');
    initiator.readMessage(responder.writeMessage());
    expect(noiseCodeOf(() => initiator.writeMessage())).toBe('noise-state');
    expect(noiseCodeOf(() => responder.readMessage(first))).toBe('noise-unexpected-message');
    expect(initiator.split()).toBe(initiator.split());
  });

  it('messages are at most 65535 bytes', () => {
    const { initiator, responder } = makePair(suite, 'NN');
    // NN's first message is a 32-byte ephemeral key and a cleartext payload.
    expect(parameterOf(() => initiator.writeMessage(new Uint8Array(MAX_MESSAGE_BYTES - 31)))).toBe(
      'payload',
    );
    expect(initiator.messageIndex).toBe(0);
    const largest = initiator.writeMessage(new Uint8Array(MAX_MESSAGE_BYTES - 32));
    expect(largest.length).toBe(MAX_MESSAGE_BYTES);
    expect(responder.readMessage(largest).length).toBe(MAX_MESSAGE_BYTES - 32);
    expect(parameterOf(() => responder.writeMessage(new Uint8Array(MAX_MESSAGE_BYTES)))).toBe(
      'payload',
    );

    const other = makePair(suite, 'NN');
    expect(noiseCodeOf(() => other.responder.readMessage(new Uint8Array(65536)))).toBe(
      'noise-malformed',
    );
  });
});

describe('construction', () => {
  const s = suite.generateKeyPair();
  const rs = suite.generateKeyPair().publicKey;
  const psk = new Uint8Array(32);

  it('names the missing, unexpected or malformed option', () => {
    const make = (options: Partial<ConstructorParameters<typeof HandshakeState>[1]>) => () =>
      new HandshakeState(suite, { protocolName: IK, initiator: true, ...options });
    expect(parameterOf(make({ s }))).toBe('rs');
    expect(parameterOf(make({ rs }))).toBe('s');
    expect(parameterOf(make({ s, rs: rs.subarray(1) }))).toBe('rs');
    expect(parameterOf(make({ s: { ...s, publicKey: new Uint8Array(31) }, rs }))).toBe(
      's.publicKey',
    );
    expect(parameterOf(make({ s, rs, protocolName: protocolName('XX') }))).toBe('rs');
    expect(parameterOf(make({ s, rs, re: rs }))).toBe('re');
    expect(parameterOf(make({ s, rs, protocolName: 'Noise_IK' }))).toBe('protocolName');
    expect(parameterOf(make({ s, rs, psks: [psk] }))).toBe('psks');
    expect(parameterOf(make({ s, rs, protocolName: protocolName('IKpsk2') }))).toBe('psks');
    expect(
      parameterOf(make({ s, rs, protocolName: protocolName('IKpsk2'), psks: [psk.subarray(1)] })),
    ).toBe('psks.0');
    expect(parameterOf(make({ s, rs }))).toBeUndefined();
  });

  it('knows which side needs a static key', () => {
    const build = (pattern: string, initiator: boolean) => () =>
      new HandshakeState(suite, { protocolName: protocolName(pattern), initiator });
    // NK: only the responder has a static key; XN: only the initiator; NN: neither.
    expect(parameterOf(build('NN', true))).toBeUndefined();
    expect(parameterOf(build('NN', false))).toBeUndefined();
    expect(parameterOf(build('NX', true))).toBeUndefined();
    expect(parameterOf(build('NX', false))).toBe('s');
    expect(parameterOf(build('XN', true))).toBe('s');
    expect(parameterOf(build('XN', false))).toBeUndefined();
    expect(parameterOf(build('NK1', false))).toBe('s');
  });

  it('an unused local static key pair is accepted', () => {
    expect(
      () => new HandshakeState(suite, { protocolName: protocolName('NN'), initiator: true, s }),
    ).not.toThrow();
  });

  it('throws InvalidParameterError, not NoiseError, for application mistakes', () => {
    expect(() => new HandshakeState(suite, { protocolName: 'nope', initiator: true })).toThrow(
      InvalidParameterError,
    );
  });
});
