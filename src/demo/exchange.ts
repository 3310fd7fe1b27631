import type { Eid } from '../crypto/eid.js';
import type { Host } from '../host.js';
import type { Clock } from '../net/clock.js';
import type { SocketAddress } from '../net/datagram-socket.js';
import type { CountingSocket, DatagramCounts } from './counting-socket.js';
import { type FetchOptions, FileFetch, type LinkChange } from './file-client.js';
import { FileService } from './file-server.js';
import type { DemoFile } from './files.js';

/** What the demo's exchange needs: two hosts, the way to the server, and the files. */
export interface ExchangeOptions extends Pick<FetchOptions, 'onProgress' | 'onEvent'> {
  readonly client: Host;
  readonly server: Host;
  /** Where the client reaches the server. */
  readonly endpoints: readonly SocketAddress[];
  readonly files: readonly DemoFile[];
  /** The clock both hosts run on: the fetch's times are read from it. */
  readonly clock: Clock;
}

/** What a caller of a run may watch: the hosts once made, the fetch's progress and events. */
export interface RunHooks extends Pick<FetchOptions, 'onProgress' | 'onEvent'> {
  /** Called once both hosts exist, before the fetch starts. */
  readonly onHosts?: (client: Host, server: Host) => void;
}

/** A running exchange: the client's fetch and the server's service. */
export interface Exchange {
  readonly fetch: FileFetch;
  readonly service: FileService;
  /** The fetch has closed and the server has finished every stream: the hosts may close. */
  readonly done: boolean;
}

/**
 * Serves `files` on the server host and fetches them all from the client host, at their
 * priorities, in parallel. The caller drives time (or waits) until `done`, then reads
 * {@link exchangeReport}.
 */
export function startExchange(options: ExchangeOptions): Exchange {
  const service = new FileService(options.server, options.files);
  const fetch = new FileFetch({
    host: options.client,
    peer: options.server.eid,
    endpoints: options.endpoints,
    files: options.files,
    clock: options.clock,
    onProgress: options.onProgress,
    onEvent: options.onEvent,
  });
  return {
    fetch,
    service,
    get done() {
      return fetch.closed && service.open === 0;
    },
  };
}

/** One file's outcome. */
export interface FileResult {
  readonly name: string;
  readonly size: number;
  readonly priority: number;
  /** Every byte arrived and its SHA-256 equals both the server's header and the source file's. */
  readonly verified: boolean;
  /** Milliseconds from the connect to the file's last byte (or its failure); null if it never ended. */
  readonly completedMs: number | null;
  readonly error: string | null;
}

/** Summary of a sample of round trips, ms. */
export interface RttSummary {
  readonly samples: number;
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

/**
 * The channel's own counters at one end (read through `Host.channelTo`), for the channel that
 * carried the streams at the end: a channel replaced during the run took its counts with it.
 */
export interface ChannelFigures {
  readonly packetsSent: number;
  readonly packetsReceived: number;
  /** Packets declared lost (RFC 9002): what they carried was sent again. */
  readonly packetsLost: number;
  /** Probe timeouts' probes: packets sent when acknowledgements stopped coming. */
  readonly probesSent: number;
  /** The loss detector's RTT estimate, ms; null before any sample. */
  readonly rttMs: {
    readonly smoothed: number;
    readonly min: number;
    readonly latest: number;
  } | null;
}

/** The figures of one exchange, on any network. */
export interface ExchangeReport {
  readonly files: readonly FileResult[];
  readonly allVerified: boolean;
  /** Files ended in order of priority, highest first (ties in any order). */
  readonly priorityOrder: boolean;
  /** Milliseconds from the connect to the last file's end; null if some file never ended. */
  readonly durationMs: number | null;
  /** Bits per second of verified file content over `durationMs`. */
  readonly goodputBps: number;
  /** Round trips of pings on the control stream, as the application sees them (under load). */
  readonly rttMs: RttSummary | null;
  readonly linkChanges: readonly LinkChange[];
  readonly datagrams: { readonly client: DatagramCounts; readonly server: DatagramCounts };
  /** Each end's channel counters; null where no channel was up at the end. */
  readonly channels: {
    readonly client: ChannelFigures | null;
    readonly server: ChannelFigures | null;
  };
  /**
   * Bytes the server sent per byte of verified file content: packet headers and authentication
   * tags, pongs, acknowledgements, and every retransmission.
   */
  readonly serverBytesPerPayloadByte: number | null;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function summarise(samples: readonly number[]): RttSummary | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    min: round3(sorted[0] as number),
    median: round3(sorted[Math.floor(sorted.length / 2)] as number),
    max: round3(sorted[sorted.length - 1] as number),
  };
}

/** True when no file ended after a file of lower priority. */
export function inPriorityOrder(files: readonly FileResult[]): boolean {
  const ended = files.filter((file) => file.completedMs !== null);
  return ended.every((a) =>
    ended.every(
      (b) => a.priority <= b.priority || (a.completedMs as number) <= (b.completedMs as number),
    ),
  );
}

/** The counters of the channel from `host` to `peer`, if one is up. */
export function channelFigures(host: Host, peer: Eid): ChannelFigures | null {
  const channel = host.channelTo(peer);
  if (channel === undefined) return null;
  const { stats, recovery } = channel.core;
  const rtt = recovery.rtt;
  return {
    packetsSent: stats.packetsSent,
    packetsReceived: stats.packetsReceived,
    packetsLost: stats.packetsLost,
    probesSent: stats.probesSent,
    rttMs: rtt.hasSample
      ? { smoothed: round3(rtt.smoothed), min: round3(rtt.min), latest: round3(rtt.latest) }
      : null,
  };
}

/** What is measured below the streams: datagrams through the sockets, the channels' counters. */
export interface WireFigures {
  readonly datagrams: ExchangeReport['datagrams'];
  readonly channels: ExchangeReport['channels'];
}

/** The wire figures of a client and a server host and their counting sockets. */
export function wireFigures(
  hosts: { readonly client: Host; readonly server: Host },
  sockets: { readonly client: CountingSocket; readonly server: CountingSocket },
): WireFigures {
  return {
    datagrams: { client: sockets.client.counts, server: sockets.server.counts },
    channels: {
      client: channelFigures(hosts.client, hosts.server.eid),
      server: channelFigures(hosts.server, hosts.client.eid),
    },
  };
}

/** The report of a fetch that has ended, checked against the source files. */
export function exchangeReport(
  fetch: FileFetch,
  sources: readonly DemoFile[],
  wire: WireFigures,
): ExchangeReport {
  const { datagrams, channels } = wire;
  const files = fetch.files.map((status, i): FileResult => {
    const source = sources[i] as DemoFile;
    const verified =
      status.state === 'verified' &&
      status.sha256 !== undefined &&
      Buffer.compare(status.sha256, source.sha256) === 0;
    return {
      name: status.name,
      size: status.size ?? source.size,
      priority: status.priority,
      verified,
      completedMs: status.finishedAtMs === undefined ? null : round3(status.finishedAtMs),
      error: verified ? null : (status.error ?? 'SHA-256 differs from the source file'),
    };
  });
  const ended = files.every((file) => file.completedMs !== null);
  const durationMs = ended ? Math.max(0, ...files.map((file) => file.completedMs as number)) : null;
  const payload = files.reduce((sum, file) => sum + (file.verified ? file.size : 0), 0);
  return {
    files,
    allVerified: files.every((file) => file.verified),
    priorityOrder: inPriorityOrder(files),
    durationMs,
    goodputBps:
      durationMs === null || durationMs === 0 ? 0 : Math.round((payload * 8 * 1000) / durationMs),
    rttMs: summarise(fetch.rttSamples),
    linkChanges: fetch.linkChanges.map((change) => ({ ...change, atMs: round3(change.atMs) })),
    datagrams,
    channels,
    serverBytesPerPayloadByte: payload === 0 ? null : round3(datagrams.server.bytesSent / payload),
  };
}
