/**
 * The Noise HandshakeState (spec rev. 34 §5.3), driven by the tokens of any pattern in
 * `patterns.ts`, with the PSK rules of §9.
 *
 * Unlike the spec's pseudocode, {@link HandshakeState.readMessage} and
 * {@link HandshakeState.writeMessage} are transactional: when a message is rejected the state is
 * exactly what it was before the call. On a network anyone can inject a packet; a forged or
 * corrupted handshake message must be droppable without aborting the real handshake.
 *
 * @module
 */
import { InvalidParameterError } from '../../net/errors.js';
import { AEAD_TAG_BYTES, X25519_KEY_BYTES, type CryptoSuite, type KeyPair } from '../suite.js';
import { concatBytes, copyBytes } from '../bytes.js';
import { CipherState } from './cipher-state.js';
import { NoiseError } from './errors.js';
import type { PreMessageToken, Token } from './patterns.js';
import { parseProtocolName, type NoiseProtocol } from './protocol-name.js';
import { SymmetricState, type SymmetricSnapshot } from './symmetric-state.js';
import type { StaticDhCache } from './static-dh-cache.js';

/** §3: every Noise message, handshake or transport, is at most 65535 bytes. */
export const MAX_MESSAGE_BYTES = 65535;

/** §9.1: a pre-shared key is 32 bytes. */
export const PSK_BYTES = 32;

const EMPTY = new Uint8Array(0);

/** What a party knows before the handshake (§5.3 Initialize). */
export interface HandshakeOptions {
  /** E.g. `Noise_IK_25519_ChaChaPoly_SHA256`. */
  readonly protocolName: string;
  /** True for the party that sends the first message. */
  readonly initiator: boolean;
  /** Data both parties must agree on, hashed but never sent (§6). Empty by default. */
  readonly prologue?: Uint8Array;
  /** The local static key pair, required when the pattern sends it or uses it in a DH. */
  readonly s?: KeyPair;
  /**
   * A fixed local ephemeral key pair. Only for test vectors and for patterns that pre-share an
   * ephemeral; otherwise a fresh one is generated when the pattern sends `e`.
   */
  readonly e?: KeyPair;
  /** The remote static public key, exactly when the pattern's pre-messages include it. */
  readonly rs?: Uint8Array;
  /** The remote ephemeral public key, exactly when the pattern's pre-messages include it. */
  readonly re?: Uint8Array;
  /** One 32-byte key per `psk` token of the pattern, in the order the tokens occur. */
  readonly psks?: readonly Uint8Array[];
  /**
   * Remembers `ss` results across handshakes of the same local static key; give one cache per
   * local identity, never share it between identities.
   */
  readonly staticDhCache?: StaticDhCache;
}

/**
 * The result of a completed handshake, oriented for this side. Its CipherStates count nonces
 * from zero; a transport that uses its own packet numbers as nonces takes the raw keys instead.
 * For one-way patterns only the initiator's `send` (the responder's `receive`) may be used.
 */
export interface TransportKeys {
  readonly send: CipherState;
  readonly receive: CipherState;
  readonly sendKey: Uint8Array;
  readonly receiveKey: Uint8Array;
  /** The final handshake hash, for channel binding (§11.2). */
  readonly handshakeHash: Uint8Array;
}

/** Everything a message can change, for undoing it. */
interface Snapshot {
  readonly symmetric: SymmetricSnapshot;
  readonly e: KeyPair | undefined;
  readonly rs: Uint8Array | undefined;
  readonly re: Uint8Array | undefined;
  readonly pskIndex: number;
  readonly index: number;
}

function checkKey(parameter: string, key: Uint8Array): void {
  if (key.length !== X25519_KEY_BYTES) {
    throw new InvalidParameterError(
      parameter,
      `must be ${X25519_KEY_BYTES} bytes, got ${key.length}`,
    );
  }
}

function checkKeyPair(parameter: string, pair: KeyPair | undefined): void {
  if (pair === undefined) return;
  checkKey(`${parameter}.publicKey`, pair.publicKey);
  checkKey(`${parameter}.privateKey`, pair.privateKey);
}

/** Sequential reads from a received message; running short means the message is malformed. */
class MessageReader {
  private offset = 0;

  constructor(private readonly message: Uint8Array) {}

  take(length: number, what: string): Uint8Array {
    if (this.offset + length > this.message.length) {
      throw new NoiseError(
        'noise-malformed',
        `message of ${this.message.length} bytes too short for ${what}`,
      );
    }
    const bytes = this.message.subarray(this.offset, this.offset + length);
    this.offset += length;
    return bytes;
  }

  rest(): Uint8Array {
    return this.take(this.message.length - this.offset, 'payload');
  }
}

/** One party's state during a Noise handshake. */
export class HandshakeState {
  /** The parsed protocol name, with the resolved pattern in `protocol.handshake`. */
  readonly protocol: NoiseProtocol;
  readonly initiator: boolean;

  private readonly suite: CryptoSuite;
  private readonly symmetric: SymmetricState;
  private readonly s: KeyPair | undefined;
  private e: KeyPair | undefined;
  private rs: Uint8Array | undefined;
  private re: Uint8Array | undefined;
  private readonly psks: readonly Uint8Array[];
  private readonly staticDhCache: StaticDhCache | undefined;
  private pskIndex = 0;
  private index = 0;
  private transport: TransportKeys | undefined;

  /**
   * Initialize() of §5.3.
   * @throws InvalidParameterError naming the option (`protocolName`, `s`, `e`, `rs`, `re`,
   * `psks`) that is malformed, missing although the pattern needs it, or given although the
   * pattern never uses it (`rs`, `re`: a silently ignored peer key would be a false assurance).
   */
  constructor(suite: CryptoSuite, options: HandshakeOptions) {
    this.suite = suite;
    this.protocol = parseProtocolName(options.protocolName);
    this.initiator = options.initiator;
    this.s = options.s;
    this.e = options.e;
    this.rs = options.rs === undefined ? undefined : copyBytes(options.rs);
    this.re = options.re === undefined ? undefined : copyBytes(options.re);
    this.psks = (options.psks ?? []).map(copyBytes);
    this.staticDhCache = options.staticDhCache;
    this.checkOptions(options);
    this.symmetric = new SymmetricState(suite, this.protocol.hash, this.protocol.name);
    this.symmetric.mixHash(options.prologue ?? EMPTY);
    this.mixPreMessages();
  }

  /** True once the last handshake message has been written or read. */
  get isComplete(): boolean {
    return this.transport !== undefined;
  }

  /** True when the next step is this side's {@link HandshakeState.writeMessage}. */
  get isMyTurn(): boolean {
    return !this.isComplete && this.index % 2 === (this.initiator ? 0 : 1);
  }

  /** Number of handshake messages written or read so far. */
  get messageIndex(): number {
    return this.index;
  }

  /** The current handshake hash `h`; after completion, the final one (§11.2). */
  get handshakeHash(): Uint8Array {
    return this.symmetric.handshakeHash;
  }

  /** The peer's static public key, once known (given, or received in a handshake message). */
  get remoteStaticKey(): Uint8Array | undefined {
    return this.rs?.slice();
  }

  /** The peer's ephemeral public key, once received. */
  get remoteEphemeralKey(): Uint8Array | undefined {
    return this.re?.slice();
  }

  /**
   * WriteMessage(payload): the next handshake message, carrying `payload` (encrypted once the
   * handshake has a key).
   * @throws NoiseError `noise-state` when it is not this side's turn or the handshake is over;
   * `noise-bad-key` when a pre-known remote key is a low-order point.
   * @throws InvalidParameterError (`payload`) when the message would exceed 65535 bytes.
   */
  writeMessage(payload: Uint8Array = EMPTY): Uint8Array {
    if (!this.isMyTurn) {
      throw new NoiseError('noise-state', this.isComplete ? 'handshake complete' : 'not our turn');
    }
    if (payload.length > MAX_MESSAGE_BYTES) {
      throw new InvalidParameterError('payload', `${payload.length} bytes exceed 65535`);
    }
    return this.transact(() => {
      const parts: Uint8Array[] = [];
      for (const token of this.currentTokens()) this.writeToken(token, parts);
      parts.push(this.symmetric.encryptAndHash(payload));
      const message = concatBytes(parts);
      if (message.length > MAX_MESSAGE_BYTES) {
        throw new InvalidParameterError(
          'payload',
          `the message would be ${message.length} bytes; Noise allows at most ${MAX_MESSAGE_BYTES}`,
        );
      }
      this.advance();
      return message;
    });
  }

  /**
   * ReadMessage(message): processes the peer's next handshake message and returns its payload.
   * On any error the state is unchanged, so the caller can drop the message and wait for the
   * genuine one.
   * @throws NoiseError `noise-unexpected-message` (not expecting a message), `noise-malformed`
   * (too short or too long), `noise-decrypt-failed` (authentication failed), `noise-bad-key`
   * (a received key is a low-order point).
   */
  readMessage(message: Uint8Array): Uint8Array {
    if (this.isComplete || this.isMyTurn) {
      throw new NoiseError(
        'noise-unexpected-message',
        this.isComplete ? 'handshake complete' : 'expecting to write, not to read',
      );
    }
    if (message.length > MAX_MESSAGE_BYTES) {
      throw new NoiseError('noise-malformed', `${message.length} bytes exceed 65535`);
    }
    return this.transact(() => {
      const reader = new MessageReader(message);
      for (const token of this.currentTokens()) this.readToken(token, reader);
      const body = reader.rest();
      if (this.symmetric.hasKey() && body.length < AEAD_TAG_BYTES) {
        throw new NoiseError('noise-malformed', 'payload shorter than its authentication tag');
      }
      const payload = this.symmetric.decryptAndHash(body);
      this.advance();
      return payload;
    });
  }

  /**
   * The transport CipherStates and keys (Split(), §5.2), oriented for this side: `send`
   * encrypts what this side sends. Repeated calls return the same objects, so the nonce
   * counters are never reset by accident.
   * @throws NoiseError `noise-state` before the handshake is complete.
   */
  split(): TransportKeys {
    if (this.transport === undefined) {
      throw new NoiseError('noise-state', 'the handshake is not complete');
    }
    return this.transport;
  }

  private checkOptions(options: HandshakeOptions): void {
    const pattern = this.protocol.handshake;
    const ownPre = this.initiator ? pattern.initiatorPreMessage : pattern.responderPreMessage;
    const remotePre = this.initiator ? pattern.responderPreMessage : pattern.initiatorPreMessage;
    checkKeyPair('s', options.s);
    checkKeyPair('e', options.e);
    if (options.s === undefined && this.needsLocalStatic(ownPre)) {
      throw new InvalidParameterError('s', `${pattern.name} needs the local static key pair`);
    }
    if (options.e === undefined && ownPre.includes('e')) {
      throw new InvalidParameterError('e', `${pattern.name} pre-shares the local ephemeral key`);
    }
    this.checkRemoteKey('rs', options.rs, remotePre, 's');
    this.checkRemoteKey('re', options.re, remotePre, 'e');
    this.checkPsks(options.psks ?? []);
  }

  /** Whether this side's static key pair is sent, pre-known, or used in a DH. */
  private needsLocalStatic(ownPre: readonly PreMessageToken[]): boolean {
    const ownDh = this.initiator ? 'se' : 'es';
    const pattern = this.protocol.handshake;
    return (
      ownPre.includes('s') ||
      pattern.messages.some((tokens, index) =>
        tokens.some(
          (token) =>
            token === 'ss' ||
            token === ownDh ||
            (token === 's' && index % 2 === (this.initiator ? 0 : 1)),
        ),
      )
    );
  }

  private checkRemoteKey(
    parameter: 'rs' | 're',
    key: Uint8Array | undefined,
    remotePre: readonly PreMessageToken[],
    token: PreMessageToken,
  ): void {
    const name = this.protocol.handshake.name;
    if (remotePre.includes(token)) {
      if (key === undefined) {
        throw new InvalidParameterError(parameter, `${name} needs the remote key beforehand`);
      }
      checkKey(parameter, key);
    } else if (key !== undefined) {
      throw new InvalidParameterError(
        parameter,
        `${name} does not take this key beforehand; it arrives in a handshake message or not at all`,
      );
    }
  }

  private checkPsks(psks: readonly Uint8Array[]): void {
    const expected = this.protocol.handshake.pskCount;
    if (psks.length !== expected) {
      throw new InvalidParameterError('psks', `expected ${expected} keys, got ${psks.length}`);
    }
    psks.forEach((psk, i) => {
      if (psk.length !== PSK_BYTES) {
        throw new InvalidParameterError(
          `psks.${i}`,
          `must be ${PSK_BYTES} bytes, got ${psk.length}`,
        );
      }
    });
  }

  /** §5.3: the initiator's pre-message keys are hashed first, then the responder's. */
  private mixPreMessages(): void {
    const pattern = this.protocol.handshake;
    for (const [tokens, ours] of [
      [pattern.initiatorPreMessage, this.initiator],
      [pattern.responderPreMessage, !this.initiator],
    ] as const) {
      for (const token of tokens) {
        const key = this.preMessageKey(token, ours);
        // Presence was checked in checkOptions; this is only for the type checker.
        if (key === undefined) throw new NoiseError('noise-state', `missing pre-message ${token}`);
        if (token === 'e') this.mixEphemeral(key);
        else this.symmetric.mixHash(key);
      }
    }
  }

  private preMessageKey(token: PreMessageToken, ours: boolean): Uint8Array | undefined {
    if (token === 'e') return ours ? this.e?.publicKey : this.re;
    return ours ? this.s?.publicKey : this.rs;
  }

  private currentTokens(): readonly Token[] {
    return this.protocol.handshake.messages[this.index] ?? [];
  }

  private writeToken(token: Token, parts: Uint8Array[]): void {
    switch (token) {
      case 'e': {
        const e = this.e ?? this.suite.generateKeyPair();
        this.e = e;
        parts.push(e.publicKey);
        this.mixEphemeral(e.publicKey);
        return;
      }
      case 's': {
        const s = this.s;
        if (s === undefined) throw new NoiseError('noise-state', 'no local static key');
        parts.push(this.symmetric.encryptAndHash(s.publicKey));
        return;
      }
      case 'psk':
        return this.mixPsk();
      default:
        return this.mixDh(token);
    }
  }

  private readToken(token: Token, reader: MessageReader): void {
    switch (token) {
      case 'e': {
        const re = copyBytes(reader.take(X25519_KEY_BYTES, 'the ephemeral key'));
        this.re = re;
        this.mixEphemeral(re);
        return;
      }
      case 's': {
        const length = X25519_KEY_BYTES + (this.symmetric.hasKey() ? AEAD_TAG_BYTES : 0);
        this.rs = this.symmetric.decryptAndHash(reader.take(length, 'the static key'));
        return;
      }
      case 'psk':
        return this.mixPsk();
      default:
        return this.mixDh(token);
    }
  }

  /** §9.2: in a PSK handshake an ephemeral key also keys the cipher, so `e` then `psk` is safe. */
  private mixEphemeral(publicKey: Uint8Array): void {
    this.symmetric.mixHash(publicKey);
    if (this.protocol.handshake.pskCount > 0) this.symmetric.mixKey(publicKey);
  }

  private mixPsk(): void {
    const psk = this.psks[this.pskIndex];
    if (psk === undefined) throw new NoiseError('noise-state', 'no pre-shared key left');
    this.pskIndex += 1;
    this.symmetric.mixKeyAndHash(psk);
  }

  /** A DH token: which local key pair and remote key it combines depends on our role (§5.3). */
  private mixDh(token: 'ee' | 'es' | 'se' | 'ss'): void {
    const [local, remote] = this.dhOperands(token);
    if (local === undefined || remote === undefined) {
      throw new NoiseError('noise-state', `${token}: a key is missing`);
    }
    let shared: Uint8Array;
    const compute = () => this.suite.dh(local.privateKey, remote);
    try {
      shared =
        token === 'ss' && this.staticDhCache !== undefined
          ? this.staticDhCache.get(remote, compute)
          : compute();
    } catch (error) {
      if (!(error instanceof InvalidParameterError)) throw error;
      throw new NoiseError('noise-bad-key', `${token}: the remote key is a low-order point`, {
        cause: error,
      });
    }
    this.symmetric.mixKey(shared);
  }

  private dhOperands(
    token: 'ee' | 'es' | 'se' | 'ss',
  ): [KeyPair | undefined, Uint8Array | undefined] {
    switch (token) {
      case 'ee':
        return [this.e, this.re];
      case 'es':
        return this.initiator ? [this.e, this.rs] : [this.s, this.re];
      case 'se':
        return this.initiator ? [this.s, this.re] : [this.e, this.rs];
      case 'ss':
        return [this.s, this.rs];
    }
  }

  /** Runs `work`; if it throws, puts every field a message can change back as it was. */
  private transact<T>(work: () => T): T {
    const saved: Snapshot = {
      symmetric: this.symmetric.snapshot(),
      e: this.e,
      rs: this.rs,
      re: this.re,
      pskIndex: this.pskIndex,
      index: this.index,
    };
    try {
      return work();
    } catch (error) {
      this.symmetric.restore(saved.symmetric);
      this.e = saved.e;
      this.rs = saved.rs;
      this.re = saved.re;
      this.pskIndex = saved.pskIndex;
      this.index = saved.index;
      this.transport = undefined;
      throw error;
    }
  }

  /** Moves to the next message; after the last one, derives the transport keys. */
  private advance(): void {
    this.index += 1;
    if (this.index < this.protocol.handshake.messages.length) return;
    const [initiatorKey, responderKey] = this.symmetric.split();
    const sendKey = this.initiator ? initiatorKey : responderKey;
    const receiveKey = this.initiator ? responderKey : initiatorKey;
    this.transport = {
      send: new CipherState(this.suite, sendKey),
      receive: new CipherState(this.suite, receiveKey),
      sendKey,
      receiveKey,
      handshakeHash: this.symmetric.handshakeHash,
    };
    // The ephemeral private key has no further use; drop it for forward secrecy's sake.
    this.e = undefined;
  }
}
