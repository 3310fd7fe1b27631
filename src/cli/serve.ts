/** The server side shared by `sss listen` and `sss receive`: announce, accept, handle, stop. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Host } from '../host.js';
import type { Stream } from '../streams/stream.js';
import { Abort, abortOnSignals } from './abort.js';
import { InterruptedError } from './errors.js';
import { formatPeerAddress } from './peer-address.js';
import { PeerWatch } from './peer-watch.js';
import { StreamIo } from './stream-io.js';

/**
 * Handles one incoming stream; resolves when it is done, rejects when it failed (the stream is
 * then reset). Called in the turn the stream arrives, so it may still `listen` for substreams.
 */
export type StreamHandler = (io: StreamIo, watch: PeerWatch) => Promise<void>;

export interface ServeOptions {
  readonly host: Host;
  readonly service: string;
  readonly protocol: string;
  readonly timeoutMs: number;
  /** Serve the first stream only (later ones find no service), and return with its outcome. */
  readonly once: boolean;
  readonly handle: StreamHandler;
}

/** How long streams under way get to clean up (remove partial files) after an interrupt, ms. */
const CLEANUP_MS = 5000;

/** Prints where peers reach the host: `EID@HOST:PORT`, or one JSON object. */
export function announce(
  host: Host,
  options: { readonly json: boolean; readonly service: string; readonly protocol: string },
): void {
  const address = host.addresses[0];
  if (address === undefined) throw new Error('the host has no socket');
  const text = formatPeerAddress(host.eid, address);
  if (!options.json) return console.log(text);
  const { service, protocol } = options;
  console.log(
    JSON.stringify({ address: text, eid: host.eid.toString(), ...address, service, protocol }),
  );
}

/**
 * Serves (service, protocol) until interrupted, or with `once` until the first stream is done.
 * Exit code: with `once`, 0 if the stream succeeded and 1 if it failed; when interrupted, 1 if
 * streams were under way (they are reset, their partial files removed), 0 otherwise.
 */
export async function serve(options: ServeOptions): Promise<number> {
  const server = options.host.listen(options.service, '', options.protocol, '');
  const abort = new Abort();
  const stopSignals = abortOnSignals(abort);
  const active = new Map<number, { io: StreamIo; done: Promise<boolean> }>();
  let count = 0;
  // Without `once` it never settles: only an interrupt ends the wait.
  let firstDone: (ok: boolean) => void = () => undefined;
  const first = new Promise<boolean>((resolve) => (firstDone = resolve));
  const subscription = server.newConnection$.subscribe((stream) => {
    const id = ++count;
    const handled = handleStream(stream, id, options, () => active.delete(id));
    active.set(id, handled);
    if (options.once) {
      server.close();
      void handled.done.then(firstDone);
    }
  });
  try {
    return (await abort.race(first)) ? 0 : 1;
  } catch (error) {
    if (!(error instanceof InterruptedError)) throw error;
    console.error(`sss: ${error.message}`);
    const busy = [...active.values()];
    for (const { io } of busy) io.fail(error);
    const cleanup = Promise.allSettled(busy.map(({ done }) => done));
    await Promise.race([cleanup, sleep(CLEANUP_MS, undefined, { ref: false })]);
    return busy.length > 0 ? 1 : 0;
  } finally {
    stopSignals();
    subscription.unsubscribe();
    server.close();
  }
}

function handleStream(
  stream: Stream,
  id: number,
  options: ServeOptions,
  forget: () => void,
): { io: StreamIo; done: Promise<boolean> } {
  const io = new StreamIo(stream);
  const watch = new PeerWatch(stream.linkState$, {
    timeoutMs: options.timeoutMs,
    onTimeout: (error) => io.fail(error),
  });
  console.error(`sss: stream ${id} opened`);
  const done = options.handle(io, watch).then(
    () => {
      console.error(`sss: stream ${id} ended`);
      return true;
    },
    (error: Error) => {
      stream.reset();
      console.error(`sss: stream ${id} failed: ${error.message}`);
      return false;
    },
  );
  void done.finally(() => {
    watch.dispose();
    io.dispose();
    forget();
  });
  return { io, done };
}
