import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { drainOrClose } from '../../lib/drain.js';
import { readFully } from '../../lib/read-fully.js';

const SLOT = 1024 * 1024;

const SLOTS = 4;

/**
 * Copies bytes [start, end] of a file to a writable (an HTTP response) through a small ring of
 * reused buffers. createReadStream allocates a fresh buffer per chunk; at gigabytes per second
 * that garbage, not the I/O, dominated reef's CPU profile. A slot is refilled only after the
 * socket has taken the previous bytes from it (the write callback), and 'drain' is honoured.
 * The next block is read while the socket drains the current one, so a client that reads as
 * fast as it can never waits for the disk read as well. Resolves when done; rejects if the
 * client goes away.
 */
export const copyFileRange = async (path: string, start: number, end: number, out: Writable): Promise<void> => {
  const fh = await open(path, 'r');
  const ring = Array.from({ length: SLOTS }, () => ({ buf: Buffer.allocUnsafe(SLOT), free: Promise.resolve() as Promise<void> }));
  let closed = false;
  const onClose = () => {
    closed = true;
  };
  out.once('close', onClose);
  let next = start;
  /** Starts reading the next block into slot i, once the socket has taken that slot's last bytes. */
  const readAhead = (i: number) => {
    if (next > end) return undefined;
    const slot = ring[i % SLOTS]!;
    const at = next;
    const want = Math.min(SLOT, end - at + 1);
    next += want;
    const shrank = () => new Error(`file shrank while being sent: ${path}`);
    const read = slot.free.then(() => readFully(fh, slot.buf.subarray(0, want), at, shrank)).then(() => ({ slot, want }));
    read.catch(() => {}); // awaited below; this only keeps a failure while draining from being "unhandled"
    return read;
  };
  try {
    let i = 0;
    for (let pending = readAhead(i); pending; ) {
      const { slot, want } = await pending;
      if (closed || out.destroyed) throw new Error('client went away');
      pending = readAhead(++i);
      let release!: () => void;
      slot.free = new Promise<void>((r) => (release = r));
      const ok = out.write(want === SLOT ? slot.buf : slot.buf.subarray(0, want), () => release());
      if (!ok && !out.destroyed) await drainOrClose(out);
    }
    await Promise.all(ring.map((s) => s.free));
    out.end();
  } finally {
    out.off('close', onClose);
    await fh.close();
  }
};
