import { parseArgs } from 'node:util';
import { createNativeSuite } from '../crypto/native-suite.js';
import type { Host } from '../host.js';
import { Abort, abortOnSignals } from './abort.js';
import { required, UsageError } from './args.js';
import { openHost } from './cli-host.js';
import type { Command } from './command.js';
import { identityFor } from './identity-option.js';
import { NETWORK_HELP, NETWORK_OPTIONS, bindOption, timeoutOption } from './network-options.js';
import {
  defaultBindFor,
  formatPeerAddress,
  type PeerAddress,
  parsePeerAddress,
  resolveAddress,
} from './peer-address.js';
import { PeerWatch } from './peer-watch.js';
import { StreamIo } from './stream-io.js';
import { runStdio } from './stream-pipe.js';

const USAGE = `usage: sss connect EID@HOST:PORT --service S --protocol P [options]

Opens a stream to service S over protocol P at the peer and joins it to stdin and stdout, as
netcat does: stdin goes to the peer, and its end half-closes the stream; what the peer sends goes
to stdout. Link state changes are reported on stderr. Exits 0 once both directions have ended.
IPv6 hosts go in brackets: EID@[::1]:4433.

  --service S         the service to reach (required)
  --protocol P        the protocol to speak (required)
  --bind ADDR:PORT    the local address (default: a free port on loopback for a loopback peer,
                      on the wildcard address otherwise)
${NETWORK_HELP}`;

async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      ...NETWORK_OPTIONS,
      service: { type: 'string' },
      protocol: { type: 'string' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one peer, EID@HOST:PORT');
  const parsed = parsePeerAddress(positionals[0] as string);
  const service = required(values.service, 'service');
  const protocol = required(values.protocol, 'protocol');
  const timeoutMs = timeoutOption(values.timeout);
  const peer = { eid: parsed.eid, address: await resolveAddress(parsed.address) };
  const bind = await bindOption(values.bind, defaultBindFor(peer.address));
  const suite = createNativeSuite();
  const identity = await identityFor(values.identity, suite);
  const { host, close } = await openHost({ identity, suite, bind, timeoutMs });
  try {
    await session(host, peer, service, protocol, timeoutMs);
    return 0;
  } finally {
    await close();
  }
}

/** The stream to the peer, joined to stdio until both directions end. */
async function session(
  host: Host,
  peer: PeerAddress,
  service: string,
  protocol: string,
  timeoutMs: number,
): Promise<void> {
  console.error(
    `sss: connecting to ${formatPeerAddress(peer.eid, peer.address)} ` +
      `(service ${service}, protocol ${protocol}) as ${host.eid.toString()}`,
  );
  const stream = host.connect(peer.eid, service, protocol, { endpoints: [peer.address] });
  const io = new StreamIo(stream);
  const abort = new Abort();
  const stopSignals = abortOnSignals(abort);
  const watch = new PeerWatch(stream.linkState$, {
    timeoutMs,
    onLinkState: (state) => console.error(`sss: link ${state}`),
    onTimeout: (error) => abort.fail(error),
  });
  try {
    await abort.race(runStdio(io));
  } catch (error) {
    io.fail(error as Error);
    stream.reset();
    process.stdin.destroy();
    throw error;
  } finally {
    watch.dispose();
    stopSignals();
    io.dispose();
  }
}

/** `sss connect`: netcat over a stream. */
export const connectCommand: Command = {
  usage: USAGE,
  run,
};
