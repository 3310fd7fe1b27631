import { SssError } from '../net/errors.js';

/** The application used a direction of a stream it had closed. */
export class StreamClosedError extends SssError {
  constructor(what: 'write' | 'read') {
    super('stream-closed', `cannot ${what}: that direction of the stream is closed`);
  }
}

/** A stream was reset; `unacknowledged` bytes of ours never reached the peer's application. */
export class StreamResetError extends SssError {
  readonly errorCode: number;
  readonly by: 'local' | 'peer';
  /** Bytes we wrote that the peer never acknowledged: "returned to sender". */
  readonly unacknowledged: number;

  constructor(errorCode: number, by: 'local' | 'peer', unacknowledged: number) {
    super(
      'stream-reset',
      `the stream was reset by the ${by === 'local' ? 'application' : 'peer'} (code ${errorCode}); ${unacknowledged} bytes written were not acknowledged`,
    );
    this.errorCode = errorCode;
    this.by = by;
    this.unacknowledged = unacknowledged;
  }
}

/** Nobody at the peer serves the (service, protocol) a stream asked for. */
export class ServiceNotFoundError extends SssError {
  readonly service: string;
  readonly protocol: string;

  constructor(service: string, protocol: string) {
    super('service-not-found', `the peer does not serve ${service} over ${protocol}`);
    this.service = service;
    this.protocol = protocol;
  }
}
