/**
 * Request and response: a server answers each request record with one record, and a client
 * asks twice on one stream. Both hosts run on loopback UDP in this process.
 */
import { Host, records } from '../src/index.js';

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

export async function requestResponse(): Promise<string[]> {
  // Each host is an identity (a fresh one here) on a UDP socket bound to 127.0.0.1:0.
  const server = await Host.create({ bind: [{ host: '127.0.0.1', port: 0 }] });
  const client = await Host.create({});

  server
    .listen('greeter', 'says hello', 'v1', 'one record in, one record out')
    .newConnection$.subscribe(async (stream) => {
      for await (const name of records(stream)) {
        stream.writeRecord(encode(`hello, ${decode(name)}`));
      }
      stream.shutdownWrite();
    });

  // The stream exists at once; what is written waits for the channel, which the first write opens.
  const stream = client.connect(server.eid, 'greeter', 'v1', { endpoints: server.addresses });
  stream.linkState$.subscribe((state) => console.log(`link ${state}`));
  stream.writeRecord(encode('Ada'));
  stream.writeRecord(encode('Grace'));
  stream.shutdownWrite();

  const replies: string[] = [];
  for await (const reply of records(stream)) replies.push(decode(reply));
  await Promise.all([client.close(), server.close()]);
  return replies; // ['hello, Ada', 'hello, Grace']
}
