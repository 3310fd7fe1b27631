/**
 * A {@link Stream} as WHATWG streams (global in Node.js and browsers), pull-based so that the
 * consumer's pace reaches the peer through the receive window, and the peer's through
 * acknowledgements.
 */
import { Subscription } from 'rxjs';
import { checkPositive } from '../net/errors.js';
import { StreamClosedError, StreamResetError } from './errors.js';
import type { Stream } from './stream.js';
import { INITIAL_STREAM_WINDOW } from './stream-session.js';

/**
 * Bytes a {@link toReadableStream} queues ahead of its reader by default. It is small: the
 * stream's receive window already holds a window's worth ahead of the application.
 */
export const DEFAULT_READABLE_HIGH_WATER_MARK = 16 * 1024;

/**
 * Unacknowledged bytes at or above which a write waits, by default, in {@link toWritableStream}
 * and the Node.js duplex: two windows, so that a full window is in flight while the next one is
 * already queued behind it.
 */
export const DEFAULT_SEND_HIGH_WATER_MARK = 2 * INITIAL_STREAM_WINDOW;

/** Options of {@link toReadableStream}. */
export interface ToReadableStreamOptions {
  /** Bytes queued in the `ReadableStream` ahead of its reader. Default 16 KiB. */
  readonly highWaterMark?: number;
}

/** Options of {@link toWritableStream}. */
export interface ToWritableStreamOptions {
  /**
   * Bytes written and not yet acknowledged ({@link Stream.bytesToWrite}) at or above which a
   * write's promise settles only once acknowledgements bring them below again. Default
   * {@link DEFAULT_SEND_HIGH_WATER_MARK}.
   */
  readonly sendHighWaterMark?: number;
}

/**
 * The bytes the peer sends on `stream`, as a `ReadableStream`.
 *
 * It reads from the stream only while its queue is below `highWaterMark`, in chunks of at most
 * what the queue wants: unread data stays in the stream's receive buffer, whose window closes
 * and blocks the peer. It closes at {@link Stream.atEnd}.
 *
 * It errors with the stream's typed error from {@link Stream.error$} (a reset by the peer, a
 * service that is not served, a channel that cannot be made), or with {@link StreamClosedError}
 * if the stream is collected before its end was read (closed or reset directly on the
 * {@link Stream}). A local reset of the sending direction, as the peer's `STOP` causes, does not
 * touch it: the peer may still be sending.
 *
 * `cancel()` closes reading ({@link Stream.shutdownRead}): the peer is told to stop sending;
 * writing on the stream goes on. Subscriptions to the stream end when the readable closes, errors or is cancelled.
 */
export function toReadableStream(
  stream: Stream,
  options: ToReadableStreamOptions = {},
): ReadableStream<Uint8Array> {
  const highWaterMark = checkPositive(
    'highWaterMark',
    options.highWaterMark ?? DEFAULT_READABLE_HIGH_WATER_MARK,
  );
  const subscription = new Subscription();
  let filling = false;

  const fill = (controller: ReadableStreamDefaultController<Uint8Array>): void => {
    // enqueue() calls pull() back synchronously; the loop below already reads on.
    if (filling || subscription.closed) return;
    filling = true;
    try {
      for (let want = controller.desiredSize ?? 0; want > 0 && !stream.atEnd;) {
        const chunk = stream.readData(Math.ceil(want));
        if (chunk.length === 0) break;
        controller.enqueue(chunk);
        want = controller.desiredSize ?? 0;
      }
      if (stream.atEnd) {
        subscription.unsubscribe();
        controller.close();
      }
    } catch (error) {
      subscription.unsubscribe();
      controller.error(error);
    } finally {
      filling = false;
    }
  };

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const fail = (error: Error): void => {
          subscription.unsubscribe();
          controller.error(error);
        };
        subscription.add(
          stream.readyRead$.subscribe({
            next: () => fill(controller),
            // Collected before its end was read: reading was closed or reset under us.
            complete: () => {
              if (!stream.atEnd) fail(new StreamClosedError('read'));
            },
          }),
        );
        subscription.add(stream.error$.subscribe(fail));
      },
      pull(controller) {
        fill(controller);
      },
      cancel() {
        subscription.unsubscribe();
        stream.shutdownRead();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark }),
  );
}

/**
 * A `WritableStream` whose chunks are written to `stream`.
 *
 * Each chunk goes to {@link Stream.writeData} at once; the write's promise settles at once while
 * {@link Stream.bytesToWrite} is below `sendHighWaterMark`, and otherwise when the peer's
 * acknowledgements bring it below, so `writer.ready` and `pipeTo` follow the peer's pace.
 * `close()` half-closes with {@link Stream.shutdownWrite} and resolves at once: the stream goes
 * on delivering what is unacknowledged (watch {@link Stream.bytesWritten$} to know it arrived).
 *
 * `abort()` resets the stream, at once even while a write waits for acknowledgements. The
 * writable errors with the stream's typed error from {@link Stream.error$}, or with
 * {@link StreamResetError} when the sending direction is reset locally (the peer's `STOP`, or a
 * reset directly on the {@link Stream}). Subscriptions end when the writable closes, errors or is
 * aborted.
 */
export function toWritableStream(
  stream: Stream,
  options: ToWritableStreamOptions = {},
): WritableStream<Uint8Array> {
  const sendHighWaterMark = checkPositive(
    'sendHighWaterMark',
    options.sendHighWaterMark ?? DEFAULT_SEND_HIGH_WATER_MARK,
  );
  const subscription = new Subscription();
  let waiting: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  const settle = (error?: unknown): void => {
    const write = waiting;
    waiting = undefined;
    if (error === undefined) write?.resolve();
    else write?.reject(error);
  };

  return new WritableStream<Uint8Array>({
    start(controller) {
      const fail = (error: Error): void => {
        subscription.unsubscribe();
        controller.error(error);
        // The stream stays erroring until an in-flight write settles: settle it now.
        settle(error);
      };
      // The signal fires as soon as abort() is called; the sink's abort() would wait for a write
      // blocked on a peer that does not read, maybe for ever.
      const onAbort = (): void => {
        subscription.unsubscribe();
        stream.reset();
        settle(controller.signal.reason);
      };
      controller.signal.addEventListener('abort', onAbort);
      subscription.add(() => controller.signal.removeEventListener('abort', onAbort));
      subscription.add(stream.error$.subscribe(fail));
      subscription.add(
        stream.reset$.subscribe((reset) => {
          // A reset by the peer is followed by its typed error on error$.
          if (reset.by === 'local') {
            fail(new StreamResetError(reset.errorCode, reset.by, reset.unacknowledged));
          }
        }),
      );
      // Only acknowledgements lower bytesToWrite.
      subscription.add(
        stream.bytesWritten$.subscribe(() => {
          if (stream.bytesToWrite < sendHighWaterMark) settle();
        }),
      );
    },
    write(chunk) {
      try {
        stream.writeData(chunk);
      } catch (error) {
        // A failed write errors the writable without calling any sink method: release here.
        subscription.unsubscribe();
        throw error;
      }
      if (stream.bytesToWrite < sendHighWaterMark) return;
      return new Promise<void>((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    close() {
      subscription.unsubscribe();
      stream.shutdownWrite();
    },
  });
}
