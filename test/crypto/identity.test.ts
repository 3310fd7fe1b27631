import { format, inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterOf } from '../net/fixtures.js';
import { Eid } from '../../src/crypto/eid.js';
import { Identity } from '../../src/crypto/identity.js';
import { createNativeSuite } from '../../src/crypto/native-suite.js';
import { createNobleSuite } from '../../src/crypto/noble-suite.js';
import { seededRandom } from '../../src/net/random.js';

const suite = createNativeSuite();

/** RFC 7748 §6.1: Alice's private key and the EID of her public key (see eid.test.ts). */
const ALICE_PRIVATE = Uint8Array.from(
  Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex'),
);
const ALICE_EID = 'quqpacmjgctvi5elpxolipxxlig36oqney4bv5hlusuy5ku3jzvgw4rd';

function base32(bytes: Uint8Array): string {
  const bits = [...bytes].map((byte) => byte.toString(2).padStart(8, '0')).join('');
  let text = '';
  for (let i = 0; i + 5 <= bits.length; i += 5) {
    text += 'abcdefghijklmnopqrstuvwxyz234567'[parseInt(bits.slice(i, i + 5), 2)];
  }
  return text;
}

/**
 * The ways a private key could show up in text: hex (plain, and spaced as `<Buffer 77 07 ...>`),
 * base64, base64url, base32 in either case, and decimal byte lists as `Uint8Array(32) [ 119, 7,
 * ...]` prints them (any separators). Prefixes of 8 bytes are searched, so that truncated
 * output (`... 22 more items`) is caught too.
 */
function secretForms(privateKey: Uint8Array): (string | RegExp)[] {
  const head = Buffer.from(privateKey.subarray(0, 8));
  const hex = head.toString('hex');
  return [
    hex,
    hex.toUpperCase(),
    hex.replace(/(..)(?!$)/g, '$1 '),
    head.toString('base64').slice(0, 10),
    head.toString('base64url').slice(0, 10),
    base32(head).slice(0, 12),
    base32(head).slice(0, 12).toUpperCase(),
    new RegExp([...head].join('\\D+')),
    // JSON.stringify of a Uint8Array: {"0":119,"1":7,...}
    [...head].map((byte, i) => `"${i}":${byte}`).join(','),
  ];
}

function expectNoSecret(output: string, privateKey: Uint8Array): void {
  for (const form of secretForms(privateKey)) {
    if (typeof form === 'string') expect(output).not.toContain(form);
    else expect(output).not.toMatch(form);
  }
}

describe('Identity.generate and fromPrivateKey', () => {
  it('derives the EID of RFC 7748 Alice from her private key', () => {
    const alice = Identity.fromPrivateKey(suite, ALICE_PRIVATE);
    expect(alice.eid.toString()).toBe(ALICE_EID);
    expect(alice.publicKey).toEqual(alice.eid.publicKey);
    expect(alice.keyPair().privateKey).toEqual(ALICE_PRIVATE);
  });

  it('generates a key pair whose EID is the public key of its private key', () => {
    const identity = Identity.generate(suite);
    const { publicKey, privateKey } = identity.keyPair();
    expect(suite.publicKey(privateKey)).toEqual(publicKey);
    expect(identity.eid.equals(Eid.fromPublicKey(publicKey))).toBe(true);
    expect(Identity.fromPrivateKey(suite, privateKey).equals(identity)).toBe(true);
    expect(identity.equals(Identity.generate(suite))).toBe(false);
  });

  it('draws from the suite random source: the same seed gives the same identity', () => {
    const a = Identity.generate(createNativeSuite(seededRandom(7)));
    const b = Identity.generate(createNativeSuite(seededRandom(7)));
    const c = Identity.generate(createNativeSuite(seededRandom(8)));
    expect(a.eid.equals(b.eid)).toBe(true);
    expect(a.eid.equals(c.eid)).toBe(false);
  });

  it('property: the native and noble suites derive the same EID', () => {
    const noble = createNobleSuite();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        const native = Identity.fromPrivateKey(suite, key);
        expect(native.eid.equals(Identity.fromPrivateKey(noble, key).eid)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('rejects a private key that is not 32 bytes, without echoing its bytes', () => {
    for (const length of [0, 16, 31, 33]) {
      const key = new Uint8Array(length).fill(0xab);
      expect(parameterOf(() => Identity.fromPrivateKey(suite, key))).toBe('privateKey');
    }
    const notBytes = 'secret' as unknown as Uint8Array;
    expect(parameterOf(() => Identity.fromPrivateKey(suite, notBytes))).toBe('privateKey');
    const long = new Uint8Array(33).fill(0xab);
    expect(() => Identity.fromPrivateKey(suite, long)).toThrow(/^privateKey: .* got 33$/);
    expect(() => Identity.fromPrivateKey(suite, long)).not.toThrow(/abab|ABAB|171|q6vq/);
  });

  it('copies: later changes to the input or to returned arrays do not affect it', () => {
    const input = ALICE_PRIVATE.slice();
    const identity = Identity.fromPrivateKey(suite, input);
    input.fill(0);
    const pair = identity.keyPair();
    pair.privateKey.fill(1);
    pair.publicKey.fill(2);
    identity.publicKey.fill(3);
    expect(identity.keyPair().privateKey).toEqual(ALICE_PRIVATE);
    expect(identity.eid.toString()).toBe(ALICE_EID);
    expect(Object.isFrozen(identity)).toBe(true);
  });
});

describe('Identity never shows its private key', () => {
  const identity = Identity.fromPrivateKey(suite, ALICE_PRIVATE);
  const expected = `Identity(${ALICE_EID})`;

  it('the secret forms the checks look for do occur in a plain dump of the key', () => {
    // Guards the guard: each form must match the output it is meant to catch.
    const key = Buffer.from(ALICE_PRIVATE);
    const dumps = [
      inspect(key),
      inspect(ALICE_PRIVATE),
      key.toString('hex'),
      key.toString('base64'),
      key.toString('base64url'),
      base32(key),
      base32(key).toUpperCase(),
      JSON.stringify(ALICE_PRIVATE),
      String([...ALICE_PRIVATE]),
    ];
    for (const dump of dumps) {
      const caught = secretForms(ALICE_PRIVATE).some((form) =>
        typeof form === 'string' ? dump.includes(form) : form.test(dump),
      );
      expect(caught, dump).toBe(true);
    }
  });

  it('toString, String(), template strings and concatenation give Identity(<eid>)', () => {
    expect(identity.toString()).toBe(expected);
    expect(String(identity)).toBe(expected);
    expect(`${identity}`).toBe(expected);
    expect('' + identity).toBe(expected);
  });

  it('util.inspect and console formats give Identity(<eid>)', () => {
    expect(inspect(identity)).toBe(expected);
    expect(inspect(identity, { showHidden: true, depth: 10 })).toBe(expected);
    expect(format('%o', identity)).toBe(expected);
    expect(format('%O', identity)).toBe(expected);
    expect(format('%s', identity)).toBe(expected);
    expect(format('%j', identity)).toBe(`{"eid":"${ALICE_EID}"}`);
    expect(inspect({ host: { identity } }, { depth: 10, breakLength: Infinity })).toBe(
      `{ host: { identity: ${expected} } }`,
    );
  });

  it('util.inspect without custom inspection, with hidden properties and getters', () => {
    const outputs = [
      inspect(identity, { showHidden: true, depth: 10 }),
      inspect(identity, { showHidden: true, depth: Infinity, customInspect: false, getters: true }),
      inspect([identity], { showHidden: true, depth: Infinity, customInspect: false }),
    ];
    for (const output of outputs) expectNoSecret(output, ALICE_PRIVATE);
    // Without custom inspection the EID is all there is to see.
    expect(inspect(identity, { customInspect: false, depth: 0 })).toBe('Identity { eid: Eid {} }');
  });

  it('JSON.stringify gives only the EID', () => {
    expect(JSON.stringify(identity)).toBe(`{"eid":"${ALICE_EID}"}`);
    expect(identity.toJSON()).toEqual({ eid: ALICE_EID });
    const nested = JSON.stringify({ identity, list: [identity] });
    expect(nested).toBe(`{"identity":{"eid":"${ALICE_EID}"},"list":[{"eid":"${ALICE_EID}"}]}`);
  });

  it('enumeration, spreading, property descriptors and structuredClone see only the EID', () => {
    expect(Object.keys(identity)).toEqual(['eid']);
    expect(Reflect.ownKeys(identity)).toEqual(['eid']);
    expect(Object.entries(identity)).toEqual([['eid', identity.eid]]);
    expect(Object.keys(identity.eid)).toEqual([]);
    const spread = { ...identity };
    expect(Object.keys(spread)).toEqual(['eid']);
    const outputs = [
      inspect(Object.getOwnPropertyDescriptors(identity), { showHidden: true, depth: 10 }),
      inspect(structuredClone(identity), { showHidden: true, depth: 10 }),
      JSON.stringify(structuredClone(identity)),
      inspect(spread, { showHidden: true, depth: 10, customInspect: false }),
    ];
    for (const output of outputs) expectNoSecret(output, ALICE_PRIVATE);
    let keysSeen = '';
    for (const key in identity) keysSeen += key;
    expect(keysSeen).toBe('eid');
  });

  it('property: no output path shows a random private key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        const random = Identity.fromPrivateKey(suite, key);
        const output = [
          String(random),
          JSON.stringify(random),
          inspect(random, { showHidden: true, depth: Infinity }),
          inspect(random, {
            showHidden: true,
            depth: Infinity,
            customInspect: false,
            getters: true,
          }),
          format('%o %O %j', random, random, random),
        ].join('\n');
        expectNoSecret(output, key);
      }),
      { numRuns: 50 },
    );
  });
});
