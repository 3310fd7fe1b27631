import type { SocketAddress } from '../../../src/net/datagram-socket.js';
import type { SimSocket } from '../../../src/net/sim/sim-host.js';

/** What a socket received, in order, with virtual arrival times. */
export interface Received {
  readonly at: number;
  readonly data: Uint8Array;
  readonly from: SocketAddress;
}

/** Records every datagram `socket` receives. */
export function collect(socket: SimSocket, now: () => number): Received[] {
  const received: Received[] = [];
  socket.onReceive((data, from) => received.push({ at: now(), data, from }));
  return received;
}

/** A datagram whose first four bytes are `sequence`, big-endian. */
export function numbered(sequence: number, size = 100): Uint8Array {
  const data = new Uint8Array(size);
  new DataView(data.buffer).setUint32(0, sequence);
  return data;
}

/** The sequence number written by {@link numbered}. */
export function sequenceOf(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
}
