/**
 * Testing an application on the simulator: the same Host and Stream code, on a simulated
 * network with a lossy Wi-Fi link and a partition, on a virtual clock. The run depends on its
 * seed alone, so a failure replays exactly; and ten virtual seconds take a few real milliseconds.
 */
import { createNativeSuite, Host, Identity, seededRandom, type Stream } from '../src/index.js';
import { applyPlan, SimNetwork } from '../src/net/sim/index.js';

const encode = (text: string) => new TextEncoder().encode(text);

export async function simulatedUpload(
  seed: number,
): Promise<{ received: number; ms: number; traceHash: string }> {
  const net = new SimNetwork({ seed });
  const simClient = net.addHost({ name: 'client', addresses: ['10.0.0.1'] });
  const simServer = net.addHost({ name: 'server', addresses: ['10.0.0.2'] });
  net.setLinks(simClient, simServer, 'wifi_lossy');
  // Hosts on simulated sockets and the simulator's clock; seeded keys keep the run reproducible.
  const host = async (sim: typeof simClient, keySeed: number) => {
    const suite = createNativeSuite(seededRandom(keySeed));
    return Host.create({
      identity: Identity.generate(suite),
      suite,
      sockets: [sim.bind(4433)],
      clock: sim.clock,
      wallClockMs: () => 1_790_000_000_000 + net.now(),
    });
  };
  const client = await host(simClient, seed * 2);
  const server = await host(simServer, seed * 2 + 1);

  let received = 0;
  server.listen('upload', '', 'v1', '').newConnection$.subscribe((stream: Stream) => {
    stream.readyRead$.subscribe(() => {
      for (let data = stream.readData(); data.length > 0; data = stream.readData()) {
        received += data.length;
      }
    });
  });
  const stream = client.connect(server.eid, 'upload', 'v1', {
    endpoints: [{ host: '10.0.0.2', port: 4433 }],
  });
  for (let i = 0; i < 200; i++) stream.writeData(encode('x'.repeat(1000)));
  stream.shutdownWrite();

  // Faults are data: a 2-second partition in the middle of the upload.
  applyPlan(net, [
    { at: 100, type: 'partition', a: ['client'], b: ['server'] },
    { at: 2100, type: 'heal-all' },
  ]);
  net.runUntil(() => received === 200_000, 60_000);
  return { received, ms: net.now(), traceHash: net.trace.hash };
}
