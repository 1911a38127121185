import { open } from 'node:fs/promises';
import { giveBuffer, takeBuffer } from './buffer-pool.js';

/**
 * A file's bytes as lent chunks of up to `bufferBytes`, read into two reused buffers: the next
 * read runs while the consumer holds the current chunk, which stays valid until it asks for the
 * one after (then its buffer is read into again). No allocation per chunk.
 */
export async function* fileChunks(path: string, bufferBytes = 1024 * 1024): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  const buffers = [takeBuffer(bufferBytes), takeBuffer(bufferBytes)];
  let turn = 0;
  let pending = fh.read(buffers[0]!, 0, bufferBytes, null);
  try {
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) return;
      const current = buffers[turn]!;
      turn ^= 1;
      pending = fh.read(buffers[turn]!, 0, bufferBytes, null);
      yield current.subarray(0, bytesRead);
    }
  } finally {
    await pending.catch(() => undefined);
    await fh.close();
    for (const b of buffers) giveBuffer(b);
  }
}
