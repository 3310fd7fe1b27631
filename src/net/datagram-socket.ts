import { DatagramTooLargeError } from './errors.js';

/** Where a datagram comes from or goes to. `host` is an IPv4 or IPv6 literal. */
export interface SocketAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Called once per received datagram. The receiver owns `data`; `from` is the sender's address as
 * this socket sees it (after any NAT).
 */
export type ReceiveHandler = (data: Uint8Array, from: SocketAddress) => void;

/**
 * An unreliable datagram endpoint: the one interface through which core code touches a network.
 * Implemented over real UDP by `UdpSocket` and over the simulator by `SimSocket`.
 */
export interface DatagramSocket {
  /** The address this socket is bound to, as a peer on the same network would address it. */
  readonly localAddress: SocketAddress;
  /** True once {@link DatagramSocket.close} was called. */
  readonly closed: boolean;
  /**
   * Sends one datagram, best effort, as UDP does: delivery failures are never reported here.
   * The socket may keep a reference to `data` until it leaves, so do not modify it afterwards.
   * @throws DatagramTooLargeError if `data` exceeds what UDP carries to `to`'s address family.
   * @throws SocketClosedError after close.
   */
  send(data: Uint8Array, to: SocketAddress): void;
  /**
   * Optional. Present on a socket that hands each datagram to the system within `send` unless
   * its send buffer is full: true when nothing waits in its queue, so that every buffer given to
   * `send` is its caller's again. A sender may then seal one datagram after another into a
   * single buffer. Sockets without it may keep each buffer until its datagram leaves.
   */
  readonly sendQueueEmpty?: boolean;
  /** Sets the handler of incoming datagrams; `null` discards them. */
  onReceive(handler: ReceiveHandler | null): void;
  /**
   * Optional. Runs `task` once, after the socket has handed over every datagram it is delivering
   * now: a real UDP socket reads what the system holds in one go, and a receiver that answers
   * after the batch answers once (one ACK for many packets) instead of once per datagram.
   * Sockets without it deliver each datagram on its own, and receivers answer each at once.
   */
  afterDeliveries?(task: () => void): void;
  /** Releases the socket; idempotent. */
  close(): Promise<void>;
}

/** Largest UDP payload over IPv4: 65,535 minus the 20-byte IP and 8-byte UDP headers. */
export const MAX_UDP_PAYLOAD_IPV4 = 65507;
/** Largest UDP payload over IPv6 without jumbograms: 65,535 minus the 8-byte UDP header. */
export const MAX_UDP_PAYLOAD_IPV6 = 65527;

/** True for an IPv6 literal; IPv4 literals never contain a colon. */
export function isIpv6(host: string): boolean {
  return host.includes(':');
}

/** The largest datagram `send` accepts towards `host`. */
export function maxUdpPayload(host: string): number {
  return isIpv6(host) ? MAX_UDP_PAYLOAD_IPV6 : MAX_UDP_PAYLOAD_IPV4;
}

/** Throws the error `node:dgram` would for an oversize datagram, before anything is queued. */
export function checkDatagramSize(data: Uint8Array, to: SocketAddress): void {
  const limit = maxUdpPayload(to.host);
  if (data.length > limit) throw new DatagramTooLargeError(data.length, limit);
}

/** `host:port`, with IPv6 hosts in brackets (`[::1]:4433`). */
export function formatAddress(address: SocketAddress): string {
  return isIpv6(address.host)
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
