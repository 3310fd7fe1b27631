/**
 * Chat over substreams: one stream per participant, one substream per room. Messages are
 * records; the server tags each with the room's name and sends it back on the same substream.
 * Rooms open without a round trip and never hold each other up.
 */
import { Host, records, type Stream } from '../src/index.js';

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The chat server: the first record of each room substream names the room. */
function serveChat(host: Host): void {
  host
    .listen('chat', 'rooms of messages', 'v1', 'a substream per room')
    .newConnection$.subscribe((member) => {
      member.listen('accept');
      member.substreams$.subscribe(async (room) => {
        let name: string | undefined;
        for await (const record of records(room)) {
          if (name === undefined) name = decode(record);
          else room.writeRecord(encode(`[${name}] ${decode(record)}`));
        }
        room.shutdownWrite();
      });
    });
}

/** Joins `name`, says each of `lines`, leaves; resolves to what the server sent back. */
async function say(member: Stream, name: string, lines: readonly string[]): Promise<string[]> {
  const room = member.openSubstream();
  room.writeRecord(encode(name));
  for (const line of lines) room.writeRecord(encode(line));
  room.shutdownWrite();
  const heard: string[] = [];
  for await (const record of records(room)) heard.push(decode(record));
  return heard;
}

export async function chat(): Promise<string[]> {
  const server = await Host.create({});
  const alice = await Host.create({});
  serveChat(server);
  const member = alice.connect(server.eid, 'chat', 'v1', { endpoints: server.addresses });
  const [general, random] = await Promise.all([
    say(member, 'general', ['hi all', 'anyone here?']),
    say(member, 'random', ['a substream per room']),
  ]);
  member.close();
  await Promise.all([alice.close(), server.close()]);
  return [...(general ?? []), ...(random ?? [])];
}
