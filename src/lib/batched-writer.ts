import type { FileHandle } from 'node:fs/promises';
import { giveBuffer, takeBuffer } from './buffer-pool.js';

/**
 * Writes a stream of pieces of any size (socket reads of a few KiB to 1 MiB) to a file in writes of
 * `batchBytes`: each piece is copied into one of two reused buffers, one filling while the other is
 * written, so the caller may reuse a piece as soon as `write` resolves (a lent read buffer) and no
 * piece is allocated or kept. `close` flushes the rest; `release` gives the buffers back (always
 * call it, also after an error).
 */
export const createBatchedWriter = (fh: FileHandle, batchBytes = 1024 * 1024) => {
  const buffers = [takeBuffer(batchBytes), takeBuffer(batchBytes)];
  let current = 0;
  let filled = 0;
  let writing: Promise<void> = Promise.resolve();
  let failed: unknown;
  const writeAll = async (bytes: Buffer) => {
    for (let at = 0; at < bytes.length; ) at += (await fh.write(bytes, at, bytes.length - at)).bytesWritten;
  };
  const flush = async () => {
    if (filled === 0) return;
    const full = buffers[current]!.subarray(0, filled);
    await writing; // the other buffer's write: done before that buffer is filled again
    writing = writeAll(full).catch((err: unknown) => {
      failed ??= err;
    });
    current ^= 1;
    filled = 0;
  };
  return {
    async write(piece: Uint8Array): Promise<void> {
      if (failed) throw failed;
      for (let at = 0; at < piece.length; ) {
        const n = Math.min(piece.length - at, batchBytes - filled);
        buffers[current]!.set(piece.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === batchBytes) await flush();
      }
    },
    async close(): Promise<void> {
      await flush();
      await writing;
      if (failed) throw failed;
    },
    release(): void {
      void writing.then(() => {
        for (const b of buffers) giveBuffer(b);
      });
    },
  };
};
