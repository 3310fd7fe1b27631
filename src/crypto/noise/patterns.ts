/**
 * Noise handshake patterns as data (Noise spec rev. 34 §7), and the `pskN` modifiers (§9.4).
 *
 * The table below is written in the spec's own notation so that it can be checked against the
 * spec by eye: pre-messages, then `...`, then the messages, `->` from the initiator and `<-` from
 * the responder.
 *
 * @module
 */
import { InvalidParameterError } from '../../net/errors.js';

/** A token of a message pattern (§7.1, and `psk` from §9.2). */
export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk';

/** A token of a pre-message pattern: only public keys, known before the handshake. */
export type PreMessageToken = 'e' | 's';

/** A handshake pattern, with any modifiers already applied. */
export interface HandshakePattern {
  /** The pattern part of a protocol name, e.g. `IK` or `NNpsk0+psk2`. */
  readonly name: string;
  /** Public keys of the initiator that the responder knows beforehand. */
  readonly initiatorPreMessage: readonly PreMessageToken[];
  /** Public keys of the responder that the initiator knows beforehand. */
  readonly responderPreMessage: readonly PreMessageToken[];
  /** The messages in order; even indexes go initiator → responder, odd ones come back. */
  readonly messages: readonly (readonly Token[])[];
  /** True for the one-way patterns of §7.4 (a single message; only the initiator sends). */
  readonly oneWay: boolean;
  /** Number of `psk` tokens; a PSK handshake also mixes every ephemeral key into the key (§9.2). */
  readonly pskCount: number;
}

/** §7.4 One-way handshake patterns. */
const ONE_WAY: Readonly<Record<string, readonly string[]>> = {
  N: ['<- s', '...', '-> e, es'],
  K: ['-> s', '<- s', '...', '-> e, es, ss'],
  X: ['<- s', '...', '-> e, es, s, ss'],
};

/** §7.5 Interactive handshake patterns (fundamental). */
const FUNDAMENTAL: Readonly<Record<string, readonly string[]>> = {
  NN: ['-> e', '<- e, ee'],
  NK: ['<- s', '...', '-> e, es', '<- e, ee'],
  NX: ['-> e', '<- e, ee, s, es'],
  KN: ['-> s', '...', '-> e', '<- e, ee, se'],
  KK: ['-> s', '<- s', '...', '-> e, es, ss', '<- e, ee, se'],
  KX: ['-> s', '...', '-> e', '<- e, ee, se, s, es'],
  XN: ['-> e', '<- e, ee', '-> s, se'],
  XK: ['<- s', '...', '-> e, es', '<- e, ee', '-> s, se'],
  XX: ['-> e', '<- e, ee, s, es', '-> s, se'],
  IN: ['-> e, s', '<- e, ee, se'],
  IK: ['<- s', '...', '-> e, es, s, ss', '<- e, ee, se'],
  IX: ['-> e, s', '<- e, ee, se, s, es'],
};

/** §7.6 Interactive handshake patterns (deferred): authentication moved one message later. */
const DEFERRED: Readonly<Record<string, readonly string[]>> = {
  NK1: ['<- s', '...', '-> e', '<- e, ee, es'],
  NX1: ['-> e', '<- e, ee, s', '-> es'],
  X1N: ['-> e', '<- e, ee', '-> s', '<- se'],
  X1K: ['<- s', '...', '-> e, es', '<- e, ee', '-> s', '<- se'],
  XK1: ['<- s', '...', '-> e', '<- e, ee, es', '-> s, se'],
  X1K1: ['<- s', '...', '-> e', '<- e, ee, es', '-> s', '<- se'],
  X1X: ['-> e', '<- e, ee, s, es', '-> s', '<- se'],
  XX1: ['-> e', '<- e, ee, s', '-> es, s, se'],
  X1X1: ['-> e', '<- e, ee, s', '-> es, s', '<- se'],
  K1N: ['-> s', '...', '-> e', '<- e, ee', '-> se'],
  K1K: ['-> s', '<- s', '...', '-> e, es', '<- e, ee', '-> se'],
  KK1: ['-> s', '<- s', '...', '-> e', '<- e, ee, se, es'],
  K1K1: ['-> s', '<- s', '...', '-> e', '<- e, ee, es', '-> se'],
  K1X: ['-> s', '...', '-> e', '<- e, ee, s, es', '-> se'],
  KX1: ['-> s', '...', '-> e', '<- e, ee, se, s', '-> es'],
  K1X1: ['-> s', '...', '-> e', '<- e, ee, s', '-> se, es'],
  I1N: ['-> e, s', '<- e, ee', '-> se'],
  I1K: ['<- s', '...', '-> e, es, s', '<- e, ee', '-> se'],
  IK1: ['<- s', '...', '-> e, s', '<- e, ee, se, es'],
  I1K1: ['<- s', '...', '-> e, s', '<- e, ee, es', '-> se'],
  I1X: ['-> e, s', '<- e, ee, s, es', '-> se'],
  IX1: ['-> e, s', '<- e, ee, se, s', '-> es'],
  I1X1: ['-> e, s', '<- e, ee, s', '-> se, es'],
};

/** Names of the one-way patterns (§7.4). */
export const ONE_WAY_PATTERN_NAMES: readonly string[] = Object.keys(ONE_WAY);
/** Names of the fundamental interactive patterns (§7.5). */
export const FUNDAMENTAL_PATTERN_NAMES: readonly string[] = Object.keys(FUNDAMENTAL);
/** Names of the deferred interactive patterns (§7.6). */
export const DEFERRED_PATTERN_NAMES: readonly string[] = Object.keys(DEFERRED);
/** Every pattern name the engine knows, without modifiers. */
export const PATTERN_NAMES: readonly string[] = [
  ...ONE_WAY_PATTERN_NAMES,
  ...FUNDAMENTAL_PATTERN_NAMES,
  ...DEFERRED_PATTERN_NAMES,
];

const MESSAGE_TOKENS: ReadonlySet<string> = new Set<Token>(['e', 's', 'ee', 'es', 'se', 'ss']);
const PRE_MESSAGE_TOKENS: ReadonlySet<string> = new Set<PreMessageToken>(['e', 's']);

interface Line {
  readonly fromInitiator: boolean;
  readonly tokens: readonly string[];
}

/** Parses `-> e, es` into its direction and tokens; the table is ours, so a typo is a bug. */
function parseLine(line: string): Line {
  const match = /^(->|<-) (.+)$/.exec(line);
  if (match === null) throw new Error(`bad pattern line ${JSON.stringify(line)}`);
  return { fromInitiator: match[1] === '->', tokens: (match[2] as string).split(', ') };
}

function checkTokens(tokens: readonly string[], allowed: ReadonlySet<string>, line: string): void {
  for (const token of tokens) {
    if (!allowed.has(token)) throw new Error(`bad token ${token} in ${JSON.stringify(line)}`);
  }
}

function compile(name: string, lines: readonly string[], oneWay: boolean): HandshakePattern {
  const split = lines.indexOf('...');
  const preLines = split < 0 ? [] : lines.slice(0, split);
  const messageLines = lines.slice(split + 1);
  const initiatorPreMessage: PreMessageToken[] = [];
  const responderPreMessage: PreMessageToken[] = [];
  for (const text of preLines) {
    const line = parseLine(text);
    checkTokens(line.tokens, PRE_MESSAGE_TOKENS, text);
    const target = line.fromInitiator ? initiatorPreMessage : responderPreMessage;
    target.push(...(line.tokens as PreMessageToken[]));
  }
  const messages = messageLines.map((text, index) => {
    const line = parseLine(text);
    checkTokens(line.tokens, MESSAGE_TOKENS, text);
    // §7.1: messages alternate, and the initiator sends the first one.
    if (line.fromInitiator !== (index % 2 === 0)) throw new Error(`${name}: out of turn`);
    return line.tokens as Token[];
  });
  return { name, initiatorPreMessage, responderPreMessage, messages, oneWay, pskCount: 0 };
}

function compileTable(
  table: Readonly<Record<string, readonly string[]>>,
  oneWay: boolean,
): Map<string, HandshakePattern> {
  return new Map(
    Object.entries(table).map(([name, lines]) => [name, compile(name, lines, oneWay)]),
  );
}

const BASE_PATTERNS: ReadonlyMap<string, HandshakePattern> = new Map([
  ...compileTable(ONE_WAY, true),
  ...compileTable(FUNDAMENTAL, false),
  ...compileTable(DEFERRED, false),
]);

/**
 * Inserts the `psk` token a `pskN` modifier names (§9.4): `psk0` at the start of the first
 * message, `pskN` at the end of message N.
 */
function applyPsk(pattern: HandshakePattern, modifier: string): HandshakePattern {
  const match = /^psk(0|[1-9][0-9]*)$/.exec(modifier);
  if (match === null) {
    throw new InvalidParameterError('protocolName', `unsupported pattern modifier ${modifier}`);
  }
  const n = Number(match[1]);
  if (n > pattern.messages.length) {
    throw new InvalidParameterError(
      'protocolName',
      `${modifier}: pattern ${pattern.name} has only ${pattern.messages.length} messages`,
    );
  }
  const messages = pattern.messages.map((tokens, index): readonly Token[] => {
    if (n === 0 && index === 0) return ['psk', ...tokens];
    if (n > 0 && index === n - 1) return [...tokens, 'psk'];
    return tokens;
  });
  return { ...pattern, messages, pskCount: pattern.pskCount + 1 };
}

/**
 * The pattern `name` with `modifiers` applied in order, e.g. (`NN`, [`psk0`, `psk2`]).
 * @throws InvalidParameterError (`protocolName`) for an unknown pattern, an unsupported or
 * repeated modifier, or a `pskN` beyond the pattern's last message.
 */
export function handshakePattern(
  name: string,
  modifiers: readonly string[] = [],
): HandshakePattern {
  const base = BASE_PATTERNS.get(name);
  if (base === undefined) {
    throw new InvalidParameterError('protocolName', `unknown handshake pattern ${name}`);
  }
  if (new Set(modifiers).size !== modifiers.length) {
    throw new InvalidParameterError('protocolName', `repeated modifier in ${modifiers.join('+')}`);
  }
  let pattern = base;
  for (const modifier of modifiers) pattern = applyPsk(pattern, modifier);
  const suffix = modifiers.join('+');
  return { ...pattern, name: name + suffix };
}
