/** Options every network command takes, and their parsing. */
import type { SocketAddress } from '../net/datagram-socket.js';
import { integer } from './args.js';
import { DEFAULT_TIMEOUT_MS } from './cli-host.js';
import { parseHostPort, resolveAddress } from './peer-address.js';

/** Where `listen` and `receive` bind unless told: a free port on loopback. */
export const DEFAULT_BIND: SocketAddress = { host: '127.0.0.1', port: 0 };

/** `parseArgs` options of --identity, --bind, --timeout and --help. */
export const NETWORK_OPTIONS = {
  identity: { type: 'string' },
  bind: { type: 'string' },
  timeout: { type: 'string', default: String(DEFAULT_TIMEOUT_MS) },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Their lines in a command's help. */
export const NETWORK_HELP = `  --identity FILE     the host's identity (from 'sss keygen'); default: a new one for this run
  --timeout MS        give up on a peer whose link has not been up, or on a transfer that has
                      not moved, for MS milliseconds (default ${DEFAULT_TIMEOUT_MS})`;

/** `--timeout` in ms. @throws UsageError unless a positive integer. */
export function timeoutOption(text: string): number {
  return integer(text, 'timeout', 1);
}

/** `--bind` as an address, host names looked up; `fallback` when not given. */
export async function bindOption(
  text: string | undefined,
  fallback: SocketAddress,
): Promise<SocketAddress> {
  return text === undefined ? fallback : resolveAddress(parseHostPort(text, '--bind'));
}
