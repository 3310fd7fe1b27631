/**
 * Peer addresses as people type them: `EID@HOST:PORT`, with IPv6 hosts in brackets
 * (`EID@[::1]:4433`), and bind addresses `HOST:PORT`.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Eid, InvalidEidError } from '../crypto/eid.js';
import { formatAddress, type SocketAddress } from '../net/datagram-socket.js';
import { UsageError } from './args.js';

/** A peer to connect to: its identity and where it listens (a host name until resolved). */
export interface PeerAddress {
  readonly eid: Eid;
  readonly address: SocketAddress;
}

/** A DNS name: labels of letters, digits and hyphens, separated by dots. */
const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/**
 * Parses `EID@HOST:PORT`. @throws UsageError naming what is wrong: no `@`, an invalid EID (with
 * {@link Eid.parse}'s reason), a bad host or port. The port must not be 0.
 */
export function parsePeerAddress(text: string): PeerAddress {
  const at = text.indexOf('@');
  if (at < 0) throw new UsageError(`'${text}' is not a peer address: expected EID@HOST:PORT`);
  let eid: Eid;
  try {
    eid = Eid.parse(text.slice(0, at));
  } catch (error) {
    if (error instanceof InvalidEidError) throw new UsageError(`peer ${error.message}`);
    throw error;
  }
  const address = parseHostPort(text.slice(at + 1), 'peer address');
  if (address.port === 0) throw new UsageError(`peer address '${text}': port 0 cannot be dialled`);
  return { eid, address };
}

/**
 * Parses `HOST:PORT` or `[IPV6]:PORT`, port 0 to 65535. `what` names the argument in errors.
 * @throws UsageError for anything else, an IPv6 address without brackets included.
 */
export function parseHostPort(text: string, what: string): SocketAddress {
  const bad = (why: string) => new UsageError(`${what} '${text}': ${why}`);
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw bad('expected [IPV6]:PORT');
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) throw bad(`'${host}' is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw bad('expected HOST:PORT');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw bad('put an IPv6 address in brackets, as [::1]:4433');
    if (isIP(host) === 0 && !HOST_NAME.test(host)) throw bad(`'${host}' is not a host`);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw bad(`'${portText}' is not a port (0-65535)`);
  return { host, port };
}

/** `EID@HOST:PORT`, brackets around an IPv6 host: what {@link parsePeerAddress} reads. */
export function formatPeerAddress(eid: Eid, address: SocketAddress): string {
  return `${eid.toString()}@${formatAddress(address)}`;
}

/**
 * The address with a host name looked up (first answer); IP literals are returned as they are.
 * @throws UsageError when the name does not resolve.
 */
export async function resolveAddress(address: SocketAddress): Promise<SocketAddress> {
  if (isIP(address.host) !== 0) return address;
  try {
    const found = await lookup(address.host);
    return { host: found.address, port: address.port };
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    throw new UsageError(`cannot resolve host '${address.host}' (${code})`);
  }
}

/**
 * Where a host that dials `peer` binds when not told: the loopback address for a loopback peer
 * (nothing is exposed beyond the machine), otherwise the wildcard address; either way of the
 * peer's family, which a UDP socket must share with its destinations, and on a free port.
 */
export function defaultBindFor(peer: SocketAddress): SocketAddress {
  const v6 = isIP(peer.host) === 6;
  const loopback = v6 ? peer.host === '::1' : peer.host.startsWith('127.');
  if (loopback) return { host: v6 ? '::1' : '127.0.0.1', port: 0 };
  return { host: v6 ? '::' : '0.0.0.0', port: 0 };
}
