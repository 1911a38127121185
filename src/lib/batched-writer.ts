import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { giveBuffer, takeBuffer } from './buffer-pool.js';
import { alignUp, giveAligned, openDirect, takeAligned } from './direct-io.js';

export interface BatchedWriter {
  /** Copies `piece` in; the caller may reuse it as soon as this resolves. */
  write(piece: Uint8Array): Promise<void>;
  /** Writes the rest; the file then holds exactly the bytes given. */
  close(): Promise<void>;
  /** Gives the buffers back (always call it, also after an error). */
  release(): void;
}

/**
 * Writes a stream of pieces of any size (socket reads of a few KiB to 1 MiB) to a file from its
 * start in writes of `batchBytes`: each piece is copied into one of two reused buffers, one filling
 * while the other is written, so the caller may reuse a piece as soon as `write` resolves (a lent
 * read buffer) and no piece is allocated or kept. With `aligned` buffers (a file opened O_DIRECT,
 * see direct-io.ts) the last write is padded to the alignment and the file cut back to its size.
 */
export const createBatchedWriter = (fh: FileHandle, batchBytes = 1024 * 1024, aligned?: [Buffer, Buffer]): BatchedWriter => {
  const buffers = aligned ?? [takeBuffer(batchBytes), takeBuffer(batchBytes)];
  let current = 0;
  let filled = 0;
  let position = 0;
  let writing: Promise<void> = Promise.resolve();
  let failed: unknown;
  const writeAll = async (bytes: Buffer, at: number) => {
    for (let done = 0; done < bytes.length; ) done += (await fh.write(bytes, done, bytes.length - done, at + done)).bytesWritten;
  };
  const flush = async () => {
    if (filled === 0) return;
    const size = aligned ? alignUp(filled) : filled;
    const full = buffers[current]!.fill(0, filled, size).subarray(0, size);
    await writing; // the other buffer's write: done before that buffer is filled again
    writing = writeAll(full, position).catch((err: unknown) => {
      failed ??= err;
    });
    position += filled;
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
      // The padding of the last write, and the probe's 4 KiB (direct-io.ts) in a shorter file.
      if (aligned) await fh.truncate(position);
    },
    release(): void {
      void writing.then(() => {
        for (const b of buffers) (aligned ? giveAligned : giveBuffer)(b);
      });
    },
  };
};

/**
 * Opens `path` (numeric open flags, for writing from its start) for a bulk write: direct I/O when
 * the filesystem allows it (see direct-io.ts), else through the page cache.
 */
export const openBulkWriter = async (path: string, flags: number, batchBytes = 1024 * 1024): Promise<{ fh: FileHandle; out: BatchedWriter }> => {
  // The direct path probes with a write at offset 0 (direct-io.ts): only for a file written from its start.
  if (!(flags & (constants.O_TRUNC | constants.O_EXCL))) throw new Error(`openBulkWriter(${path}): flags must hold O_TRUNC or O_EXCL`);
  const direct = await openDirect(path, flags);
  if (direct) {
    let a: Buffer | undefined;
    try {
      a = takeAligned(batchBytes, direct.fd, 'write');
      const b = a && takeAligned(batchBytes, direct.fd, 'write');
      if (a && b) return { fh: direct, out: createBatchedWriter(direct, batchBytes, [a, b]) };
    } catch (err) {
      // A probe that failed otherwise (ENOSPC, EIO): nothing kept open; the caller removes the file.
      if (a) giveAligned(a);
      await direct.close();
      throw err;
    }
    if (a) giveAligned(a);
    await direct.close();
  }
  // A refused O_DIRECT open may have created the file already (see openDirect), and a probe may have
  // written its 4 KiB: reopened emptied.
  const fh = await open(path, direct ? (flags & ~constants.O_EXCL) | constants.O_TRUNC : flags, 0o644);
  return { fh, out: createBatchedWriter(fh, batchBytes) };
};
