/**
 * A {@link Stream} as a Node.js `Duplex`, with backpressure carried through in both directions:
 * a consumer that stops reading leaves the peer's data in the stream's receive buffer, so the
 * receive window closes and the peer waits; a producer that outruns the peer waits for
 * acknowledgements before its writes are called back.
 */
import { Duplex, type DuplexOptions } from 'node:stream';
import { Subscription } from 'rxjs';
import { checkPositive } from '../net/errors.js';
import { StreamClosedError, StreamResetError } from './errors.js';
import type { Stream } from './stream.js';
import { DEFAULT_SEND_HIGH_WATER_MARK } from './web-streams.js';

/** Options of {@link toDuplex}. */
export interface ToDuplexOptions extends Pick<
  DuplexOptions,
  'allowHalfOpen' | 'readableHighWaterMark' | 'writableHighWaterMark'
> {
  /**
   * Bytes written and not yet acknowledged ({@link Stream.bytesToWrite}) at or above which a
   * write is called back only once acknowledgements bring them below again. Default
   * {@link DEFAULT_SEND_HIGH_WATER_MARK}.
   */
  readonly sendHighWaterMark?: number;
}

/**
 * Wraps `stream` in a Node.js `Duplex`.
 *
 * **Reading** pulls {@link Stream.readData} only while the duplex wants data (`push` returns
 * true), in chunks of at most `readableHighWaterMark` bytes. Unread data stays in the stream's
 * receive buffer, whose window then closes and blocks the peer: at most the window plus the
 * duplex's own buffer is ever held. The readable side ends at {@link Stream.atEnd}.
 *
 * **Writing** hands each chunk to {@link Stream.writeData} at once and calls back while
 * {@link Stream.bytesToWrite} is below `sendHighWaterMark`; otherwise it calls back when the
 * peer's acknowledgements bring it below. `end()` half-closes with {@link Stream.shutdownWrite}
 * and `finish` follows at once, as on a TCP socket: it means every byte is handed to the stream,
 * which goes on delivering it, not that the peer has it (watch {@link Stream.bytesWritten$} for
 * that). Waiting for acknowledgement instead would hold `finish` hostage to a peer that is slow
 * to read.
 *
 * **Errors.** A typed error on {@link Stream.error$} (a reset by the peer, a service that is not
 * served, a channel that cannot be made) destroys the duplex with that error. A local reset of
 * the sending direction (the peer asked us to stop, as with `STOP`) fails the pending and later
 * writes with {@link StreamResetError}, which destroys the duplex like `EPIPE` on a socket; until
 * then reading goes on, since the peer may still be sending. If the stream is collected before
 * its end was read (closed or reset directly on the {@link Stream}), the duplex is destroyed with
 * {@link StreamClosedError}.
 *
 * **Destroying** the duplex before both directions have ended cleanly resets the stream: the
 * application abandons it. After a clean end (`end` and `finish` both emitted, when `autoDestroy`
 * destroys it) the stream is left to deliver what is still unacknowledged. Either way every
 * subscription to the stream is released then; without a destroy, they end when the stream is
 * collected.
 */
export function toDuplex(stream: Stream, options: ToDuplexOptions = {}): Duplex {
  const { sendHighWaterMark = DEFAULT_SEND_HIGH_WATER_MARK, ...duplexOptions } = options;
  checkPositive('sendHighWaterMark', sendHighWaterMark);
  const subscription = new Subscription();
  // Node asked for data (`_read`) and `push` has not refused any since.
  let wanted = false;
  let ended = false;
  let pendingWrite: ((error?: Error | null) => void) | undefined;

  const pull = (): void => {
    // push() runs 'data' handlers at once, and one may destroy the duplex.
    while (wanted && !ended && !duplex.destroyed) {
      if (stream.atEnd) {
        ended = true;
        duplex.push(null);
        return;
      }
      let chunk: Uint8Array;
      try {
        chunk = stream.readData(duplex.readableHighWaterMark);
      } catch (error) {
        duplex.destroy(error as Error);
        return;
      }
      if (chunk.length === 0) return;
      wanted = duplex.push(chunk);
    }
  };

  const settleWrite = (error?: Error): void => {
    const callback = pendingWrite;
    pendingWrite = undefined;
    callback?.(error);
  };

  const duplex = new Duplex({
    ...duplexOptions,
    read() {
      wanted = true;
      pull();
    },
    write(chunk: Uint8Array, _encoding, callback) {
      try {
        stream.writeData(chunk);
      } catch (error) {
        callback(error as Error);
        return;
      }
      if (stream.bytesToWrite < sendHighWaterMark) callback();
      else pendingWrite = callback;
    },
    final(callback) {
      stream.shutdownWrite();
      callback();
    },
    destroy(error, callback) {
      // Unsubscribed first: our own reset below must not come back to us as a reset$ event.
      subscription.unsubscribe();
      pendingWrite = undefined;
      if (error !== null || !(duplex.readableEnded && duplex.writableFinished)) stream.reset();
      callback(error);
    },
  });

  subscription.add(
    stream.readyRead$.subscribe({
      next: pull,
      // The stream completes its observables when collected; before its end was read, that
      // means reading was closed or reset under us, and no more data will come.
      complete: () => {
        if (!stream.atEnd) duplex.destroy(new StreamClosedError('read'));
      },
    }),
  );
  subscription.add(stream.error$.subscribe((error) => duplex.destroy(error)));
  subscription.add(
    stream.reset$.subscribe((reset) => {
      // A reset by the peer is followed by its typed error on error$, which destroys the duplex.
      if (reset.by === 'local') {
        settleWrite(new StreamResetError(reset.errorCode, reset.by, reset.unacknowledged));
      }
    }),
  );
  // Only acknowledgements lower bytesToWrite; readyWrite$ marks just one of them (the send
  // buffer's own high-water mark), so bytesWritten$ alone says when a write may be called back.
  subscription.add(
    stream.bytesWritten$.subscribe(() => {
      if (stream.bytesToWrite < sendHighWaterMark) settleWrite();
    }),
  );
  return duplex;
}
