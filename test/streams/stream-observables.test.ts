/**
 * A stream's observables, which it makes only when first asked for: they must behave as if they
 * had been there from the start, and complete when the stream is collected, however late they are
 * asked for.
 */
import type { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Stream } from '../../src/streams/stream.js';
import { hostPair, str, text } from '../fixtures/host-pair.js';

const OBSERVABLES = [
  'readyRead$',
  'readyReadRecord$',
  'readyReadDatagram$',
  'readyWrite$',
  'bytesWritten$',
  'receiveBlocked$',
  'substreams$',
  'error$',
  'reset$',
] as const;

function observable(stream: Stream, name: (typeof OBSERVABLES)[number]): Observable<unknown> {
  return stream[name] as Observable<unknown>;
}

describe('Stream observables', () => {
  it('asked for before collection, each completes at collection; asked for after, at once', async () => {
    const { net, client, server, endpoints } = await hostPair();
    const accepted: Stream[] = [];
    server.listen('c', '', 'v1', '').newConnection$.subscribe((s) => {
      accepted.push(s);
      s.readyRead$.subscribe(() => {
        s.readData();
        if (s.atEnd) s.close();
      });
    });
    const stream = client.connect(server.eid, 'c', 'v1', { endpoints });
    const early = new Set<string>();
    for (const name of OBSERVABLES.slice(0, 4)) {
      observable(stream, name).subscribe({ complete: () => early.add(name) });
    }
    stream.writeData(text('bye'));
    stream.close();
    net.runFor(2000);
    expect(stream.collected).toBe(true);
    expect([...early].sort()).toEqual([...OBSERVABLES.slice(0, 4)].sort());
    for (const s of [stream, accepted[0] as Stream]) {
      for (const name of OBSERVABLES) {
        let completed = false;
        observable(s, name).subscribe({ complete: () => (completed = true) });
        expect(completed, name).toBe(true);
      }
    }
  });

  it('a subscriber from the start hears every event: records, acknowledged bytes, the reset', async () => {
    const { net, client, server, endpoints } = await hostPair();
    const records: (string | undefined)[] = [];
    server.listen('c', '', 'v1', '').newConnection$.subscribe((s) => {
      s.readyReadRecord$.subscribe(() => {
        for (let r = s.readRecord(); r !== undefined; r = s.readRecord()) records.push(str(r));
        if (records.length === 2) s.reset(7);
      });
    });
    const stream = client.connect(server.eid, 'c', 'v1', { endpoints });
    let acknowledged = 0;
    const resets: number[] = [];
    stream.bytesWritten$.subscribe((bytes) => (acknowledged += bytes));
    stream.reset$.subscribe((reset) => resets.push(reset.errorCode));
    stream.writeRecord(text('one'));
    stream.writeRecord(text('two'));
    net.runFor(2000);
    expect(records).toEqual(['one', 'two']);
    expect(acknowledged).toBeGreaterThanOrEqual(6);
    expect(resets).toContain(7);
  });
});
