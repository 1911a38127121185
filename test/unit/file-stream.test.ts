import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileRange, type CopyFileOptions } from '../../src/http/file-stream.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-file-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BLOCK = 64 * 1024;
const SEND = 1024 * 1024;
const data = randomBytes(5 * 1024 * 1024 + 12345);
const file = join(dir, 'data');
writeFileSync(file, data);
// larger than one 32 MiB threadpool window
const bigData = randomBytes(40 * 1024 * 1024 + 4321);
const big = join(dir, 'big');
writeFileSync(big, bigData);

/**
 * A writable that keeps what it gets and takes each chunk on a later macrotask, so the copier
 * must honour back-pressure. Records the most bytes ever queued in it.
 */
const sink = (opts: { destroyAfter?: number; highWaterMark?: number } = {}) => {
  const parts: Buffer[] = [];
  let got = 0;
  let mostQueued = 0;
  const w = new Writable({
    highWaterMark: opts.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      got += chunk.length;
      if (opts.destroyAfter !== undefined && got >= opts.destroyAfter) {
        parts.push(Buffer.from(chunk));
        cb();
        w.destroy();
        return;
      }
      // Copied only when the chunk is taken, a macrotask later: a copier that reused a buffer
      // before this callback ran would show up as wrong bytes.
      setImmediate(() => {
        parts.push(Buffer.from(chunk));
        cb();
      });
    },
  });
  const origWrite = w.write.bind(w);
  w.write = ((chunk: Buffer, cb?: (err?: Error | null) => void) => {
    const ok = origWrite(chunk, cb);
    mostQueued = Math.max(mostQueued, w.writableLength);
    return ok;
  }) as typeof w.write;
  return { w, body: () => Buffer.concat(parts), mostQueued: () => mostQueued };
};

const finished = (w: Writable) => new Promise<void>((r) => w.on('finish', () => r()));

/** Copies [start, end] of `path` into a fresh sink and waits until the sink has finished. */
const copyToSink = async (path: string, start: number, end: number, opts: CopyFileOptions) => {
  const s = sink();
  const done = finished(s.w);
  const res = await copyFileRange(path, start, end, s.w, opts);
  await done;
  return { res, body: s.body(), mostQueued: s.mostQueued() };
};

describe('copyFileRange', () => {
  it('sends a cached file from the event loop, byte-exact, waiting for drain', async () => {
    const start = 777;
    const end = data.length - 1001;
    const { res, body, mostQueued } = await copyToSink(file, start, end, { slowReadMs: 10_000 });
    expect(body.equals(data.subarray(start, end + 1))).toBe(true);
    // everything after the probe block went through the cached path
    expect(res.cachedBytes).toBe(end - start + 1 - BLOCK);
    // one 1 MiB send in flight at a time (plus the probe while it drains), never the whole range
    expect(mostQueued).toBeLessThanOrEqual(SEND + BLOCK);
  });

  it('gathers cached reads into 1 MiB writes', async () => {
    const s = sink();
    const sizes: number[] = [];
    const write = s.w.write.bind(s.w);
    s.w.write = ((chunk: Buffer, cb?: (err?: Error | null) => void) => (sizes.push(chunk.length), write(chunk, cb))) as typeof s.w.write;
    const done = finished(s.w);
    await copyFileRange(file, 0, data.length - 1, s.w, { slowReadMs: 10_000 });
    await done;
    expect(s.body().equals(data)).toBe(true);
    // the probe block, full sends, then the rest (5 MiB + 12345 bytes in all)
    expect(sizes).toEqual([BLOCK, SEND, SEND, SEND, SEND, data.length - BLOCK - 4 * SEND]);
  });

  it('reuses a send buffer only after the writable has taken it, even when write() asks for more', async () => {
    // Under a high-water mark of 4 MiB write() keeps returning true with earlier chunks still queued.
    const s = sink({ highWaterMark: 4 * SEND });
    const done = finished(s.w);
    await copyFileRange(file, 0, data.length - 1, s.w, { slowReadMs: 10_000 });
    await done;
    expect(s.body().equals(data)).toBe(true);
  });

  it('goes through the threadpool ring when the first read looks like a disk read', async () => {
    const { res, body } = await copyToSink(file, 0, data.length - 1, { slowReadMs: -1 });
    expect(body.equals(data)).toBe(true);
    expect(res.cachedBytes).toBe(0);
  });

  /** A clock under which the timed reads numbered in `slow` (0 = the first probe) take 1 s. */
  const slowClock = (slow: Set<number>) => {
    let calls = 0;
    return () => {
      const i = calls++; // two calls per timed read: its start, then the check
      return i % 2 === 1 && slow.has(i >> 1) ? 1000 : 0;
    };
  };

  it('goes to the threadpool after five slow cached reads in a row', async () => {
    const { res, body } = await copyToSink(file, 10, data.length - 1, { slowReadMs: 5, now: slowClock(new Set([3, 4, 5, 6, 7])) });
    expect(body.equals(data.subarray(10))).toBe(true);
    // cached reads 1..7 happened (the 5th slow one, read 7, used up the allowance); the rest fits one ring window
    expect(res.cachedBytes).toBe(7 * BLOCK);
  });

  it('keeps the cached path through a few scattered slow reads', async () => {
    // four close together use the allowance up to the last one; 260 fast reads later a fifth is forgiven
    const { res, body } = await copyToSink(big, 0, bigData.length - 1, { slowReadMs: 5, now: slowClock(new Set([10, 20, 30, 40, 300])) });
    expect(body.equals(bigData)).toBe(true);
    expect(res.cachedBytes).toBe(bigData.length - BLOCK);
  });

  it('probes the cache again after a window through the threadpool', async () => {
    const { res, body } = await copyToSink(big, 0, bigData.length - 1, { slowReadMs: 5, now: slowClock(new Set([1, 2, 3, 4, 5])) });
    expect(body.equals(bigData)).toBe(true);
    // probe, 5 slow cached reads, a 32 MiB ring window, a fast probe, then cached to the end
    const reprobeAt = 6 * BLOCK + 32 * 1024 * 1024;
    expect(res.cachedBytes).toBe(5 * BLOCK + (bigData.length - reprobeAt - BLOCK));
  });

  it('lets the event loop run other work while a fast client takes every write at once', async () => {
    // A sink that takes each chunk synchronously, like a socket with room in its send buffer. Once
    // 1 MiB has arrived it schedules an immediate and notes how far the copy got when that ran:
    // without yielding, the copy would run on in microtasks and the immediate only at the end.
    let got = 0;
    let ranAt = -1;
    const fast = new Writable({
      write(chunk: Buffer, _enc, cb) {
        got += chunk.length;
        if (got >= 1024 * 1024 && ranAt === -1) {
          ranAt = 0;
          setImmediate(() => (ranAt = got));
        }
        cb();
      },
    });
    await copyFileRange(file, 0, data.length - 1, fast, { slowReadMs: 10_000 });
    expect(got).toBe(data.length);
    expect(ranAt).toBeGreaterThan(0);
    expect(ranAt).toBeLessThanOrEqual(3 * 1024 * 1024);
  });

  it('sends a range shorter than one block and a single byte', async () => {
    for (const [start, end] of [
      [100, 199],
      [4242, 4242],
      [data.length - 1, data.length - 1],
    ] as const) {
      const { body } = await copyToSink(file, start, end, { slowReadMs: 10_000 });
      expect(body.equals(data.subarray(start, end + 1))).toBe(true);
    }
  });

  for (const [path, slowReadMs] of [
    ['cached', 10_000],
    ['ring', -1],
  ] as const) {
    it(`rejects when the file is shorter than the range (${path} path)`, async () => {
      const s = sink();
      await expect(copyFileRange(file, 0, data.length + 3 * BLOCK, s.w, { slowReadMs })).rejects.toThrow(/file shrank while being sent/);
    });

    it(`rejects when the client goes away mid-transfer (${path} path)`, async () => {
      const s = sink({ destroyAfter: 2 * 1024 * 1024 });
      await expect(copyFileRange(file, 0, data.length - 1, s.w, { slowReadMs })).rejects.toThrow(/client went away/);
      expect(s.body().length).toBeLessThan(data.length);
    });
  }
});
