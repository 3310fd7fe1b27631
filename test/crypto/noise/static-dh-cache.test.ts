import { describe, expect, it } from 'vitest';
import { createNativeSuite } from '../../../src/crypto/native-suite.js';
import { HandshakeState, StaticDhCache } from '../../../src/crypto/noise/index.js';
import type { KeyPair } from '../../../src/crypto/suite.js';
import { seededRandom } from '../../../src/net/random.js';
import { toHex } from './fixtures.js';

describe('StaticDhCache', () => {
  it('computes once per remote key and returns the remembered result after', () => {
    const cache = new StaticDhCache(4);
    let computed = 0;
    const compute = () => {
      computed++;
      return Uint8Array.of(computed);
    };
    const key = new Uint8Array(32).fill(7);
    expect(cache.get(key, compute)).toEqual(Uint8Array.of(1));
    expect(cache.get(Uint8Array.from(key), compute)).toEqual(Uint8Array.of(1));
    expect(computed).toBe(1);
  });

  it('holds at most its capacity, forgetting the least recently used key first', () => {
    const cache = new StaticDhCache(2);
    let computed = 0;
    const compute = () => Uint8Array.of(++computed);
    const key = (n: number) => new Uint8Array(32).fill(n);
    cache.get(key(1), compute);
    cache.get(key(2), compute);
    cache.get(key(1), compute); // 1 is now the most recent
    cache.get(key(3), compute); // evicts 2
    expect(computed).toBe(3);
    cache.get(key(1), compute);
    expect(computed).toBe(3);
    cache.get(key(2), compute);
    expect(computed).toBe(4);
  });

  it('an IK handshake with the cache is byte-identical to one without it', () => {
    const suite = createNativeSuite(seededRandom(5));
    const initiator = suite.generateKeyPair();
    const responder = suite.generateKeyPair();
    const responderCache = new StaticDhCache();
    const run = (cache: StaticDhCache | undefined, e: KeyPair, f: KeyPair) => {
      const a = new HandshakeState(suite, {
        protocolName: 'Noise_IK_25519_ChaChaPoly_SHA256',
        initiator: true,
        s: initiator,
        rs: responder.publicKey,
        e,
        staticDhCache: cache,
      });
      const b = new HandshakeState(suite, {
        protocolName: 'Noise_IK_25519_ChaChaPoly_SHA256',
        initiator: false,
        s: responder,
        e: f,
        staticDhCache: cache === undefined ? undefined : responderCache,
      });
      const first = a.writeMessage(Uint8Array.of(1));
      b.readMessage(first);
      const second = b.writeMessage(Uint8Array.of(2));
      a.readMessage(second);
      return [toHex(first), toHex(second), toHex(a.handshakeHash), toHex(b.handshakeHash)];
    };
    const cache = new StaticDhCache();
    const [e1, f1, e2, f2] = Array.from({ length: 4 }, () => suite.generateKeyPair()) as KeyPair[];
    // The second run with the cache uses the remembered `ss`.
    expect(run(cache, e1 as KeyPair, f1 as KeyPair)).toEqual(
      run(undefined, e1 as KeyPair, f1 as KeyPair),
    );
    expect(run(cache, e2 as KeyPair, f2 as KeyPair)).toEqual(
      run(undefined, e2 as KeyPair, f2 as KeyPair),
    );
  });
});
