import { describe, expect, it } from 'vitest';
import {
  AMPLIFICATION_FACTOR,
  type ChannelPath,
  MAX_CHALLENGES,
  MAX_LEARNT_PATHS,
  PathSet,
} from '../../src/channel/paths.js';

const path = (key: string, peerHost = key): ChannelPath => ({ key, peerHost });
const data = (byte: number) => new Uint8Array(8).fill(byte);
const RETRY_MS = 100;

function pathSet(alternates: ChannelPath[] = []) {
  return new PathSet(path('home'), alternates, () => RETRY_MS, 0);
}

describe('PathSet', () => {
  it('starts on the handshake path, validated and unlimited', () => {
    const paths = pathSet();
    expect(paths.active.path.key).toBe('home');
    expect(paths.active.validated).toBe(true);
    expect(paths.allowance(paths.active)).toBe(Infinity);
  });

  it('an unvalidated learnt path may receive at most three times what came from it', () => {
    const paths = pathSet();
    const stranger = paths.entry(path('stranger'), 0);
    expect(paths.allowance(stranger)).toBe(0);
    expect(paths.blocked(stranger)).toBe(true);
    stranger.bytesReceived = 100;
    stranger.bytesSent = 250;
    expect(paths.allowance(stranger)).toBe(AMPLIFICATION_FACTOR * 100 - 250);
    expect(paths.blocked(stranger)).toBe(true);
  });

  it('configured endpoints are not amplification-limited: the application named them', () => {
    const paths = pathSet([path('other')]);
    const other = paths.find('other');
    expect(other?.configured).toBe(true);
    expect(paths.allowance(other as NonNullable<typeof other>)).toBe(Infinity);
  });

  it('moving to an unvalidated path challenges it; the matching response validates it', () => {
    const paths = pathSet();
    const next = paths.entry(path('next'), 0);
    next.bytesReceived = 1200;
    paths.moveTo(next, data(7), 0);
    expect(paths.active).toBe(next);
    expect(paths.dueChallenge(0)).toBe(next);
    paths.onChallengeSent(next, 0);
    expect(paths.dueChallenge(50)).toBeUndefined();
    expect(paths.deadline).toBe(RETRY_MS);
    expect(paths.onResponse(data(8))).toBeUndefined();
    expect(paths.onResponse(data(7))).toEqual({ kind: 'validated', entry: next });
    expect(next.validated).toBe(true);
    expect(paths.deadline).toBe(Infinity);
  });

  it('a challenge held back by the amplification limit sets no deadline until bytes arrive', () => {
    const paths = pathSet();
    const next = paths.entry(path('next'), 0);
    paths.moveTo(next, data(1), 0);
    expect(paths.dueChallenge(0)).toBeUndefined();
    expect(paths.deadline).toBe(Infinity);
    next.bytesReceived = 50;
    expect(paths.dueChallenge(0)).toBe(next);
  });

  it(`after ${MAX_CHALLENGES} unanswered challenges validation fails and the channel goes back`, () => {
    const paths = pathSet();
    const home = paths.active;
    const next = paths.entry(path('next'), 0);
    next.bytesReceived = 10_000;
    paths.moveTo(next, data(1), 0);
    let now = 0;
    for (let i = 0; i < MAX_CHALLENGES; i++) {
      expect(paths.onTimeout(now, 5000)).toBeUndefined();
      expect(paths.dueChallenge(now)).toBe(next);
      paths.onChallengeSent(next, now);
      now += RETRY_MS;
    }
    expect(paths.onTimeout(now, 5000)).toEqual({ kind: 'failed', entry: next });
    expect(paths.active).toBe(home);
    expect(next.nextProbeAt).toBe(now + 5000);
  });

  it('alternates are the configured paths other than the active one', () => {
    const paths = pathSet([path('a'), path('b')]);
    paths.entry(path('learnt'), 0);
    expect([...paths.alternates()].map((e) => e.path.key)).toEqual(['a', 'b']);
  });

  it(`remembers at most ${MAX_LEARNT_PATHS} learnt paths, forgetting the least recently used`, () => {
    const paths = pathSet([path('configured')]);
    for (let i = 0; i < 100; i++) paths.entry(path(`learnt-${i}`), i);
    expect(paths.size).toBe(2 + MAX_LEARNT_PATHS);
    expect(paths.find('home')).toBeDefined();
    expect(paths.find('configured')).toBeDefined();
    expect(paths.find('learnt-0')).toBeUndefined();
    expect(paths.find('learnt-99')).toBeDefined();
  });
});
