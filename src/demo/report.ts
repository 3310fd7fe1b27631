import type { LinkState } from '../channel/channel-core.js';
import type { ChannelFigures, ExchangeReport, RttSummary } from './exchange.js';
import type { LinkChange } from './file-client.js';
import { formatBytes, formatCount, formatMs, formatRate, table } from './format.js';
import type { SimRunReport } from './sim-run.js';

const yesNo = (value: boolean): string => (value ? 'yes' : 'no');

/**
 * Why the order can differ where the link is not the bottleneck: priority decides which stream
 * sends when several can, and a file waiting on its own flow control cannot.
 */
const PRIORITY_NOTE =
  ' (strict priority orders the streams that can send; here a higher one waiting on its' +
  ' acknowledgements let a lower one through, since the link was not the bottleneck)';

function formatRtt(rtt: RttSummary | null): string {
  if (rtt === null) return 'no sample';
  return `median ${formatMs(rtt.median)} (min ${formatMs(rtt.min)}, max ${formatMs(rtt.max)}, ${rtt.samples} pings)`;
}

/** Link changes listed in full up to this many; beyond, summed up by state. */
const LINK_CHANGES_LISTED = 6;

function linkHistory(report: ExchangeReport): string {
  const changes = report.linkChanges;
  const listed = (list: readonly LinkChange[]) =>
    list.map((change) => `${change.state} ${formatMs(change.atMs)}`).join(', ');
  if (changes.length <= LINK_CHANGES_LISTED) return listed(changes);
  const spells = (state: LinkState) => {
    let count = 0;
    let total = 0;
    changes.forEach((change, i) => {
      const next = changes[i + 1];
      if (change.state !== state || next === undefined) return;
      count++;
      total += next.atMs - change.atMs;
    });
    return `${state} ${count} ${count === 1 ? 'time' : 'times'}, ${formatMs(total)} in all`;
  };
  const last = changes[changes.length - 1] as LinkChange;
  return `${listed(changes.slice(0, 2))}, then ${changes.length - 2} more changes (${spells('stalled')}; ${spells('down')}), the last: ${listed([last])}`;
}

function payloadBytes(report: ExchangeReport): number {
  return report.files.reduce((sum, file) => sum + (file.verified ? file.size : 0), 0);
}

function channelLine(figures: ChannelFigures | null): string {
  if (figures === null) return 'none up at the end';
  const rtt =
    figures.rttMs === null
      ? 'no RTT sample'
      : `RTT estimate ${formatMs(figures.rttMs.smoothed)} smoothed, ${formatMs(figures.rttMs.min)} min`;
  return `${formatCount(figures.packetsSent)} packets sent, ${formatCount(figures.packetsLost)} declared lost (their data sent again), ${formatCount(figures.probesSent)} timeout probes; ${rtt}`;
}

/** One run's results: a line per file, then the figures of the whole exchange. */
export function formatRun(report: ExchangeReport): string[] {
  const rows = [
    ['file', 'priority', 'size', 'SHA-256 verified', 'finished at'],
    ...report.files.map((file) => [
      file.name,
      String(file.priority),
      formatBytes(file.size),
      file.verified ? 'yes' : `no: ${file.error ?? 'unknown'}`,
      file.completedMs === null ? 'never' : formatMs(file.completedMs),
    ]),
  ];
  const { client, server } = report.datagrams;
  const duration = report.durationMs === null ? 'an unfinished run' : formatMs(report.durationMs);
  return [
    ...table(rows, [1, 2, 4]),
    `  Finished in priority order, highest first: ${yesNo(report.priorityOrder)}${report.priorityOrder ? '' : PRIORITY_NOTE}`,
    `  Goodput: ${formatRate(report.goodputBps)} (${formatBytes(payloadBytes(report))} verified, connect to last byte in ${duration})`,
    `  Round trip as the application sees it (pings on the control stream, under load): ${formatRtt(report.rttMs)}`,
    `  Link state: ${linkHistory(report)}`,
    `  Datagrams: server sent ${formatCount(server.datagramsSent)} (${formatBytes(server.bytesSent)}), client received ${formatCount(client.datagramsReceived)}; client sent ${formatCount(client.datagramsSent)}, server received ${formatCount(server.datagramsReceived)}`,
    ...(['server', 'client'] as const).map(
      (end) => `  Channel at the ${end}: ${channelLine(report.channels[end])}`,
    ),
    `  Server bytes on the wire per verified file byte: ${report.serverBytesPerPayloadByte ?? 'n/a'} (headers, tags, pongs, acknowledgements, MTU probes, retransmissions)`,
  ];
}

/** What only the simulator knows: the network's own counters and the trace hash. */
export function formatSimNetwork(report: SimRunReport): string[] {
  const { network } = report;
  const drops = Object.entries(network.dropped).map(([reason, n]) => `${reason} ${formatCount(n)}`);
  return [
    `  Simulated network: ${formatCount(network.sent)} packets sent, ${formatCount(network.delivered)} delivered, dropped: ${drops.length === 0 ? 'none' : drops.join(', ')}; duplicated ${network.duplicated}, corrupted ${network.corrupted}`,
    `  Virtual time: ${formatMs(report.virtualMs)}; trace hash ${report.traceHash} (the same seed always gives the same hash)`,
  ];
}

function rttCell(rtt: RttSummary | null): string {
  return rtt === null
    ? 'n/a'
    : `${formatMs(rtt.median)} (${formatMs(rtt.min)} to ${formatMs(rtt.max)})`;
}

function channelRtt(r: ExchangeReport): string {
  const rtt = r.channels.client?.rttMs;
  return rtt === undefined || rtt === null
    ? 'n/a'
    : `${formatMs(rtt.smoothed)} (${formatMs(rtt.min)})`;
}

function channelLoss(r: ExchangeReport): string {
  const server = r.channels.server;
  return server === null
    ? 'n/a'
    : `${formatCount(server.packetsLost)} / ${formatCount(server.packetsSent)}`;
}

/** Changes after the first state. */
const changes = (r: ExchangeReport): number => Math.max(0, r.linkChanges.length - 1);

function lostCell(sent: number, received: number): string {
  return `${formatCount(sent)} / ${formatCount(Math.max(0, sent - received))}`;
}

/** The two runs side by side. */
export function formatComparison(udp: ExchangeReport, sim: SimRunReport): string[] {
  const verified = (r: ExchangeReport) =>
    `${r.files.filter((file) => file.verified).length} of ${r.files.length}`;
  const duration = (r: ExchangeReport) =>
    r.durationMs === null ? 'never' : formatMs(r.durationMs);
  const rows = [
    ['', 'loopback UDP (real time)', `simulator ${sim.preset}, seed ${sim.seed} (virtual time)`],
    ['files verified', verified(udp), verified(sim)],
    ['in priority order', yesNo(udp.priorityOrder), yesNo(sim.priorityOrder)],
    ['connect to last byte', duration(udp), duration(sim)],
    ['goodput', formatRate(udp.goodputBps), formatRate(sim.goodputBps)],
    ['RTT median (min to max)', rttCell(udp.rttMs), rttCell(sim.rttMs)],
    ['link state changes', String(changes(udp)), String(changes(sim))],
    [
      'server datagrams sent / not received',
      lostCell(udp.datagrams.server.datagramsSent, udp.datagrams.client.datagramsReceived),
      lostCell(sim.datagrams.server.datagramsSent, sim.datagrams.client.datagramsReceived),
    ],
    ['channel RTT estimate, smoothed (min)', channelRtt(udp), channelRtt(sim)],
    ['server packets declared lost / sent', channelLoss(udp), channelLoss(sim)],
    [
      'server bytes per file byte',
      String(udp.serverBytesPerPayloadByte ?? 'n/a'),
      String(sim.serverBytesPerPayloadByte ?? 'n/a'),
    ],
  ];
  return table(rows);
}
