import { closeSync, constants, openSync, writev, writevSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { DIRECT_ALIGN, giveAligned, openDirectSync, takeAligned } from '../../lib/direct-io.js';
import { youngGcPacer } from '../../lib/young-gc.js';
import { createWriteback, fdatasyncAsync } from './writeback.js';

const writevAsync = promisify(writev);

/**
 * Every upload body arrives as fresh Buffers (node:http copies each chunk), dead once written:
 * one young-generation GC per 8 MiB written by all uploads together keeps that garbage at 8 MiB
 * instead of the ~32 MB V8 lets pile up (see lib/young-gc.ts; peak RSS of a 1 GiB skopeo push
 * 128-130 MB before, 105-108 MB after).
 */
const uploadGc = youngGcPacer(8 * 1024 * 1024);

export interface UploadWriterOptions {
  /** Bytes gathered from the body before one positional writev (default 1 MiB). */
  flushBytes?: number;
  /**
   * A synchronous write slower than this (ms) means the disk is pushing back (dirty-page
   * throttling, a slow or network disk): the rest of this body is written through the
   * threadpool, with the body paused meanwhile, so other requests keep being served.
   */
  slowWriteMs?: number;
  /**
   * Start writeback each time this many bytes have been written (an fdatasync in the threadpool,
   * one at a time in the whole process; default 64 MiB, 0 = never). The disk then works while the body is still
   * arriving, the fsync at commit has only the tail left, and a big upload never piles up
   * gigabytes of dirty pages on a small edge box.
   */
  writebackBytes?: number;
  /** The writeback call (fdatasync; replaceable so a test can make it fail). */
  datasync?: (fd: number) => Promise<void>;
  /** Told the bytes of each write, whose Buffers are then garbage (default: the process-wide young-GC pacer). */
  gcPacer?: (bytes: number) => void;
  /**
   * Write a body of flushBytes or more that starts at an offset aligned to DIRECT_ALIGN with
   * direct I/O, where the filesystem allows it (default true; REEF_NO_DIRECT_IO=1 turns it off
   * for the process). See writeBodyAt.
   */
  direct?: boolean;
}

export interface UploadWriteResult {
  /** The file offset after the last byte written. */
  end: number;
  /** Whether the writer left the synchronous path for this body (see slowWriteMs). */
  wentAsync: boolean;
  /** Whether the body's bytes went to the disk with direct I/O (all but a tail under DIRECT_ALIGN). */
  wentDirect: boolean;
}

export class UploadWriteError extends Error {
  constructor(
    override readonly cause: unknown,
    /** The file offset after the last byte known to be written before the failure. */
    readonly end: number,
  ) {
    super((cause as Error)?.message ?? String(cause));
  }
}

/** Writes all of `bufs` at `pos`, looping over short writes; returns the bytes written. */
const writeAllSync = (fd: number, bufs: Buffer[], pos: number): number => {
  let written = 0;
  let rest = bufs;
  for (;;) {
    const total = rest.reduce((n, b) => n + b.length, 0);
    if (total === 0) return written;
    const n = writevSync(fd, rest, pos + written);
    written += n;
    if (n === total) return written;
    rest = dropBytes(rest, n);
  }
};

export const writeAllAsync = async (fd: number, bufs: Buffer[], pos: number): Promise<number> => {
  let written = 0;
  let rest = bufs;
  for (;;) {
    const total = rest.reduce((n, b) => n + b.length, 0);
    if (total === 0) return written;
    const { bytesWritten } = await writevAsync(fd, rest, pos + written);
    written += bytesWritten;
    if (bytesWritten === total) return written;
    rest = dropBytes(rest, bytesWritten);
  }
};

const dropBytes = (bufs: Buffer[], n: number): Buffer[] => {
  const out: Buffer[] = [];
  let skip = n;
  for (const b of bufs) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
};

/**
 * Streams a request body into `path` at `offset`, calling `tap` on every chunk in order (the
 * running digest). Chunks are gathered to `flushBytes` and written with one positional writev
 * on the event loop: a page-cache write of 1 MiB takes well under a millisecond, far less than
 * handing each ~50 KiB socket chunk to the threadpool (a wake-up, a context switch and a
 * completion per chunk, competing with the client for the same cores). When the disk pushes back
 * the writer moves to the threadpool for the rest of the body (see slowWriteMs).
 *
 * A body that reaches flushBytes and starts at an offset aligned to DIRECT_ALIGN (every PATCH of
 * skopeo, podman and reef's own client: they start at 0 or after a chunk of whole MiB) is written
 * with direct I/O instead, where the filesystem allows it: each flushBytes gathered are copied
 * into one aligned window and written from it through the threadpool while the next arrive (the
 * body is paused only when twice that is waiting), and the last bytes short of DIRECT_ALIGN go
 * through the page cache. A blob is written once and read rarely; through the page cache each
 * GiB cost 1.3–2.5 s of kernel CPU here filling fresh pages, on the one thread that also parses
 * and hashes (see lib/direct-io.ts).
 *
 * Resolves with the new end offset once the body has ended and every byte is written. A body
 * that errors or is aborted has what arrived written first, then the error is thrown, so the
 * file holds exactly the bytes received (a client resumes from there). A failed write rejects
 * with UploadWriteError carrying the offset up to which the file is known good; the rest of the
 * body is drained and discarded so the client gets an answer instead of a reset.
 */
export const writeBodyAt = (path: string, offset: number, body: Readable, tap: (chunk: Buffer) => void, opts: UploadWriterOptions = {}): Promise<UploadWriteResult> => {
  const flushBytes = opts.flushBytes ?? 1024 * 1024;
  const slowWriteMs = opts.slowWriteMs ?? 50;
  const writebackBytes = opts.writebackBytes ?? 64 * 1024 * 1024;
  const datasync = opts.datasync ?? fdatasyncAsync;
  const gcPacer = opts.gcPacer ?? uploadGc;
  return new Promise<UploadWriteResult>((resolve, reject) => {
    // Destroyed before this writer was attached (its error, if any, already emitted): no event will come.
    if (body.destroyed) {
      reject(body.errored ?? new Error('the body was closed before it was read'));
      return;
    }
    let fd: number;
    try {
      fd = openSync(path, 'r+');
    } catch (err) {
      reject(new UploadWriteError(err, offset));
      return;
    }
    let pos = offset;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let async = false;
    let writing: Promise<void> | undefined;
    let settled = false;
    /** Direct I/O (decided at the first flush): the O_DIRECT fd and its aligned window, and whether the body is paused waiting for a write. */
    let directTried = opts.direct === false || flushBytes < DIRECT_ALIGN || flushBytes % DIRECT_ALIGN !== 0;
    let direct: { fd: number; window: Buffer } | undefined;
    let paused = false;
    const writeback = createWriteback(fd, writebackBytes, datasync);

    const take = () => {
      const bufs = pending;
      pending = [];
      pendingBytes = 0;
      return bufs;
    };
    /** Copies the first `n` pending bytes into `into` (their Buffers are then garbage, or cut to what is left). */
    const takeInto = (into: Buffer, n: number) => {
      for (let filled = 0; filled < n; ) {
        const head = pending[0]!;
        const k = Math.min(head.length, n - filled);
        head.copy(into, filled, 0, k);
        filled += k;
        if (k === head.length) pending.shift();
        else pending[0] = head.subarray(k);
      }
      pendingBytes -= n;
    };
    /** A copy of the first `n` pending bytes (there are at least `n`), leaving them pending. */
    const firstBytes = (n: number): Buffer => {
      const parts: Buffer[] = [];
      for (let got = 0, i = 0; got < n; i++) {
        const piece = pending[i]!.subarray(0, n - got);
        parts.push(piece);
        got += piece.length;
      }
      return Buffer.concat(parts, n);
    };
    /** Counts written bytes (for the GC pacer too) and asks for a background fdatasync when enough have piled up. */
    const wrote = (n: number) => {
      pos += n;
      gcPacer(n);
      writeback.wrote(n);
    };
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onBodyError);
      body.off('aborted', onAborted);
      // No direct write is in flight once finish is called: its window can go back to the pool.
      if (direct) {
        giveAligned(direct.window);
        closeQuietly(direct.fd);
      }
      // A writeback still running holds the fd: close only after it.
      void writeback.done().then((syncFailed) => {
        closeQuietly(fd);
        // Writeback failed: the bytes of this body are not known to be on disk.
        if (err === undefined && syncFailed) err = new UploadWriteError(syncFailed.error, offset);
        if (err !== undefined) {
          if (!(err instanceof UploadWriteError)) {
            reject(err);
            return;
          }
          // Read and drop the rest, so the request completes and the error can be answered.
          body.on('error', () => {});
          body.resume();
          reject(err);
        } else resolve({ end: pos, wentAsync: async, wentDirect: direct !== undefined });
      });
    };
    /**
     * At the first flush: opens the file O_DIRECT and finds an aligned window, when the body's
     * offset allows it. Any failure on the way (EMFILE, a probe's EIO) leaves the body to the
     * buffered fd: a real disk problem shows there again, and is reported from there.
     */
    const tryDirect = () => {
      directTried = true;
      if (pos % DIRECT_ALIGN !== 0) return;
      let dfd: number | undefined;
      try {
        dfd = openDirectSync(path, constants.O_RDWR);
        if (dfd === undefined) return;
        // From offset 0 the probe writes the body's own first 4 KiB (the first flush writes them again); further on, it reads the bytes already there.
        const window = pos === 0 ? takeAligned(flushBytes, dfd, 'write', firstBytes(DIRECT_ALIGN)) : takeAligned(flushBytes, dfd, 'read');
        if (window) direct = { fd: dfd, window };
        else closeQuietly(dfd);
      } catch {
        if (dfd !== undefined) closeQuietly(dfd);
      }
    };
    /** Writes the first `n` pending bytes (a multiple of DIRECT_ALIGN) direct, through the threadpool, then calls `then`. */
    const flushDirect = (d: { fd: number; window: Buffer }, n: number, then: () => void) => {
      takeInto(d.window, n);
      writing = writeAllAsync(d.fd, [d.window.subarray(0, n)], pos).then(
        (w) => {
          wrote(w);
          writing = undefined;
          if (!settled) then();
        },
        (err) => {
          writing = undefined;
          finish(new UploadWriteError(err, pos));
        },
      );
    };
    /** Direct mode while the body flows: the next window if one is gathered, and the body resumed once little is waiting. */
    const pumpDirect = () => {
      if (!direct) return;
      if (!writing && pendingBytes >= flushBytes) flushDirect(direct, flushBytes, pumpDirect);
      if (writing && !paused && pendingBytes >= 2 * flushBytes) {
        paused = true;
        body.pause();
      } else if (paused && pendingBytes < 2 * flushBytes) {
        paused = false;
        body.resume();
      }
    };
    const flushSync = (): boolean => {
      const bufs = take();
      const t0 = performance.now();
      try {
        wrote(writeAllSync(fd, bufs, pos));
      } catch (err) {
        finish(new UploadWriteError(err, pos));
        return false;
      }
      if (performance.now() - t0 > slowWriteMs) async = true;
      return true;
    };
    const flushAsync = (then?: () => void) => {
      const bufs = take();
      body.pause();
      writing = writeAllAsync(fd, bufs, pos).then(
        (n) => {
          wrote(n);
          writing = undefined;
          if (settled) return;
          // Chunks that were already on their way while paused: write them before going on.
          if (pendingBytes >= flushBytes) flushAsync(then);
          else if (then) then();
          else body.resume();
        },
        (err) => {
          writing = undefined;
          finish(new UploadWriteError(err, pos));
        },
      );
    };
    /** Writes what is pending (direct while whole DIRECT_ALIGN blocks are left), then settles (with `err` when the body failed). */
    const drainThen = (err?: unknown) => {
      if (writing) {
        void writing.then(() => drainThen(err));
        return;
      }
      if (settled) return;
      if (direct && pendingBytes >= DIRECT_ALIGN) {
        flushDirect(direct, Math.min(flushBytes, pendingBytes - (pendingBytes % DIRECT_ALIGN)), () => drainThen(err));
        return;
      }
      if (pendingBytes === 0) return finish(err);
      if (async) flushAsync(() => drainThen(err));
      else if (flushSync()) finish(err);
    };

    const onData = (chunk: Buffer) => {
      tap(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < flushBytes) return;
      if (!directTried) tryDirect();
      if (direct) return pumpDirect();
      if (writing) return;
      if (async) flushAsync();
      else flushSync();
    };
    const onEnd = () => drainThen();
    const onBodyError = (err: Error) => drainThen(err);
    const onAborted = () => drainThen(new Error('client went away during the upload'));
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onBodyError);
    body.on('aborted', onAborted);
  });
};

/** Closes `fd`, ignoring a failure (every write on it already returned). */
export const closeQuietly = (fd: number) => {
  try {
    closeSync(fd);
  } catch {
    // nothing to keep: every write already returned
  }
};
