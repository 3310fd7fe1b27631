/**
 * The channel core's two ways of handing out datagrams: into the caller's buffer (`poll`) and in a
 * buffer of the datagram's own size (`pollDatagram`), which must be the very same bytes; and the
 * receiving side, which opens frames into a buffer of their own.
 */
import { describe, expect, it } from 'vitest';
import {
  ChannelCore,
  type ChannelCoreOptions,
  type FrameSource,
  type LinkState,
} from '../../src/channel/channel-core.js';
import { createNativeSuite } from '../../src/crypto/native-suite.js';
import { createNobleSuite } from '../../src/crypto/noble-suite.js';
import type { CryptoSuite } from '../../src/crypto/suite.js';
import { MAX_UDP_PAYLOAD_IPV6 } from '../../src/net/datagram-socket.js';

const KEY_A = Uint8Array.from({ length: 32 }, (_, i) => i);
const KEY_B = Uint8Array.from({ length: 32 }, (_, i) => 100 + i);

/** One end of a channel between A (id 1) and B (id 2), at `peerHost`. */
function core<T = never>(
  suite: CryptoSuite,
  side: 'a' | 'b',
  peerHost = '10.0.0.2',
  more: Partial<ChannelCoreOptions<T>> = {},
): ChannelCore<T> {
  const a = side === 'a';
  const options: ChannelCoreOptions<T> = {
    suite,
    path: { key: `path-${side}`, peerHost },
    sendKey: a ? KEY_A : KEY_B,
    receiveKey: a ? KEY_B : KEY_A,
    localChannelId: a ? 1 : 2,
    remoteChannelId: a ? 2 : 1,
    ...more,
  };
  return new ChannelCore(options, 0);
}

/** A frame source sending one empty frame of type 0x08, and calling `onAcked` at its ACK. */
function oneFrame(onAcked: () => void = () => undefined): FrameSource<number> {
  let due = true;
  return {
    hasFrames: () => due,
    writeFrames(out, offset) {
      if (!due) return undefined;
      due = false;
      out[offset] = 0x08;
      return { end: offset + 1, token: 1 };
    },
    onAcked,
    onLost: () => undefined,
    onFrame: (type) => (type === 0x08 ? 'decoded' : 'unknown'),
  };
}

/** Every datagram `poll` gives at `now`, each copied out of the scratch buffer. */
function pollAll<T>(channel: ChannelCore<T>, now: number): Uint8Array[] {
  const out = new Uint8Array(MAX_UDP_PAYLOAD_IPV6);
  const datagrams: Uint8Array[] = [];
  for (let length = channel.poll(out, now); length > 0; length = channel.poll(out, now)) {
    datagrams.push(out.slice(0, length));
    if (datagrams.length > 100) throw new Error('poll never runs dry');
  }
  return datagrams;
}

function pollDatagramAll<T>(channel: ChannelCore<T>, now: number): Uint8Array[] {
  const datagrams: Uint8Array[] = [];
  for (let d = channel.pollDatagram(now); d !== undefined; d = channel.pollDatagram(now)) {
    datagrams.push(d);
    if (datagrams.length > 100) throw new Error('pollDatagram never runs dry');
  }
  return datagrams;
}

describe('ChannelCore', () => {
  for (const suite of [createNativeSuite(), createNobleSuite()]) {
    it(`pollDatagram gives poll's bytes, each in a buffer of exactly its size (${suite.name})`, () => {
      // Loopback: the path MTU probes reach 64 KB datagrams, far from the base size.
      for (const peerHost of ['10.0.0.2', '127.0.0.1']) {
        const viaPoll = core(suite, 'a', peerHost);
        const viaDatagram = core(suite, 'a', peerHost);
        for (const channel of [viaPoll, viaDatagram]) channel.ping();
        const expected = pollAll(viaPoll, 1);
        const actual = pollDatagramAll(viaDatagram, 1);
        expect(expected.length).toBeGreaterThan(0);
        expect(actual.map((d) => Buffer.from(d).toString('hex'))).toEqual(
          expected.map((d) => Buffer.from(d).toString('hex')),
        );
        for (const datagram of actual) expect(datagram.buffer.byteLength).toBe(datagram.length);
      }
    });

    it(`the peer opens and acknowledges what pollDatagram gives (${suite.name})`, () => {
      const a = core(suite, 'a');
      const b = core(suite, 'b');
      a.ping();
      const sent = pollDatagramAll(a, 1);
      for (const datagram of sent) b.receive(datagram, 2);
      expect(b.stats.packetsReceived).toBe(sent.length);
      expect(b.stats.authFailed).toBe(0);
      // B's acknowledgement is due at the latest the ACK delay (25 ms) after the ping.
      const acks = pollDatagramAll(b, 30);
      expect(acks.length).toBeGreaterThan(0);
      for (const datagram of acks) a.receive(datagram, 40);
      expect(a.stats.packetsReceived).toBe(acks.length);
      expect(a.stats.authFailed).toBe(0);
      expect(a.recovery.largestAcked).toBeGreaterThanOrEqual(0);
    });

    it(`closed from within a packet's frames, it reports no link state after its close (${suite.name})`, () => {
      const events: string[] = [];
      // What a host may do when it hears of acknowledged data: close the channel at once.
      const a: ChannelCore<number> = core<number>(suite, 'a', '10.0.0.2', {
        source: oneFrame(() => {
          a.close();
          a.pollDatagram(2001);
        }),
        onLinkState: (state: LinkState) => events.push(state),
        onClose: () => events.push('closed'),
      });
      const b = core<number>(suite, 'b', '10.0.0.2', { source: oneFrame() });
      const data = pollDatagramAll(a, 1).at(-1) as Uint8Array;
      // Unacknowledged for long, the link is stalled; the acknowledgement would bring it up.
      a.onTimeout(2000);
      expect(a.linkState).toBe('stalled');
      b.receive(data, 2);
      for (const ack of pollDatagramAll(b, 30)) a.receive(ack, 2001);
      expect(a.closed).toBe(true);
      expect(events).toEqual(['stalled', 'closed']);
    });

    it(`a datagram changed in flight is dropped as failing authentication (${suite.name})`, () => {
      const a = core(suite, 'a');
      const b = core(suite, 'b');
      a.ping();
      const [datagram] = pollDatagramAll(a, 1) as [Uint8Array];
      const forged = datagram.slice();
      forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1;
      b.receive(forged, 2);
      expect(b.stats.authFailed).toBe(1);
      expect(b.stats.packetsReceived).toBe(0);
      b.receive(datagram, 3);
      expect(b.stats.packetsReceived).toBe(1);
    });
  }
});
