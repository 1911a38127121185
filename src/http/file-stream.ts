import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Writable } from 'node:stream';
import { drainOrClose } from '../lib/drain.js';
import { readFully } from '../lib/read-fully.js';

/** Read size of the cached path: each read is timed on its own (see SLOW_READS_ALLOWED). */
const CACHED_BLOCK = 64 * 1024;

/**
 * Send size of the cached path: reads are gathered to this much before one socket write. Each
 * write that finds the client asleep wakes it, and on a VM that wake-up (an IPI) cost reef more
 * CPU than the copy itself: curl took 1.0 GB/s with a write per 64 KiB read, 1.6-1.8 GB/s with
 * 1 MiB writes (bench/RESULTS.md, Blob GET). A transfer on this path holds one such buffer (the
 * threadpool ring holds SLOTS of SLOT bytes).
 */
const SEND_BLOCK = 1024 * 1024;

/**
 * Slow reads the cached path tolerates. A cached 64 KiB read takes tens of microseconds, but one
 * in several thousand takes milliseconds anyway (the thread was descheduled, a page fault):
 * those must not end the path. Each fast read earns back 1/REFILL_READS of a slow one.
 */
const SLOW_READS_ALLOWED = 4;
const REFILL_READS = 256;

/** After the cached path ends, this much goes through the threadpool before the cache is probed again. */
const RING_WINDOW = 32 * 1024 * 1024;

const SLOT = 1024 * 1024;

const SLOTS = 4;

export interface CopyFileOptions {
  /**
   * A read slower than this came from the disk, not the page cache (default 0.5 ms). Blocks are
   * read on the event loop only after a probe read through the threadpool was fast, and they go
   * back to the threadpool when more than SLOW_READS_ALLOWED reads in a row are slow: a file that
   * is not cached never blocks the loop, a partly cached one for a few reads at most.
   */
  slowReadMs?: number;
  /** Clock in milliseconds (tests make chosen reads look slow); performance.now by default. */
  now?: () => number;
}

export interface CopyFileResult {
  /** Bytes read on the event loop (page-cache path); the rest went through the threadpool. */
  cachedBytes: number;
}

interface Slot {
  buf: Buffer;
  /** Settles when the socket has taken the slot's last bytes. */
  free: Promise<void>;
}

interface Copy {
  fh: FileHandle;
  path: string;
  end: number;
  out: Writable;
  gone: () => boolean;
  now: () => number;
  /** Whether a read started at `t0` (from `now`) took longer than slowReadMs. */
  isSlow: (t0: number) => boolean;
  /** The threadpool path's buffers, made on first use and kept for the rest of the copy. */
  ring?: Slot[];
}

const shrank = (path: string) => () => new Error(`file shrank while being sent: ${path}`);

/** Sends `buf` and waits while the socket is above its high-water mark. */
const send = async (c: Copy, buf: Buffer, sent: () => void) => {
  if (c.gone()) throw new Error('client went away');
  const ok = c.out.write(buf, () => sent());
  if (!ok && !c.out.destroyed) await drainOrClose(c.out);
};

/** Reads and sends one block at `pos` through the threadpool; true if the read was fast (cached). */
const probe = async (c: Copy, pos: number): Promise<boolean> => {
  const block = Buffer.allocUnsafe(Math.min(CACHED_BLOCK, c.end - pos + 1));
  const t0 = c.now();
  await readFully(c.fh, block, pos, shrank(c.path));
  const fast = !c.isSlow(t0);
  await send(c, block, () => {});
  return fast;
};

/**
 * The page-cache path: blocks are read with readSync on the event loop, gathered to SEND_BLOCK and
 * written straight out. A cached 64 KiB read takes microseconds, cheaper than a threadpool
 * hand-off, and keeps the server on one thread, so it does not wake up on the client's core (on
 * a loaded 2-core box the pulling client is the bottleneck). Returns the offset where it stopped:
 * `end + 1`, or the offset after the slow read that used up the allowance (what was read before
 * it is sent first).
 */
const copyCached = async (c: Copy, pos: number): Promise<number> => {
  const free: Buffer[] = [];
  let allowance = SLOW_READS_ALLOWED;
  while (pos <= c.end && allowance >= 0) {
    const buf = free.pop() ?? Buffer.allocUnsafe(SEND_BLOCK);
    let filled = 0;
    while (filled < SEND_BLOCK && pos <= c.end && allowance >= 0) {
      const want = Math.min(CACHED_BLOCK, c.end - pos + 1);
      const t0 = c.now();
      for (let got = 0; got < want; ) {
        const n = readSync(c.fh.fd, buf, filled + got, want - got, pos + got);
        if (n === 0) throw shrank(c.path)();
        got += n;
      }
      allowance = c.isSlow(t0) ? allowance - 1 : Math.min(SLOW_READS_ALLOWED, allowance + 1 / REFILL_READS);
      pos += want;
      filled += want;
    }
    await send(c, filled === SEND_BLOCK ? buf : buf.subarray(0, filled), () => free.push(buf));
    // While the socket takes every write at once, 'drain' comes on the next tick and the loop
    // would otherwise never see other connections until the whole file is sent.
    await nextTurn();
  }
  return pos;
};

/**
 * The disk path: bytes [from, to] through a small ring of reused 1 MiB buffers filled by the
 * threadpool. A slot is refilled only after the socket has taken its previous bytes (the write
 * callback), and the next block is read while the socket drains the current one, so the client
 * never waits for the disk read as well.
 */
const copyRing = async (c: Copy, from: number, to: number): Promise<void> => {
  const ring = (c.ring ??= Array.from({ length: SLOTS }, () => ({ buf: Buffer.allocUnsafe(SLOT), free: Promise.resolve() })));
  let next = from;
  /** Starts reading the next block into slot i, once the socket has taken that slot's last bytes. */
  const readAhead = (i: number) => {
    if (next > to) return undefined;
    const slot = ring[i % SLOTS]!;
    const at = next;
    const want = Math.min(SLOT, to - at + 1);
    next += want;
    const read = slot.free.then(() => readFully(c.fh, slot.buf.subarray(0, want), at, shrank(c.path))).then(() => ({ slot, want }));
    read.catch(() => {}); // awaited below; this only keeps a failure while draining from being "unhandled"
    return read;
  };
  let i = 0;
  for (let pending = readAhead(i); pending; ) {
    const { slot, want } = await pending;
    pending = readAhead(++i);
    let release!: () => void;
    slot.free = new Promise<void>((r) => (release = r));
    await send(c, want === SLOT ? slot.buf : slot.buf.subarray(0, want), () => release());
  }
  // the next window starts at slot 0: wait until the socket has taken every slot's bytes
  await Promise.all(ring.map((s) => s.free));
};

/**
 * Copies bytes [start, end] of a file to a writable (an HTTP response) and ends it, honouring
 * 'drain'. No per-chunk garbage (createReadStream allocates a fresh buffer per chunk; at
 * gigabytes per second that, not the I/O, dominated reef's CPU profile). A probe block is read
 * through the threadpool and timed: if it came from the page cache the copy goes on from the
 * event loop (copyCached) while reads stay fast, else, and after the cached path ends, a window
 * goes through the threadpool ring (copyRing) before the next probe. Resolves when done; rejects
 * if the client goes away or the file shrinks.
 */
export const copyFileRange = async (path: string, start: number, end: number, out: Writable, opts: CopyFileOptions = {}): Promise<CopyFileResult> => {
  const slowReadMs = opts.slowReadMs ?? 0.5;
  const now = opts.now ?? (() => performance.now());
  const fh = await open(path, 'r');
  let closed = false;
  const onClose = () => {
    closed = true;
  };
  out.once('close', onClose);
  const c: Copy = { fh, path, end, out, gone: () => closed || out.destroyed, now, isSlow: (t0) => now() - t0 > slowReadMs };
  try {
    let pos = start;
    let cachedBytes = 0;
    while (pos <= end) {
      const fast = await probe(c, pos);
      pos = Math.min(end + 1, pos + CACHED_BLOCK);
      if (fast && pos <= end) {
        const stop = await copyCached(c, pos);
        cachedBytes += stop - pos;
        pos = stop;
      }
      if (pos <= end) {
        const to = Math.min(end, pos + RING_WINDOW - 1);
        await copyRing(c, pos, to);
        pos = to + 1;
      }
    }
    if (c.gone()) throw new Error('client went away');
    out.end();
    return { cachedBytes };
  } finally {
    out.off('close', onClose);
    await fh.close();
  }
};
