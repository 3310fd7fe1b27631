/** Ending a command early: on a timeout or a signal, whatever its main flow is waiting on. */
import { InterruptedError } from './errors.js';

/** A failure that a command's main wait races against. */
export class Abort {
  /** Rejects with the first failure given; never settles otherwise. */
  readonly promise: Promise<never>;
  #reject: (error: Error) => void = () => undefined;
  #error: Error | undefined;

  constructor() {
    this.promise = new Promise<never>((_, reject) => {
      this.#reject = reject;
    });
    // Nobody may be racing against it when it fails; that is not an unhandled rejection.
    this.promise.catch(() => undefined);
  }

  /** The failure, once there is one. */
  get error(): Error | undefined {
    return this.#error;
  }

  fail(error: Error): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    this.#reject(error);
  }

  /** `work`, unless the abort comes first. */
  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.promise]);
  }
}

/** Exit code after a second interrupt: 128 + SIGINT, as shells report it. */
const FORCED_EXIT_CODE = 130;

/**
 * Fails `abort` with an {@link InterruptedError} at the first SIGINT or SIGTERM, so the command
 * cleans up (resets its streams, removes partial files) and tells its peer; a second signal
 * exits at once. Returns the function that stops listening.
 */
export function abortOnSignals(abort: Abort): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.error !== undefined) process.exit(FORCED_EXIT_CODE);
    abort.fail(new InterruptedError(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
