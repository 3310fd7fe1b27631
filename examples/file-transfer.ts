/**
 * File transfer: one substream per file, each with its own priority, all on one stream and
 * one channel. The small, urgent file is not stuck behind the large one; each file's bytes
 * are flow-controlled on their own; the receiver answers each file with its SHA-256.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { firstValueFrom } from 'rxjs';
import { chunks, Host, records, type Stream, toDuplex } from '../src/index.js';

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The first record of a substream: here, the name of the file whose bytes follow. */
async function firstRecord(stream: Stream): Promise<string> {
  for (;;) {
    const record = stream.readRecord();
    if (record !== undefined) return decode(record);
    await firstValueFrom(stream.readyReadRecord$);
  }
}

/** Serves 'files': writes each file it receives into `dir`, answers with its SHA-256. */
function receiveInto(host: Host, dir: string): void {
  host
    .listen('files', 'stores files', 'v1', 'a substream per file')
    .newConnection$.subscribe((top) => {
      top.listen('accept'); // take the substreams the peer opens under this stream
      top.substreams$.subscribe(async (file) => {
        const name = basename(await firstRecord(file)); // never a path of the sender's choosing
        const hash = createHash('sha256');
        await pipeline(
          chunks(file),
          async function* (source: AsyncIterable<Uint8Array>) {
            for await (const chunk of source) {
              hash.update(chunk);
              yield chunk;
            }
          },
          createWriteStream(join(dir, name)),
        );
        file.writeRecord(encode(hash.digest('hex')));
        file.shutdownWrite();
      });
    });
}

/** Sends each file on its own substream; resolves to the SHA-256 the receiver computed. */
async function send(top: Stream, path: string, priority: number): Promise<string> {
  const file = top.openSubstream(); // no round trip: the name rides the first packet
  file.setPriority(priority); // strict between levels, fair within one
  file.writeRecord(encode(basename(path)));
  await pipeline(createReadStream(path), toDuplex(file)); // backpressure from the peer's window
  let digest = '';
  for await (const record of records(file)) digest = decode(record);
  return digest;
}

export async function fileTransfer(
  files: readonly { path: string; priority: number }[],
  outDir: string,
): Promise<string[]> {
  const receiver = await Host.create({});
  const sender = await Host.create({});
  receiveInto(receiver, outDir);
  const top = sender.connect(receiver.eid, 'files', 'v1', { endpoints: receiver.addresses });
  const digests = await Promise.all(files.map(({ path, priority }) => send(top, path, priority)));
  top.close();
  await Promise.all([sender.close(), receiver.close()]);
  return digests;
}
