import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  DEFERRED_PATTERN_NAMES,
  FUNDAMENTAL_PATTERN_NAMES,
  ONE_WAY_PATTERN_NAMES,
  handshakePattern,
  parseProtocolName,
  type HandshakePattern,
} from '../../../src/crypto/noise/index.js';
import { InvalidParameterError } from '../../../src/net/errors.js';
import { parameterOf } from '../../net/fixtures.js';
import { ALL_PATTERNS } from './fixtures.js';

/**
 * The validity rules of §7.3 and §9.3, checked independently of the engine: keys are used only
 * once possessed, nothing is sent or DH'd twice, a party does not encrypt to a key it has only
 * mixed with the peer's static key, and a PSK party sends an ephemeral before encrypting.
 */
function violations(pattern: HandshakePattern): string[] {
  const problems: string[] = [];
  const has = { i: new Set<string>(), r: new Set<string>() };
  for (const token of pattern.initiatorPreMessage) has.i.add(token);
  for (const token of pattern.responderPreMessage) has.r.add(token);
  const done = new Set<string>();
  pattern.messages.forEach((tokens, index) => {
    const sender = index % 2 === 0 ? 'i' : 'r';
    for (const token of tokens) {
      if (token === 'e' || token === 's') {
        if (has[sender].has(token)) problems.push(`${sender} sends ${token} twice`);
        has[sender].add(token);
      } else if (token !== 'psk') {
        if (done.has(token)) problems.push(`${token} twice`);
        done.add(token);
        const [iKey, rKey] = [token[0] as string, token[1] as string];
        if (!has.i.has(iKey) || !has.r.has(rKey)) problems.push(`${token} before its keys`);
      }
    }
    // §7.3 rule 4: after se the initiator needs ee before sending; after ss it needs es. The
    // responder mirrors that: after es it needs ee; after ss it needs se.
    const need =
      sender === 'i'
        ? [
            ['se', 'ee'],
            ['ss', 'es'],
          ]
        : [
            ['es', 'ee'],
            ['ss', 'se'],
          ];
    for (const [after, required] of need) {
      if (done.has(after as string) && !done.has(required as string)) {
        problems.push(`${sender} sends after ${after} without ${required}`);
      }
    }
    if (pattern.pskCount > 0 && !has[sender].has('e')) {
      problems.push(`${sender} encrypts under a psk before sending e`);
    }
  });
  return problems;
}

describe('handshake patterns', () => {
  it('has the 3 one-way, 12 fundamental and 23 deferred patterns of §7.4 to §7.6', () => {
    expect(ONE_WAY_PATTERN_NAMES).toEqual(['N', 'K', 'X']);
    expect(FUNDAMENTAL_PATTERN_NAMES).toHaveLength(12);
    expect(DEFERRED_PATTERN_NAMES).toHaveLength(23);
  });

  it.each(ALL_PATTERNS)('%s is valid (§7.3, §9.3)', (name) => {
    const parsed = parseProtocolName(`Noise_${name}_25519_ChaChaPoly_SHA256`);
    expect(violations(parsed.handshake)).toEqual([]);
  });

  it('the validity check itself catches broken patterns', () => {
    const broken = (
      messages: HandshakePattern['messages'],
      pskCount = 0,
      responderPreMessage: HandshakePattern['responderPreMessage'] = [],
    ): string[] =>
      violations({
        name: 'broken',
        initiatorPreMessage: [],
        responderPreMessage,
        messages,
        oneWay: false,
        pskCount,
      });
    expect(broken([['e', 'es']])).toEqual(['es before its keys']);
    expect(broken([['e'], ['e', 'ee', 'e']])).toEqual(['r sends e twice']);
    expect(broken([['e'], ['e', 'ee', 'ee']])).toEqual(['ee twice']);
    expect(
      broken(
        [
          ['e', 'es', 's', 'ss'],
          ['e', 'se'],
        ],
        0,
        ['s'],
      ),
    ).toEqual(['r sends after es without ee']);
    expect(broken([['psk'], ['e', 'psk']], 2)).toContain('i encrypts under a psk before sending e');
  });

  it('spells IK, I1X1 and XX1 as the spec does', () => {
    expect(handshakePattern('IK')).toMatchObject({
      responderPreMessage: ['s'],
      initiatorPreMessage: [],
      messages: [
        ['e', 'es', 's', 'ss'],
        ['e', 'ee', 'se'],
      ],
      oneWay: false,
      pskCount: 0,
    });
    expect(handshakePattern('I1X1').messages).toEqual([
      ['e', 's'],
      ['e', 'ee', 's'],
      ['se', 'es'],
    ]);
    expect(handshakePattern('XX1').messages).toEqual([['e'], ['e', 'ee', 's'], ['es', 's', 'se']]);
    expect(handshakePattern('K').initiatorPreMessage).toEqual(['s']);
    expect(handshakePattern('K').oneWay).toBe(true);
  });

  it('psk0 goes before the first message, pskN after message N (§9.4)', () => {
    expect(handshakePattern('NN', ['psk0', 'psk2'])).toMatchObject({
      name: 'NNpsk0+psk2',
      messages: [
        ['psk', 'e'],
        ['e', 'ee', 'psk'],
      ],
      pskCount: 2,
    });
    expect(handshakePattern('IK', ['psk1']).messages[0]).toEqual(['e', 'es', 's', 'ss', 'psk']);
    expect(handshakePattern('N', ['psk0', 'psk1']).messages).toEqual([['psk', 'e', 'es', 'psk']]);
  });
});

describe('protocol names (§8)', () => {
  it('parses the pattern, modifiers and primitives', () => {
    expect(parseProtocolName('Noise_XXpsk0+psk3_25519_ChaChaPoly_BLAKE2s')).toMatchObject({
      name: 'Noise_XXpsk0+psk3_25519_ChaChaPoly_BLAKE2s',
      pattern: 'XX',
      modifiers: ['psk0', 'psk3'],
      dh: '25519',
      cipher: 'ChaChaPoly',
      hash: 'BLAKE2s',
    });
    expect(parseProtocolName('Noise_X1K1_25519_ChaChaPoly_SHA256')).toMatchObject({
      pattern: 'X1K1',
      modifiers: [],
      hash: 'SHA256',
    });
  });

  it.each([
    '',
    'Noise',
    'Noise_IK_25519_ChaChaPoly',
    'Noise_IK_25519_ChaChaPoly_SHA256_',
    'noise_IK_25519_ChaChaPoly_SHA256',
    'Noise_ZZ_25519_ChaChaPoly_SHA256',
    'Noise_ik_25519_ChaChaPoly_SHA256',
    'Noise__25519_ChaChaPoly_SHA256',
    'Noise_IK_448_ChaChaPoly_SHA256',
    'Noise_IK_25519_AESGCM_SHA256',
    'Noise_IK_25519_ChaChaPoly_SHA512',
    'Noise_IK_25519_ChaChaPoly_BLAKE2b',
    'Noise_XXfallback_25519_ChaChaPoly_SHA256',
    'Noise_XXhfs_25519+Kyber1024_ChaChaPoly_SHA256',
    'Noise_NNpsk3_25519_ChaChaPoly_SHA256',
    'Noise_NNpsk_25519_ChaChaPoly_SHA256',
    'Noise_NNpsk01_25519_ChaChaPoly_SHA256',
    'Noise_NNpsk0+psk0_25519_ChaChaPoly_SHA256',
    'Noise_NNpsk0+_25519_ChaChaPoly_SHA256',
    'Noise_NN psk0_25519_ChaChaPoly_SHA256',
    `Noise_${'N'.repeat(250)}_25519_ChaChaPoly_SHA256`,
  ])('rejects %j, naming protocolName', (name) => {
    expect(parameterOf(() => parseProtocolName(name))).toBe('protocolName');
  });

  it('any string either parses or is an InvalidParameterError on protocolName', () => {
    const piece = fc.constantFrom('Noise', 'IK', 'NN', 'psk0', '+psk2', '25519', 'ChaChaPoly');
    const names = fc.oneof(
      fc.string(),
      fc
        .array(fc.oneof(piece, fc.constant('_'), fc.string({ maxLength: 2 })))
        .map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(names, (name) => {
        try {
          expect(parseProtocolName(name).name).toBe(name);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidParameterError);
          expect((error as InvalidParameterError).parameter).toBe('protocolName');
        }
      }),
      { numRuns: 300 },
    );
  });
});
