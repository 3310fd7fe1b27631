import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import {
  checkDatagramSize,
  type DatagramSocket,
  type ReceiveHandler,
  type SocketAddress,
} from './datagram-socket.js';
import { InvalidParameterError, SocketBindError, SocketClosedError } from './errors.js';

/** How {@link UdpSocket.bind} binds. */
export interface UdpBindOptions {
  /** IPv4 or IPv6 literal to bind; `0.0.0.0` or `::` for every interface. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port to bind; 0 (the default) lets the operating system choose. */
  readonly port?: number;
  /**
   * Requested kernel receive buffer (SO_RCVBUF) in bytes. Linux doubles the request for its own
   * bookkeeping and caps it at `net.core.rmem_max`; read {@link UdpSocket.recvBufferSize} for the
   * size actually granted.
   */
  readonly recvBufferSize?: number;
  /** Requested kernel send buffer (SO_SNDBUF) in bytes, granted as for `recvBufferSize`. */
  readonly sendBufferSize?: number;
  /** For an IPv6 `host` of `::`: refuse IPv4-mapped traffic (IPV6_V6ONLY). Default false. */
  readonly ipv6Only?: boolean;
}

/** Counters of one socket; read them with {@link UdpSocket.stats}. */
export interface UdpSocketStats {
  datagramsSent: number;
  bytesSent: number;
  /** Sends the operating system refused after `send` returned (e.g. ENOBUFS, EHOSTUNREACH). */
  sendErrors: number;
  datagramsReceived: number;
  bytesReceived: number;
  /** Asynchronous socket errors that `node:dgram` reported outside any send. */
  socketErrors: number;
}

const MAX_BUFFER_SIZE = 0x7fffffff;

/**
 * A {@link DatagramSocket} over a real UDP socket of `node:dgram`.
 *
 * Errors on the send path are counted, never thrown asynchronously: UDP is best effort, and the
 * transport above learns of loss from missing acknowledgements, not from the socket.
 */
export class UdpSocket implements DatagramSocket {
  /** The bound address; port 0 in the request is replaced by the port the system chose. */
  readonly localAddress: SocketAddress;
  /** The last asynchronous error the socket reported, kept for diagnostics. */
  lastError: Error | undefined;
  readonly #socket: Socket;
  readonly #ipv6: boolean;
  readonly #stats: UdpSocketStats = {
    datagramsSent: 0,
    bytesSent: 0,
    sendErrors: 0,
    datagramsReceived: 0,
    bytesReceived: 0,
    socketErrors: 0,
  };
  #handler: ReceiveHandler | null = null;
  #closing: Promise<void> | undefined;

  /**
   * Binds a new UDP socket.
   * @throws InvalidParameterError for a host that is not an IP literal, a port outside 0–65535 or
   * a buffer size that is not a positive integer.
   * @throws SocketBindError when the operating system refuses the address (`reason` holds its
   * code, such as `EADDRINUSE` or `EADDRNOTAVAIL`).
   */
  static async bind(options: UdpBindOptions = {}): Promise<UdpSocket> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 0;
    const family = isIP(host);
    if (family === 0) throw new InvalidParameterError('host', `not an IP literal: ${host}`);
    checkPort('port', port, 0);
    checkBufferSize('recvBufferSize', options.recvBufferSize);
    checkBufferSize('sendBufferSize', options.sendBufferSize);
    const socket = createSocket({
      type: family === 6 ? 'udp6' : 'udp4',
      ipv6Only: options.ipv6Only ?? false,
      recvBufferSize: options.recvBufferSize,
      sendBufferSize: options.sendBufferSize,
      lookup: literalLookup,
    });
    await listen(socket, host, port);
    return new UdpSocket(socket, family === 6);
  }

  #afterDeliveries: (() => void)[] = [];

  private constructor(socket: Socket, ipv6: boolean) {
    this.#socket = socket;
    this.#ipv6 = ipv6;
    const bound = socket.address();
    this.localAddress = { host: bound.address, port: bound.port };
    socket.on('message', this.#receive);
    socket.on('error', this.#socketError);
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Kernel receive buffer size in bytes, as granted (see {@link UdpBindOptions.recvBufferSize}). */
  get recvBufferSize(): number {
    return this.#socket.getRecvBufferSize();
  }

  /** Kernel send buffer size in bytes, as granted. */
  get sendBufferSize(): number {
    return this.#socket.getSendBufferSize();
  }

  /**
   * True when every datagram given to {@link UdpSocket.send} has gone to the system, so that the
   * buffers they came in are the callers' again: `send` hands a datagram over within the call
   * unless the system's send buffer is full, and then it waits in the socket's queue, which holds
   * on to its buffer until it leaves.
   */
  get sendQueueEmpty(): boolean {
    // A closed socket sends nothing more and holds no buffer (and node:dgram would throw).
    if (this.#closing !== undefined) return true;
    return this.#socket.getSendQueueCount() === 0;
  }

  /** A snapshot of the socket's counters. */
  get stats(): Readonly<UdpSocketStats> {
    return { ...this.#stats };
  }

  /**
   * @throws InvalidParameterError if `to` is not an IP literal of a family this socket can reach,
   * or its port is not 1–65535.
   * @throws DatagramTooLargeError, SocketClosedError as {@link DatagramSocket.send} says.
   */
  send(data: Uint8Array, to: SocketAddress): void {
    if (this.#closing) throw new SocketClosedError();
    const family = isIP(to.host);
    // A hostname would make node:dgram do a DNS lookup on every send; an IPv4 socket cannot
    // reach an IPv6 peer at all.
    if (family === 0 || (family === 6 && !this.#ipv6)) {
      throw new InvalidParameterError('to.host', `not a reachable IP literal: ${to.host}`);
    }
    checkPort('to.port', to.port, 1);
    checkDatagramSize(data, to);
    this.#socket.send(data, to.port, to.host, this.#sent);
    this.#stats.datagramsSent++;
    this.#stats.bytesSent += data.length;
  }

  onReceive(handler: ReceiveHandler | null): void {
    this.#handler = handler;
  }

  close(): Promise<void> {
    this.#closing ??= new Promise((resolve) => {
      this.#handler = null;
      this.#socket.close(() => resolve());
    });
    return this.#closing;
  }

  // One callback shared by every send, so the hot path allocates no closure.
  readonly #sent = (error: Error | null): void => {
    if (error) {
      this.#stats.sendErrors++;
      this.lastError = error;
    }
  };

  /**
   * Runs the tasks queued by {@link UdpSocket.afterDeliveries} once libuv's read loop is done:
   * it reads up to 32 datagrams per readiness event, emitting each, and immediates run after it.
   */
  afterDeliveries(task: () => void): void {
    if (this.#afterDeliveries.length === 0) setImmediate(this.#runAfterDeliveries);
    this.#afterDeliveries.push(task);
  }

  readonly #runAfterDeliveries = (): void => {
    const tasks = this.#afterDeliveries;
    this.#afterDeliveries = [];
    for (const task of tasks) task();
  };

  readonly #receive = (message: Buffer, from: RemoteInfo): void => {
    this.#stats.datagramsReceived++;
    this.#stats.bytesReceived += message.length;
    this.#handler?.(message, { host: from.address, port: from.port });
  };

  readonly #socketError = (error: Error): void => {
    this.#stats.socketErrors++;
    this.lastError = error;
  };
}

/**
 * The socket's address lookup. Every address it sees is an IP literal (`bind` and `send` check),
 * which needs no lookup; node:dgram's default, `dns.lookup`, answers one only on the next tick,
 * deferring every send. Answered at once, a datagram is handed to the kernel within `send`.
 */
function literalLookup(
  address: string,
  _options: unknown,
  callback: (error: null, address: string, family: number) => void,
): void {
  callback(null, address, isIP(address));
}

function listen(socket: Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => {
      socket.close();
      reject(new SocketBindError(host, port, error.code ?? error.message, error));
    };
    socket.once('error', fail);
    // `exclusive` keeps cluster workers from silently sharing the port, so a port in use is an
    // error here as it is for any other process.
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', fail);
      resolve();
    });
  });
}

function checkPort(parameter: string, port: number, min: number): void {
  if (!Number.isInteger(port) || port < min || port > 65535) {
    throw new InvalidParameterError(parameter, `must be an integer in ${min}–65535, got ${port}`);
  }
}

function checkBufferSize(parameter: string, size: number | undefined): void {
  if (size === undefined) return;
  if (!Number.isInteger(size) || size <= 0 || size > MAX_BUFFER_SIZE) {
    throw new InvalidParameterError(parameter, `must be a positive integer, got ${size}`);
  }
}
