/**
 * Typed errors of the net layer. Every error carries a stable `code` that callers can switch on;
 * messages are for people and may change.
 */
export class SssError extends Error {
  /** Stable, machine-readable identifier of the error kind. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A parameter given by the application is out of range or of the wrong kind. */
export class InvalidParameterError extends SssError {
  /** Dotted path of the offending parameter, e.g. `link.loss` or `preset`. */
  readonly parameter: string;

  constructor(parameter: string, message: string) {
    super('invalid-parameter', `${parameter}: ${message}`);
    this.parameter = parameter;
  }
}

/** A datagram is larger than UDP can carry to that address family. */
export class DatagramTooLargeError extends SssError {
  readonly size: number;
  readonly limit: number;

  constructor(size: number, limit: number) {
    super(
      'datagram-too-large',
      `datagram of ${size} bytes exceeds the UDP limit of ${limit} bytes`,
    );
    this.size = size;
    this.limit = limit;
  }
}

/** The socket was closed before the call. */
export class SocketClosedError extends SssError {
  constructor() {
    super('socket-closed', 'the socket is closed');
  }
}

/** Binding a socket failed; `reason` is the operating system's code, e.g. `EADDRINUSE`. */
export class SocketBindError extends SssError {
  readonly reason: string;
  readonly host: string;
  readonly port: number;

  constructor(host: string, port: number, reason: string, cause?: unknown) {
    super('bind-failed', `cannot bind UDP socket to ${host}:${port}: ${reason}`, { cause });
    this.reason = reason;
    this.host = host;
    this.port = port;
  }
}

/** `value` if it is a safe integer of zero or more; otherwise an {@link InvalidParameterError}. */
export function checkNonNegative(parameter: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidParameterError(parameter, `must be a non-negative integer, got ${value}`);
  }
  return value;
}

/** `value` if it is a finite number above zero; otherwise an {@link InvalidParameterError}. */
export function checkPositive(parameter: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new InvalidParameterError(parameter, `must be a positive number, got ${value}`);
  }
  return value;
}
