import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckPolicy } from '../../src/channel/ack-policy.js';
import { InvalidParameterError } from '../../src/net/errors.js';

/** Cheaper than expect() in the hot loops of properties; fast-check reports the message. */
function agree<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected)
    throw new Error(`${what}: got ${String(actual)}, expected ${String(expected)}`);
}

/** The rules of RFC 9000 §13.2.1 and §13.2.2 taken literally, with the full set of numbers. */
class RfcModel {
  readonly #received = new Set<number>();
  #largestEliciting = -1;
  #unacked = 0;

  constructor(readonly threshold: number) {}

  /** True when this packet requires an ACK without delay. */
  receive(pn: number, ackEliciting: boolean): boolean {
    let required = false;
    if (ackEliciting) {
      this.#unacked++;
      required =
        pn < this.#largestEliciting ||
        (this.#largestEliciting >= 0 && this.#missingBetween(this.#largestEliciting, pn)) ||
        this.#unacked >= this.threshold;
      this.#largestEliciting = Math.max(this.#largestEliciting, pn);
    }
    this.#received.add(pn);
    return required;
  }

  ackSent(): void {
    this.#unacked = 0;
  }

  #missingBetween(low: number, high: number): boolean {
    for (let pn = low + 1; pn < high; pn++) if (!this.#received.has(pn)) return true;
    return false;
  }
}

type Arrival = { pn: number; ackEliciting: boolean; dt: number; sendAck: 'no' | 'ifDue' | 'now' };

/** Packet numbers mostly in order, with some lost (gaps) and some reordered (swaps). */
const scenarioArb = fc
  .record({
    maxAckDelay: fc.integer({ min: 0, max: 50 }),
    ackElicitingThreshold: fc.integer({ min: 1, max: 4 }),
    steps: fc.array(
      fc.record({
        skip: fc.constantFrom(0, 0, 0, 0, 0, 1, 3),
        swapBack: fc.constantFrom(0, 0, 0, 0, 1, 2, 3),
        ackEliciting: fc.boolean(),
        dt: fc.integer({ min: 0, max: 40 }),
        sendAck: fc.constantFrom<Arrival['sendAck']>('no', 'no', 'ifDue', 'now'),
      }),
      { maxLength: 60, size: 'max' },
    ),
  })
  .map(({ maxAckDelay, ackElicitingThreshold, steps }) => {
    const pns: number[] = [];
    let next = 0;
    for (const step of steps) {
      next += step.skip;
      pns.push(next++);
      const j = pns.length - 1 - step.swapBack;
      if (j >= 0) [pns[j], pns[pns.length - 1]] = [pns[pns.length - 1] as number, pns[j] as number];
    }
    const arrivals: Arrival[] = steps.map((step, i) => ({ ...step, pn: pns[i] as number }));
    return { maxAckDelay, ackElicitingThreshold, arrivals };
  });

describe('AckPolicy', () => {
  it('delays the ACK of a lone ack-eliciting packet by maxAckDelay (25 ms by default)', () => {
    const policy = new AckPolicy();
    expect(policy.maxAckDelay).toBe(25);
    expect(policy.ackDeadline()).toBeNull();
    expect(policy.onPacketReceived(0, true, 1000)).toBe('delayed');
    expect(policy.ackDeadline()).toBe(1025);
  });

  it('acks at once when a second ack-eliciting packet is unacknowledged', () => {
    const policy = new AckPolicy();
    policy.onPacketReceived(0, true, 1000);
    expect(policy.onPacketReceived(1, true, 1003)).toBe('immediate');
    expect(policy.ackDeadline()).toBe(1003);
  });

  it('acks at once when an ack-eliciting packet arrives below the largest received', () => {
    const policy = new AckPolicy({ ackElicitingThreshold: 10 });
    policy.onPacketReceived(0, true, 0);
    policy.onPacketReceived(2, false, 1);
    policy.onAckSent(1);
    expect(policy.onPacketReceived(1, true, 2)).toBe('immediate');
  });

  it('acks at once for a late ack-eliciting packet, even with no new gap', () => {
    const policy = new AckPolicy({ ackElicitingThreshold: 10 });
    for (const pn of [0, 1, 3]) policy.onPacketReceived(pn, true, pn);
    policy.onAckSent(3);
    expect(policy.onPacketReceived(2, true, 4)).toBe('immediate');
  });

  it('acks at once when an ack-eliciting packet opens a new gap', () => {
    const policy = new AckPolicy({ ackElicitingThreshold: 10 });
    expect(policy.onPacketReceived(0, true, 0)).toBe('delayed');
    policy.onAckSent(5);
    expect(policy.onPacketReceived(1, true, 10)).toBe('delayed');
    expect(policy.onPacketReceived(3, true, 11)).toBe('immediate');
  });

  it('acks at once for the first ack-eliciting packet above a gap opened by other packets', () => {
    const policy = new AckPolicy({ ackElicitingThreshold: 10 });
    policy.onPacketReceived(0, true, 0);
    policy.onAckSent(0);
    expect(policy.onPacketReceived(2, false, 1)).toBe('none');
    expect(policy.onPacketReceived(3, true, 2)).toBe('immediate');
    policy.onAckSent(2);
    expect(policy.onPacketReceived(4, true, 3)).toBe('delayed'); // the gap was reported already
  });

  it('does not treat the very first packet as out of order, whatever its number', () => {
    const policy = new AckPolicy();
    expect(policy.onPacketReceived(1, true, 0)).toBe('delayed');
  });

  it('never asks for an ACK for packets that are not ack-eliciting, gaps and reordering included', () => {
    const policy = new AckPolicy();
    for (const [i, pn] of [0, 1, 5, 3, 2, 9, 4].entries()) {
      expect(policy.onPacketReceived(pn, false, i)).toBe('none');
      expect(policy.ackDeadline()).toBeNull();
    }
  });

  it('a packet that is not ack-eliciting keeps, but does not move, a pending deadline', () => {
    const policy = new AckPolicy();
    policy.onPacketReceived(0, true, 100);
    expect(policy.onPacketReceived(1, false, 110)).toBe('delayed');
    expect(policy.ackDeadline()).toBe(125);
    expect(policy.onPacketReceived(2, false, 130)).toBe('immediate'); // overdue
    expect(policy.ackDeadline()).toBe(125);
  });

  it('later packets do not push the deadline back', () => {
    const policy = new AckPolicy({ ackElicitingThreshold: 100 });
    policy.onPacketReceived(0, true, 0);
    for (let pn = 1; pn < 20; pn++) policy.onPacketReceived(pn, true, pn);
    expect(policy.ackDeadline()).toBe(25);
  });

  it('onAckSent clears the deadline and the count of unacknowledged packets', () => {
    const policy = new AckPolicy();
    policy.onPacketReceived(0, true, 0);
    policy.onPacketReceived(1, true, 1);
    policy.onAckSent(2);
    expect(policy.ackDeadline()).toBeNull();
    expect(policy.lastAckSentAt).toBe(2);
    expect(policy.onPacketReceived(2, true, 3)).toBe('delayed');
    expect(policy.ackDeadline()).toBe(28);
  });

  it('honours a configured maxAckDelay and threshold; zero delay acks every packet at once', () => {
    const slow = new AckPolicy({ maxAckDelay: 200, ackElicitingThreshold: 3 });
    expect(slow.onPacketReceived(0, true, 0)).toBe('delayed');
    expect(slow.onPacketReceived(1, true, 1)).toBe('delayed');
    expect(slow.ackDeadline()).toBe(200);
    expect(slow.onPacketReceived(2, true, 2)).toBe('immediate');
    const eager = new AckPolicy({ maxAckDelay: 0 });
    expect(eager.onPacketReceived(0, true, 7)).toBe('immediate');
  });

  it('ackDelayMicros is the time since the largest packet arrived', () => {
    const policy = new AckPolicy();
    expect(policy.ackDelayMicros(5)).toBe(0);
    policy.onPacketReceived(4, true, 10);
    policy.onPacketReceived(2, true, 12); // late: not the largest
    expect(policy.ackDelayMicros(13.5)).toBe(3500);
    policy.onPacketReceived(5, false, 20);
    expect(policy.ackDelayMicros(20.25)).toBe(250);
  });

  it('rejects bad options and arguments', () => {
    expect(() => new AckPolicy({ maxAckDelay: -1 })).toThrow(InvalidParameterError);
    expect(() => new AckPolicy({ maxAckDelay: Number.NaN })).toThrow(InvalidParameterError);
    expect(() => new AckPolicy({ maxAckDelay: 2 ** 14 })).toThrow(InvalidParameterError);
    expect(() => new AckPolicy({ ackElicitingThreshold: 0 })).toThrow(InvalidParameterError);
    const policy = new AckPolicy();
    expect(() => policy.onPacketReceived(-1, true, 0)).toThrow(InvalidParameterError);
    expect(() => policy.onPacketReceived(0, true, Number.NaN)).toThrow(InvalidParameterError);
    expect(() => policy.onAckSent(Number.POSITIVE_INFINITY)).toThrow(InvalidParameterError);
  });

  it('property: no ack-eliciting packet waits longer than maxAckDelay before an ACK is due', () => {
    fc.assert(
      fc.property(scenarioArb, ({ maxAckDelay, ackElicitingThreshold, arrivals }) => {
        const policy = new AckPolicy({ maxAckDelay, ackElicitingThreshold });
        let now = 0;
        let oldestUnacked: number | null = null;
        for (const { pn, ackEliciting, dt, sendAck } of arrivals) {
          now += dt;
          const urgency = policy.onPacketReceived(pn, ackEliciting, now);
          if (ackEliciting) oldestUnacked ??= now;
          const deadline = policy.ackDeadline();
          if (oldestUnacked === null) {
            // Packets that are not ack-eliciting never make an ACK due on their own.
            agree(deadline, null, `deadline after ${pn}`);
            agree(urgency, 'none', `urgency of ${pn}`);
          } else {
            if (deadline === null || deadline > oldestUnacked + maxAckDelay) {
              throw new Error(`deadline ${deadline} later than ${oldestUnacked} + ${maxAckDelay}`);
            }
            agree(urgency, deadline <= now ? 'immediate' : 'delayed', `urgency of ${pn}`);
          }
          const due = deadline !== null && deadline <= now;
          if (sendAck === 'now' || (sendAck === 'ifDue' && due)) {
            policy.onAckSent(now);
            oldestUnacked = null;
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: an ACK is due at once whenever RFC 9000 §13.2.1 and §13.2.2 ask for one', () => {
    fc.assert(
      fc.property(scenarioArb, ({ maxAckDelay, ackElicitingThreshold, arrivals }) => {
        const policy = new AckPolicy({ maxAckDelay, ackElicitingThreshold });
        const rfc = new RfcModel(ackElicitingThreshold);
        let now = 0;
        for (const { pn, ackEliciting, dt, sendAck } of arrivals) {
          now += dt;
          const required = rfc.receive(pn, ackEliciting);
          const urgency = policy.onPacketReceived(pn, ackEliciting, now);
          if (required) agree(urgency, 'immediate', `urgency of ${pn}`);
          if (sendAck === 'now' || urgency === 'immediate') {
            policy.onAckSent(now);
            rfc.ackSent();
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
