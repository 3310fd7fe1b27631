import { describe, expect, it } from 'vitest';
import { SentPackets } from '../../../src/channel/recovery/sent-packets.js';

describe('SentPackets', () => {
  it('keeps packets in order across ring growth and wrap-around', () => {
    const sent = new SentPackets<string>();
    let pn = 0;
    // Interleave sends and resolutions so that the head wraps before the ring grows.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++, pn++) sent.add(pn, round, 100, true, true, `p${pn}`);
      // Resolve the five oldest outstanding packets, as cumulative ACKs would.
      for (let i = 0, done = 0; done < 5; i++) {
        if (!sent.isOutstanding(i)) continue;
        sent.markAcked(i);
        done++;
      }
      sent.trim();
    }
    expect(sent.outstanding).toBe(100);
    expect(sent.length).toBe(100); // resolved packets left from the front
    const pns = Array.from({ length: sent.length }, (_, i) => sent.at(i).pn);
    expect(pns).toEqual([...pns].sort((a, b) => a - b));
    expect(sent.at(sent.indexAtOrAbove(345)).frames).toBe('p345');
    expect(sent.bytesInFlight).toBe(100 * 100);
  });

  it('counts only in-flight bytes and ack-eliciting packets, and forgets them on resolution', () => {
    const sent = new SentPackets<null>();
    sent.add(0, 0, 1200, true, true, null);
    sent.add(1, 1, 50, false, false, null);
    sent.add(2, 2, 300, false, true, null);
    expect([sent.bytesInFlight, sent.ackElicitingInFlight, sent.lastAckElicitingTime]).toEqual([
      1500, 1, 0,
    ]);
    sent.markLost(0);
    sent.markAcked(2);
    expect([sent.bytesInFlight, sent.ackElicitingInFlight, sent.outstanding]).toEqual([0, 0, 1]);
    sent.trim();
    expect(sent.length).toBe(2); // 1 is still outstanding, so 2 waits behind it
  });

  it('knows which numbers were never sent, remembering the latest 16 gaps', () => {
    const sent = new SentPackets<null>();
    sent.add(2, 0, 1, false, false, null);
    expect(sent.firstUnsent(0, 5)).toBe(0);
    expect(sent.firstUnsent(2, 2)).toBe(-1);
    expect(sent.firstUnsent(2, 5)).toBe(3);
    let pn = 2;
    for (let i = 0; i < 16; i++) {
      pn += 2; // skip one number each time
      sent.add(pn, 0, 1, false, false, null);
    }
    expect(sent.firstUnsent(pn - 1, pn - 1)).toBe(pn - 1);
    // The first gap, [0, 1], has been pushed out of the memory by 16 later ones.
    expect(sent.firstUnsent(0, 1)).toBe(-1);
    expect(sent.firstUnsent(3, 3)).toBe(3);
  });

  it('clear hands back only the outstanding packets and empties the counters', () => {
    const sent = new SentPackets<number>();
    for (let pn = 0; pn < 5; pn++) sent.add(pn, pn, 10, true, true, pn);
    sent.markAcked(1);
    sent.markLost(3);
    expect(sent.clear().map((p) => p.frames)).toEqual([0, 2, 4]);
    expect([sent.length, sent.outstanding, sent.bytesInFlight, sent.ackElicitingInFlight]).toEqual([
      0, 0, 0, 0,
    ]);
    expect(sent.largestSent).toBe(4);
  });
});
