import { describe, expect, it } from 'vitest';
import { RealClock } from '../../src/net/clock.js';

describe('RealClock', () => {
  it('a zero-delay timer runs after the current code, long before a 50 ms timeout', async () => {
    const clock = new RealClock();
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      clock.setTimer(50, () => {
        order.push('50 ms');
        resolve();
      });
    });
    clock.setTimer(0, () => order.push('end of turn'));
    order.push('now');
    await done;
    expect(order).toEqual(['now', 'end of turn', '50 ms']);
  });

  it('clearTimer cancels zero-delay and delayed timers alike', async () => {
    const clock = new RealClock();
    let fired = 0;
    clock.clearTimer(clock.setTimer(0, () => fired++));
    clock.clearTimer(clock.setTimer(1, () => fired++));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(fired).toBe(0);
  });

  it('now is monotonic', () => {
    const clock = new RealClock();
    const a = clock.now();
    expect(clock.now()).toBeGreaterThanOrEqual(a);
  });
});
