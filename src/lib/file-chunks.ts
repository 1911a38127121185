import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { giveBuffer, takeBuffer } from './buffer-pool.js';
import { DIRECT_ALIGN, giveAligned, openDirect, takeAligned } from './direct-io.js';

/**
 * A file's bytes as lent chunks of up to `bufferBytes`, read into two reused buffers: the next
 * read runs while the consumer holds the current chunk, which stays valid until it asks for the
 * one after (then its buffer is read into again). No allocation per chunk. With `direct`, read
 * with O_DIRECT when the filesystem allows it (a file read once: see direct-io.ts); `bufferBytes`
 * is then a multiple of 4 KiB.
 */
export async function* fileChunks(path: string, bufferBytes = 1024 * 1024, o: { direct?: boolean } = {}): AsyncGenerator<Buffer> {
  const direct = o.direct && bufferBytes % DIRECT_ALIGN === 0 ? await openDirect(path, constants.O_RDONLY) : undefined;
  let aligned: Buffer[] | undefined;
  if (direct) {
    let a: Buffer | undefined;
    try {
      a = (await direct.stat()).size > 0 ? takeAligned(bufferBytes, direct.fd, 'read') : undefined;
      const b = a && takeAligned(bufferBytes, direct.fd, 'read');
      if (a && b) aligned = [a, b];
    } catch (err) {
      if (a) giveAligned(a);
      await direct.close();
      throw err;
    }
    if (!aligned) {
      if (a) giveAligned(a);
      await direct.close();
    }
  }
  const fh = aligned ? direct! : await open(path, 'r');
  const buffers = aligned ?? [takeBuffer(bufferBytes), takeBuffer(bufferBytes)];
  let turn = 0;
  let position = 0;
  const readNext = () => {
    const at = position;
    position += bufferBytes;
    return fh.read(buffers[turn]!, 0, bufferBytes, at);
  };
  let pending = readNext();
  try {
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) return;
      const current = buffers[turn]!;
      turn ^= 1;
      // A short read is the end of the file (a direct read returns what is left before EOF).
      pending = bytesRead < bufferBytes ? Promise.resolve({ bytesRead: 0, buffer: current }) : readNext();
      yield current.subarray(0, bytesRead);
    }
  } finally {
    await pending.catch(() => undefined);
    await fh.close();
    for (const b of buffers) (aligned ? giveAligned : giveBuffer)(b);
  }
}
