/**
 * The published cacophony vectors (Noise NN, XX, IK over 25519 / ChaChaPoly / SHA256 and
 * BLAKE2s), byte for byte, through both crypto suites.
 *
 * The vectors live outside the repository (`../shared/vectors/`, see its README). Where they are
 * absent this file reports one skipped test that says so, and warns, instead of passing quietly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { HandshakeState, type CipherState } from '../../../src/crypto/noise/index.js';
import type { CryptoSuite } from '../../../src/crypto/suite.js';
import { SUITES, fromHex, keyPairOf, toHex } from './fixtures.js';

interface Vector {
  readonly protocol_name: string;
  readonly init_prologue: string;
  readonly init_ephemeral: string;
  readonly init_static?: string;
  readonly init_remote_static?: string;
  readonly resp_prologue: string;
  readonly resp_ephemeral: string;
  readonly resp_static?: string;
  readonly resp_remote_static?: string;
  readonly handshake_hash: string;
  readonly messages: readonly { readonly payload: string; readonly ciphertext: string }[];
}

const VECTORS_PATH = fileURLToPath(
  new URL('../../../../shared/vectors/noise-cacophony-25519-chachapoly.json', import.meta.url),
);

const EXPECTED_PROTOCOLS = ['NN', 'XX', 'IK'].flatMap((pattern) =>
  ['SHA256', 'BLAKE2s'].map((hash) => `Noise_${pattern}_25519_ChaChaPoly_${hash}`),
);

const EMPTY = new Uint8Array(0);

function party(suite: CryptoSuite, vector: Vector, initiator: boolean): HandshakeState {
  const side = initiator ? 'init' : 'resp';
  const staticKey = vector[`${side}_static`];
  const remoteStatic = vector[`${side}_remote_static`];
  return new HandshakeState(suite, {
    protocolName: vector.protocol_name,
    initiator,
    prologue: fromHex(vector[`${side}_prologue`]),
    e: keyPairOf(suite, fromHex(vector[`${side}_ephemeral`])),
    s: staticKey === undefined ? undefined : keyPairOf(suite, fromHex(staticKey)),
    rs: remoteStatic === undefined ? undefined : fromHex(remoteStatic),
  });
}

/** Runs the whole exchange: handshake messages, then transport messages, alternating sides. */
function replay(suite: CryptoSuite, vector: Vector): void {
  const initiator = party(suite, vector, true);
  const responder = party(suite, vector, false);
  const handshakeLength = initiator.protocol.handshake.messages.length;
  vector.messages.forEach((message, index) => {
    const fromInitiator = index % 2 === 0;
    const [sender, receiver] = fromInitiator ? [initiator, responder] : [responder, initiator];
    const payload = fromHex(message.payload);
    if (index < handshakeLength) {
      const sent = sender.writeMessage(payload);
      expect(toHex(sent), `message ${index}`).toBe(message.ciphertext);
      expect(toHex(receiver.readMessage(sent))).toBe(message.payload);
      expect(initiator.isComplete).toBe(index === handshakeLength - 1);
      return;
    }
    const send: CipherState = sender.split().send;
    const receive: CipherState = receiver.split().receive;
    const sent = send.encryptWithAd(EMPTY, payload);
    expect(toHex(sent), `message ${index}`).toBe(message.ciphertext);
    expect(toHex(receive.decryptWithAd(EMPTY, sent))).toBe(message.payload);
  });
  expect(toHex(initiator.handshakeHash)).toBe(vector.handshake_hash);
  expect(toHex(responder.handshakeHash)).toBe(vector.handshake_hash);
}

if (existsSync(VECTORS_PATH)) {
  const { vectors } = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as {
    vectors: readonly Vector[];
  };

  describe('cacophony Noise vectors', () => {
    it('cover NN, XX and IK with SHA256 and BLAKE2s', () => {
      expect(vectors.map((vector) => vector.protocol_name).sort()).toEqual(
        [...EXPECTED_PROTOCOLS].sort(),
      );
    });

    describe.each(SUITES)('$name suite', ({ create }) => {
      const suite = create();
      it.each(vectors.map((vector) => [vector.protocol_name, vector] as const))(
        '%s: every message, the handshake hash and transport messages byte for byte',
        (_name, vector) => {
          replay(suite, vector);
        },
      );
    });
  });
} else {
  describe('cacophony Noise vectors', () => {
    it('are reported as skipped when the shared vectors folder is absent', () => {
      console.warn(`Noise vectors not found at ${VECTORS_PATH}, skipped`);
      expect(existsSync(VECTORS_PATH)).toBe(false);
    });
  });
}
