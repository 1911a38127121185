import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { drainOrClose } from '../../lib/drain.js';

const SLOT = 1024 * 1024;

const SLOTS = 4;

/**
 * Copies bytes [start, end] of a file to a writable (an HTTP response) through a small ring of
 * reused buffers. createReadStream allocates a fresh buffer per chunk; at gigabytes per second
 * that garbage, not the I/O, dominated reef's CPU profile. A slot is refilled only after the
 * socket has taken the previous bytes from it (the write callback), and 'drain' is honoured.
 * Resolves when done; rejects if the client goes away.
 */
export const copyFileRange = async (path: string, start: number, end: number, out: Writable): Promise<void> => {
  const fh = await open(path, 'r');
  const ring = Array.from({ length: SLOTS }, () => ({ buf: Buffer.allocUnsafe(SLOT), free: Promise.resolve() as Promise<void> }));
  let closed = false;
  const onClose = () => {
    closed = true;
  };
  out.once('close', onClose);
  try {
    let pos = start;
    for (let i = 0; pos <= end; i++) {
      const slot = ring[i % SLOTS]!;
      await slot.free;
      if (closed || out.destroyed) throw new Error('client went away');
      const want = Math.min(SLOT, end - pos + 1);
      const { bytesRead } = await fh.read(slot.buf, 0, want, pos);
      if (bytesRead === 0) throw new Error(`file shrank while being sent: ${path}`);
      pos += bytesRead;
      let release!: () => void;
      slot.free = new Promise<void>((r) => (release = r));
      const ok = out.write(bytesRead === SLOT ? slot.buf : slot.buf.subarray(0, bytesRead), () => release());
      if (!ok && !out.destroyed) await drainOrClose(out);
    }
    await Promise.all(ring.map((s) => s.free));
    out.end();
  } finally {
    out.off('close', onClose);
    await fh.close();
  }
};
