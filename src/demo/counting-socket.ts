import type { DatagramSocket, ReceiveHandler, SocketAddress } from '../net/datagram-socket.js';

/** Datagrams and bytes through one socket, each way. */
export interface DatagramCounts {
  readonly datagramsSent: number;
  readonly bytesSent: number;
  readonly datagramsReceived: number;
  readonly bytesReceived: number;
}

/**
 * A socket that counts what passes through it, around any {@link DatagramSocket}: the same
 * figures on real UDP and on the simulator, so the demo's two runs compare like for like.
 */
export class CountingSocket implements DatagramSocket {
  readonly #inner: DatagramSocket;
  readonly #counts = { datagramsSent: 0, bytesSent: 0, datagramsReceived: 0, bytesReceived: 0 };

  constructor(inner: DatagramSocket) {
    this.#inner = inner;
  }

  get localAddress(): SocketAddress {
    return this.#inner.localAddress;
  }

  get closed(): boolean {
    return this.#inner.closed;
  }

  /** The counts so far. */
  get counts(): DatagramCounts {
    return { ...this.#counts };
  }

  send(data: Uint8Array, to: SocketAddress): void {
    this.#inner.send(data, to);
    this.#counts.datagramsSent++;
    this.#counts.bytesSent += data.length;
  }

  onReceive(handler: ReceiveHandler | null): void {
    if (handler === null) return this.#inner.onReceive(null);
    this.#inner.onReceive((data, from) => {
      this.#counts.datagramsReceived++;
      this.#counts.bytesReceived += data.length;
      handler(data, from);
    });
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
