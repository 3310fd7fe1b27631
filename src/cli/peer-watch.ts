/**
 * The `--timeout` of the network commands: a peer is given up on when the link to it has not
 * been up for that long (it never answered, or stopped answering), and, while a transfer is
 * under way, when no byte has moved for that long.
 */
import type { Observable, Subscription } from 'rxjs';
import type { LinkState } from '../channel/channel-core.js';
import { PeerTimeoutError } from './errors.js';

export interface PeerWatchOptions {
  readonly timeoutMs: number;
  /** Told of each link state, the current one first. */
  readonly onLinkState?: (state: LinkState) => void;
  /** Called once, when the peer is given up on. */
  readonly onTimeout: (error: PeerTimeoutError) => void;
}

export class PeerWatch {
  readonly #options: PeerWatchOptions;
  readonly #subscription: Subscription;
  #linkTimer: ReturnType<typeof setTimeout> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #watchingProgress = false;
  #state: LinkState = 'down';
  #done = false;

  constructor(linkState$: Observable<LinkState>, options: PeerWatchOptions) {
    this.#options = options;
    this.#subscription = linkState$.subscribe((state) => this.#onLink(state));
  }

  /** The link state last seen. */
  get linkState(): LinkState {
    return this.#state;
  }

  /** From now on, also give up when {@link PeerWatch.progress} is not called for the timeout. */
  watchProgress(): void {
    this.#watchingProgress = true;
    this.progress();
  }

  /** Something moved: bytes arrived or were acknowledged. */
  progress(): void {
    if (!this.#watchingProgress || this.#done) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(
      () => this.#giveUp('the transfer made no progress'),
      this.#options.timeoutMs,
    );
  }

  /** Stops watching; no timeout is reported afterwards. */
  dispose(): void {
    this.#done = true;
    this.#subscription.unsubscribe();
    clearTimeout(this.#linkTimer);
    clearTimeout(this.#idleTimer);
  }

  #onLink(state: LinkState): void {
    if (this.#done) return;
    this.#state = state;
    this.#options.onLinkState?.(state);
    if (state === 'up') {
      clearTimeout(this.#linkTimer);
      this.#linkTimer = undefined;
    } else {
      // Measured from when the link stopped being up, across stalled and down alike.
      this.#linkTimer ??= setTimeout(
        () => this.#giveUp(`no working link to the peer (link ${this.#state})`),
        this.#options.timeoutMs,
      );
    }
  }

  #giveUp(why: string): void {
    if (this.#done) return;
    const error = new PeerTimeoutError(this.#options.timeoutMs, why);
    this.dispose();
    this.#options.onTimeout(error);
  }
}
