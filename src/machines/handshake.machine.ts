/**
 * Lifecycles of the Noise IK handshake (docs/PROTOCOL.md §2). The machines own the timers and the
 * outcome; the bytes (Noise, MACs, cookies) are plain code in `src/channel/handshake/`, which
 * passes the `sendInitiate` and `resendReply` callbacks in the input and sends an event only when
 * a packet changes the lifecycle.
 */
import { assign, setup } from 'xstate';

/** Retransmission timing of the initiator, all in milliseconds. */
export interface InitiatorTiming {
  /** Delay before the first retransmission; doubles after each one. */
  readonly initialRetransmitMs: number;
  /** Longest delay between two retransmissions. */
  readonly maxRetransmitMs: number;
  /** The handshake fails if it has not completed this long after it started. */
  readonly timeoutMs: number;
}

export type InitiatorEvent =
  /** An authenticated RESPONSE that accepts the connection. */
  | { type: 'ACCEPTED' }
  /** An authenticated RESPONSE that refuses it. */
  | { type: 'REJECTED' }
  /** A RESPONSE for this handshake that failed authentication (dropped). */
  | { type: 'AUTH_FAILURE' }
  /** A valid cookie reply: the responder is under load and wants mac2. */
  | { type: 'COOKIE' }
  /** The application gave up. */
  | { type: 'CANCEL' };

/** What the initiator machine asks of the code that owns it. */
export interface InitiatorInput extends InitiatorTiming {
  /** Sends (or resends) the INITIATE. */
  readonly sendInitiate: () => void;
}

interface InitiatorContext extends InitiatorInput {
  attempts: number;
  authFailures: number;
}

/**
 * The initiator: sends INITIATE, retransmits with exponential backoff, ends `established`, or in
 * one of the failure states `timedOut`, `rejected`, `authenticationFailed` (responses came but
 * none authenticated: a wrong responder key or an active attacker), or `cancelled`.
 */
export const initiatorMachine = setup({
  types: {
    context: {} as InitiatorContext,
    input: {} as InitiatorInput,
    events: {} as InitiatorEvent,
  },
  actions: {
    // The callback comes in with the input rather than through `machine.provide`, which would
    // rebuild the machine's state nodes for every handshake.
    sendInitiate: ({ context }) => context.sendInitiate(),
    countAttempt: assign({ attempts: ({ context }) => context.attempts + 1 }),
    countAuthFailure: assign({ authFailures: ({ context }) => context.authFailures + 1 }),
  },
  delays: {
    retransmit: ({ context }) =>
      Math.min(context.initialRetransmitMs * 2 ** (context.attempts - 1), context.maxRetransmitMs),
    deadline: ({ context }) => context.timeoutMs,
  },
  guards: {
    sawAuthFailure: ({ context }) => context.authFailures > 0,
  },
}).createMachine({
  id: 'handshake-initiator',
  context: ({ input }) => ({ ...input, attempts: 0, authFailures: 0 }),
  initial: 'initiating',
  states: {
    initiating: {
      initial: 'sending',
      after: {
        deadline: [
          { guard: 'sawAuthFailure', target: 'authenticationFailed' },
          { target: 'timedOut' },
        ],
      },
      on: {
        ACCEPTED: 'established',
        REJECTED: 'rejected',
        AUTH_FAILURE: { actions: 'countAuthFailure' },
        COOKIE: { actions: 'sendInitiate' },
        CANCEL: 'cancelled',
      },
      states: {
        sending: {
          entry: ['countAttempt', 'sendInitiate'],
          after: { retransmit: { target: 'sending', reenter: true } },
        },
      },
    },
    established: { type: 'final' },
    timedOut: { type: 'final' },
    rejected: { type: 'final' },
    authenticationFailed: { type: 'final' },
    cancelled: { type: 'final' },
  },
});

/** Final states of {@link initiatorMachine} other than `established`. */
export type InitiatorFailure = 'timedOut' | 'rejected' | 'authenticationFailed' | 'cancelled';

export type ResponderEvent =
  /** The same INITIATE arrived again: its reply was lost. */
  | { type: 'INITIATE_AGAIN' }
  /** The channel authenticated a packet under the new keys: the initiator has them too. */
  | { type: 'CONFIRMED' }
  /** The host dropped the session. */
  | { type: 'CLOSE' };

/**
 * One responder session after it answered an INITIATE: half-open until the initiator proves it
 * holds the keys, re-sending its cached reply to retransmitted INITIATEs meanwhile; `expired` if
 * no proof comes in time, so that half-open state is bounded in time as well as in number.
 */
/** What the responder machine asks of the code that owns it. */
export interface ResponderInput {
  readonly halfOpenTimeoutMs: number;
  /** Sends the cached RESPONSE again. */
  readonly resendReply: () => void;
}

export const responderMachine = setup({
  types: {
    context: {} as ResponderInput,
    input: {} as ResponderInput,
    events: {} as ResponderEvent,
  },
  actions: {
    resendReply: ({ context }) => context.resendReply(),
  },
  delays: {
    halfOpenTimeout: ({ context }) => context.halfOpenTimeoutMs,
  },
}).createMachine({
  id: 'handshake-responder',
  context: ({ input }) => input,
  initial: 'halfOpen',
  states: {
    halfOpen: {
      on: {
        INITIATE_AGAIN: { actions: 'resendReply' },
        CONFIRMED: 'established',
        CLOSE: 'closed',
      },
      after: { halfOpenTimeout: 'expired' },
    },
    established: { type: 'final' },
    expired: { type: 'final' },
    closed: { type: 'final' },
  },
});
