/**
 * A five-minute tour of the API: hosts and services, streams of bytes and records, substreams,
 * priorities, datagrams, flow control, resets, and the signals as RxJS observables.
 */
import { firstValueFrom, type Observable } from 'rxjs';
import { Host, ServiceNotFoundError, type Stream, type StreamReset } from '../src/index.js';

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/**
 * What `read` returns once it returns something: signals say that something *became* ready,
 * so look first, then wait for the next signal, and look again.
 */
async function next<T>(read: () => T | undefined, signal$: Observable<unknown>): Promise<T> {
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    await firstValueFrom(signal$);
  }
}

export async function tour(): Promise<string[]> {
  const log: string[] = [];

  // 1. A host is an identity (its EID is its public key) on one or more UDP sockets.
  const server = await Host.create({ bind: [{ host: '127.0.0.1', port: 0 }] });
  const client = await Host.create({});
  log.push(`server ${server.eid} at ${server.addresses[0]?.host}`);

  // 2. Services are named, and each may be served under several protocols.
  const service = server.listen('tour', 'a guided tour', 'v1', 'records, substreams, datagrams');

  // 3. connect() returns the stream at once; writes wait for the channel. Signals are observables.
  const stream = client.connect(server.eid, 'tour', 'v1', { endpoints: server.addresses });
  stream.linkState$.subscribe((state) => log.push(`link ${state}`)); // up, stalled, down
  stream.writeData(encode('bytes, '));
  stream.writeRecord(encode('then the end of a record')); // what writeData wrote is its head
  // Connections queue for accept() while nobody subscribes to newConnection$.
  const peer = service.accept() ?? (await firstValueFrom(service.newConnection$));
  log.push(`record: ${decode(await next(() => peer.readRecord(), peer.readyReadRecord$))}`);

  // 4. Substreams open with no round trip; priorities are strict between levels.
  peer.listen('accept');
  const urgent = stream.openSubstream();
  urgent.setPriority(1);
  urgent.writeRecord(encode('urgent'));
  const child: Stream = peer.acceptSubstream() ?? (await firstValueFrom(peer.substreams$));
  log.push(`substream: ${decode(await next(() => child.readRecord(), child.readyReadRecord$))}`);

  // 5. Datagrams of any size: best effort (whole or not at all), or reliable (a substream).
  stream.writeDatagram(new Uint8Array(5000));
  const datagram = await next(() => peer.readDatagram(), peer.readyReadDatagram$);
  log.push(`datagram: ${datagram.length} bytes`);

  // 6. Flow control: the reader's buffer bounds what the writer may send ahead.
  peer.setReceiveBuffer(64 * 1024);
  const blocked = firstValueFrom(peer.receiveBlocked$);
  stream.writeData(new Uint8Array(200_000));
  await blocked;
  log.push(`window full: ${peer.bytesAvailable} bytes wait to be read, the writer waits`);
  let read = 0;
  while (read < 200_000) {
    read += peer.readData().length;
    if (read < 200_000) await firstValueFrom(peer.readyRead$);
  }

  // 7. Reset abandons a stream (applications use codes from 0x100 up); the peer is told why.
  const resets: StreamReset[] = [];
  child.reset$.subscribe((reset) => resets.push(reset));
  urgent.writeData(new Uint8Array(1000));
  urgent.reset(0x100);
  await firstValueFrom(child.error$).catch(() => undefined);
  log.push(`reset by the ${resets[0]?.by} with code ${resets[0]?.errorCode}`);

  // 8. Errors are typed: a service nobody serves ends the stream promptly.
  const nowhere = client.connect(server.eid, 'tour', 'v2', { endpoints: server.addresses });
  const error = await firstValueFrom(nowhere.error$);
  log.push(`${error instanceof ServiceNotFoundError ? 'service-not-found' : error.name}`);

  stream.close();
  await Promise.all([client.close(), server.close()]);
  return log;
}
