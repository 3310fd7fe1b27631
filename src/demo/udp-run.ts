import { Identity } from '../crypto/identity.js';
import { createNativeSuite } from '../crypto/native-suite.js';
import { DEFAULT_SOCKET_BUFFER_BYTES, Host } from '../host.js';
import { RealClock, type TimerHandle } from '../net/clock.js';
import { UdpSocket } from '../net/udp.js';
import { CountingSocket } from './counting-socket.js';
import {
  type Exchange,
  exchangeReport,
  type ExchangeReport,
  type RunHooks,
  startExchange,
  wireFigures,
} from './exchange.js';
import type { DemoFile } from './files.js';

export interface UdpRunOptions extends RunHooks {
  readonly files: readonly DemoFile[];
  /** Wall-clock milliseconds after which the fetch is abandoned (default 30,000). */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

async function bindCounted(): Promise<CountingSocket> {
  return new CountingSocket(
    await UdpSocket.bind({
      host: '127.0.0.1',
      port: 0,
      recvBufferSize: DEFAULT_SOCKET_BUFFER_BYTES,
      sendBufferSize: DEFAULT_SOCKET_BUFFER_BYTES,
    }),
  );
}

/**
 * Resolves once the exchange is done, or after `timeoutMs` with the fetch abandoned (files not
 * yet verified fail; streams the server still holds are dropped when the hosts close).
 */
async function finished(exchange: Exchange, clock: RealClock, timeoutMs: number): Promise<void> {
  let timer: TimerHandle | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = clock.setTimer(timeoutMs, () => resolve('expired'));
  });
  const done = exchange.fetch.whenClosed.then(() => exchange.service.whenIdle());
  const outcome = await Promise.race([done, expired]);
  if (timer !== undefined) clock.clearTimer(timer);
  if (outcome === 'expired') exchange.fetch.abort(`no end within ${timeoutMs} ms`);
}

/**
 * The exchange between two hosts on real UDP sockets bound to 127.0.0.1, with fresh identities
 * and real time. Everything is released before it resolves.
 */
export async function runOverUdp(options: UdpRunOptions): Promise<ExchangeReport> {
  const clock = new RealClock();
  const suite = createNativeSuite();
  const sockets: CountingSocket[] = [];
  const hosts: Host[] = [];
  let report: ExchangeReport;
  try {
    for (let i = 0; i < 2; i++) {
      const socket = await bindCounted();
      sockets.push(socket);
      hosts.push(
        await Host.create({ identity: Identity.generate(suite), sockets: [socket], clock, suite }),
      );
    }
    const [client, server] = hosts as [Host, Host];
    options.onHosts?.(client, server);
    const exchange = startExchange({
      client,
      server,
      endpoints: server.addresses,
      files: options.files,
      clock,
      onProgress: options.onProgress,
      onEvent: options.onEvent,
    });
    await finished(exchange, clock, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    // Counted before the hosts close, so that their goodbyes are not in the figures.
    const [clientSocket, serverSocket] = sockets as [CountingSocket, CountingSocket];
    report = exchangeReport(
      exchange.fetch,
      options.files,
      wireFigures({ client, server }, { client: clientSocket, server: serverSocket }),
    );
  } finally {
    await Promise.all(hosts.map((host) => host.close()));
    await Promise.all(sockets.map((socket) => socket.close()));
  }
  return report;
}
