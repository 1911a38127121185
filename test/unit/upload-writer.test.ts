import { createHash, randomBytes } from 'node:crypto';
import { fdatasync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { writeChunksAt } from '../../src/registry/storage/chunk-writer.js';
import { UploadWriteError, writeBodyAt } from '../../src/registry/storage/upload-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-upload-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A body of `n` random chunks of 1..64 KiB, delivered with a macrotask between some of them. */
const chunks = (n: number) => Array.from({ length: n }, (_, i) => randomBytes(1 + ((i * 7919) % 65536)));
const slowBody = (parts: Buffer[]) =>
  Readable.from(
    (async function* () {
      for (const [i, p] of parts.entries()) {
        if (i % 5 === 0) await new Promise((r) => setImmediate(r));
        yield p;
      }
    })(),
  );

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('writeBodyAt', () => {
  it('appends the body at the offset, taps every chunk in order, keeps the bytes before it', async () => {
    const file = join(dir, 'a');
    const head = randomBytes(1000);
    writeFileSync(file, head);
    const parts = chunks(200);
    const tapped: Buffer[] = [];
    // A generous slow-write limit: under CI load (other tests writing gigabytes) a page-cache write can
    // be throttled past the default 50 ms, and this test is about the synchronous path.
    const r = await writeBodyAt(file, head.length, slowBody(parts), (c) => tapped.push(c), { flushBytes: 256 * 1024, slowWriteMs: 10_000 });
    const all = Buffer.concat(parts);
    expect(r.end).toBe(head.length + all.length);
    expect(r.wentAsync).toBe(false);
    expect(sha(Buffer.concat(tapped))).toBe(sha(all));
    expect(sha(readFileSync(file))).toBe(sha(Buffer.concat([head, all])));
  });

  it('moves to the threadpool when a write is slow, and still writes every byte in order', async () => {
    const file = join(dir, 'b');
    writeFileSync(file, '');
    const parts = chunks(300);
    // slowWriteMs -1: the first write counts as slow, every later one goes through fs.writev
    const r = await writeBodyAt(file, 0, slowBody(parts), () => {}, { flushBytes: 64 * 1024, slowWriteMs: -1, direct: false });
    expect(r.wentAsync).toBe(true);
    const all = Buffer.concat(parts);
    expect(r.end).toBe(all.length);
    expect(sha(readFileSync(file))).toBe(sha(all));
  });

  it('tells the GC pacer every byte it wrote, on the synchronous and the threadpool path', async () => {
    for (const slowWriteMs of [10_000, -1]) {
      const file = join(dir, `gc-${slowWriteMs}`);
      writeFileSync(file, '');
      const parts = chunks(150);
      const reported: number[] = [];
      const r = await writeBodyAt(file, 0, slowBody(parts), () => {}, { flushBytes: 128 * 1024, slowWriteMs, gcPacer: (n) => reported.push(n), direct: false });
      expect(r.wentAsync).toBe(slowWriteMs < 0);
      expect(reported.reduce((a, b) => a + b, 0)).toBe(Buffer.concat(parts).length);
      expect(reported.length).toBeGreaterThan(10); // per write, not once at the end
    }
  });

  it('on a body error writes what arrived, then rejects with that error', async () => {
    const file = join(dir, 'c');
    writeFileSync(file, '');
    const body = new PassThrough();
    const first = randomBytes(300 * 1024);
    const p = writeBodyAt(file, 0, body, () => {}, { flushBytes: 1024 * 1024 });
    body.write(first);
    await new Promise((r) => setImmediate(r));
    body.destroy(new Error('connection reset'));
    await expect(p).rejects.toThrow('connection reset');
    expect(sha(readFileSync(file))).toBe(sha(first));
  });

  it('on a failed write rejects with the known-good end and drains the rest of the body', async () => {
    // /dev/full refuses every write with ENOSPC.
    const body = new PassThrough();
    let ended = false;
    const p = writeBodyAt('/dev/full', 0, body, () => {}, { flushBytes: 1024 });
    body.on('end', () => (ended = true));
    body.write(randomBytes(4096));
    body.end(randomBytes(100_000));
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadWriteError);
    expect((err as UploadWriteError).end).toBe(0);
    expect(((err as UploadWriteError).cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
    await new Promise((r) => setTimeout(r, 20));
    expect(ended).toBe(true);
  });

  it('starts writeback as it goes and closes the file only after the last one', async () => {
    const file = join(dir, 'wb');
    writeFileSync(file, '');
    const parts = chunks(300);
    const fdsBefore = readdirSync('/proc/self/fd').length;
    const synced: number[] = [];
    let running = 0;
    const datasync = (fd: number) =>
      new Promise<void>((resolve, reject) => {
        running++;
        // Slow on purpose: the body ends while this one is still running.
        setTimeout(() => fdatasync(fd, (err) => (running--, synced.push(fd), err ? reject(err) : resolve())), 30);
      });
    const r = await writeBodyAt(file, 0, slowBody(parts), () => {}, { flushBytes: 64 * 1024, writebackBytes: 1024 * 1024, datasync });
    const all = Buffer.concat(parts);
    expect(r.end).toBe(all.length);
    expect(synced.length).toBeGreaterThan(0);
    // fdatasync succeeded on every call, so the fd was still open; it is closed now.
    expect(running).toBe(0);
    expect(readdirSync('/proc/self/fd').length).toBe(fdsBefore);
    expect(sha(readFileSync(file))).toBe(sha(all));
  });

  it('runs one writeback at a time across concurrent uploads, first come first served; an upload that ends while waiting leaves the line', async () => {
    // Each writeback is held until the test releases it, so the order is decided by the writer, not by timing.
    const files = [0, 1, 2, 3].map((i) => join(dir, `wbc${i}`));
    for (const f of files) writeFileSync(f, '');
    const started: string[] = [];
    /** Each held writeback: releasing it runs the real fdatasync and settles once that returns. */
    const releases: (() => Promise<void>)[] = [];
    let running = 0;
    let most = 0;
    const datasync = (fd: number) =>
      new Promise<void>((resolve, reject) => {
        running++;
        most = Math.max(most, running);
        started.push(readlinkSync(`/proc/self/fd/${fd}`));
        releases.push(
          () =>
            new Promise<void>((done) =>
              fdatasync(fd, (err) => {
                running--;
                if (err) reject(err);
                else resolve();
                done();
              }),
            ),
        );
      });
    const tick = async () => {
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    };
    const release = async () => {
      await releases.shift()!();
      await tick();
    };
    const bodies = files.map(() => new PassThrough());
    const sent: Buffer[][] = files.map(() => []);
    const send = async (i: number, bytes: number) => {
      for (let n = 0; n < bytes; n += 64 * 1024) {
        const b = randomBytes(64 * 1024);
        sent[i]!.push(b);
        bodies[i]!.write(b);
      }
      await tick();
    };
    const results = files.map((f, i) => writeBodyAt(f, 0, bodies[i]!, () => {}, { flushBytes: 64 * 1024, writebackBytes: 512 * 1024, datasync, direct: false }));
    // All four pass the writeback threshold in the order 0, 1, 2, 3: only 0 starts one.
    for (const i of [0, 1, 2, 3]) await send(i, 640 * 1024);
    expect(started).toEqual([files[0]]);
    // Upload 2 ends while waiting: it leaves the line (its commit fsyncs it anyway).
    bodies[2]!.end();
    await tick();
    await release();
    expect(started).toEqual([files[0], files[1]]);
    await release();
    expect(started).toEqual([files[0], files[1], files[3]]);
    expect(most).toBe(1);
    for (const b of [bodies[0]!, bodies[1]!, bodies[3]!]) b.end();
    await release();
    const ends = await Promise.all(results);
    expect(most).toBe(1);
    expect(releases).toHaveLength(0);
    ends.forEach((r, i) => expect(r.end).toBe(Buffer.concat(sent[i]!).length));
    files.forEach((f, i) => expect(sha(readFileSync(f))).toBe(sha(Buffer.concat(sent[i]!))));
  });

  it('a failed writeback fails the body from its start offset, not silently', async () => {
    const file = join(dir, 'wbfail');
    const head = randomBytes(5000);
    writeFileSync(file, head);
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const err = await writeBodyAt(file, head.length, slowBody(chunks(100)), () => {}, {
      flushBytes: 64 * 1024,
      writebackBytes: 256 * 1024,
      datasync: () => Promise.reject(eio),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadWriteError);
    expect((err as UploadWriteError).cause).toBe(eio);
    expect((err as UploadWriteError).end).toBe(head.length);
  });

  it('rejects with the open error when the file is missing', async () => {
    const err = await writeBodyAt(join(dir, 'missing', 'x'), 0, Readable.from([]), () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadWriteError);
    expect(((err as UploadWriteError).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});

/** `parts` lent one at a time through one reused buffer, overwritten as soon as the next is asked for. */
async function* lent(parts: Buffer[], failAfter = Infinity): AsyncGenerator<Buffer> {
  const buf = Buffer.alloc(Math.max(0, ...parts.map((p) => p.length)));
  for (const [i, p] of parts.entries()) {
    if (i === failAfter) throw new Error('the source dropped');
    p.copy(buf);
    yield buf.subarray(0, p.length);
    buf.fill(0xee);
  }
}

describe('writeBodyAt with direct I/O', () => {
  // The test dir is on the repository's disk (tmpfs may refuse O_DIRECT): ext4 here.
  const ddir = mkdtempSync(join(process.cwd(), '.upload-direct-test-'));
  afterAll(() => rmSync(ddir, { recursive: true, force: true }));
  const big = (n: number) => Array.from({ length: n }, (_, i) => randomBytes(1 + ((i * 104_729) % 200_000)));

  it.each([0, 1, 4095, 4096, 4097, 300_001])('from offset 0 writes every byte direct but a tail under 4 KiB, to the exact size (body + %i bytes)', async (extra) => {
    const file = join(ddir, `zero-${extra}`);
    writeFileSync(file, '');
    const parts = [...big(40), randomBytes(extra)].filter((p) => p.length > 0);
    const tapped: Buffer[] = [];
    const reported: number[] = [];
    const r = await writeBodyAt(file, 0, slowBody(parts), (c) => tapped.push(c), { flushBytes: 256 * 1024, gcPacer: (n) => reported.push(n) });
    const all = Buffer.concat(parts);
    expect(r.wentDirect).toBe(true);
    expect(r.end).toBe(all.length);
    expect(sha(Buffer.concat(tapped))).toBe(sha(all));
    expect(reported.reduce((a, b) => a + b, 0)).toBe(all.length);
    expect(sha(readFileSync(file))).toBe(sha(all));
  });

  it('from an aligned offset appends direct and keeps the bytes before it (the probe only reads them)', async () => {
    const file = join(ddir, 'append');
    const head = randomBytes(1024 * 1024);
    writeFileSync(file, head);
    const parts = big(30);
    const r = await writeBodyAt(file, head.length, slowBody(parts), () => {}, { flushBytes: 128 * 1024 });
    expect(r.wentDirect).toBe(true);
    const all = Buffer.concat([head, ...parts]);
    expect(r.end).toBe(all.length);
    expect(sha(readFileSync(file))).toBe(sha(all));
  });

  it('from an unaligned offset, or for a body shorter than one flush, goes through the page cache', async () => {
    const file = join(ddir, 'unaligned');
    const head = randomBytes(1000);
    writeFileSync(file, head);
    const parts = big(20);
    const r = await writeBodyAt(file, head.length, slowBody(parts), () => {}, { flushBytes: 128 * 1024 });
    expect(r.wentDirect).toBe(false);
    expect(sha(readFileSync(file))).toBe(sha(Buffer.concat([head, ...parts])));
    const small = join(ddir, 'small');
    writeFileSync(small, '');
    const one = randomBytes(100_000);
    const s = await writeBodyAt(small, 0, slowBody([one]), () => {}, { flushBytes: 128 * 1024 });
    expect(s.wentDirect).toBe(false);
    expect(sha(readFileSync(small))).toBe(sha(one));
  });

  it('pauses a body that outruns the disk, and resumes it', async () => {
    const file = join(ddir, 'fast');
    writeFileSync(file, '');
    const body = new PassThrough({ highWaterMark: 64 * 1024 });
    const parts = big(60);
    let pauses = 0;
    body.on('pause', () => pauses++);
    const p = writeBodyAt(file, 0, body, () => {}, { flushBytes: 64 * 1024 });
    for (const part of parts) body.write(part); // all at once: far faster than writes through the threadpool
    body.end();
    const r = await p;
    expect(r.wentDirect).toBe(true);
    expect(pauses).toBeGreaterThan(0);
    expect(sha(readFileSync(file))).toBe(sha(Buffer.concat(parts)));
  });

  it('on a body error mid-way writes what arrived, direct and tail, then rejects with that error', async () => {
    const file = join(ddir, 'cut');
    writeFileSync(file, '');
    const body = new PassThrough();
    const sent = [randomBytes(700_000), randomBytes(123_457)];
    const p = writeBodyAt(file, 0, body, () => {}, { flushBytes: 256 * 1024 });
    for (const s of sent) body.write(s);
    await new Promise((r) => setTimeout(r, 20));
    body.destroy(new Error('connection reset'));
    await expect(p).rejects.toThrow('connection reset');
    expect(sha(readFileSync(file))).toBe(sha(Buffer.concat(sent)));
  });

  it('REEF_NO_DIRECT_IO=1 keeps every body in the page cache', async () => {
    const file = join(ddir, 'off');
    writeFileSync(file, '');
    const parts = big(20);
    process.env.REEF_NO_DIRECT_IO = '1';
    try {
      const r = await writeBodyAt(file, 0, slowBody(parts), () => {}, { flushBytes: 128 * 1024 });
      expect(r.wentDirect).toBe(false);
    } finally {
      delete process.env.REEF_NO_DIRECT_IO;
    }
    expect(sha(readFileSync(file))).toBe(sha(Buffer.concat(parts)));
  });
});

describe('writeChunksAt', () => {
  it('writes each lent chunk before asking for the next, after the bytes already there, tapping them in order', async () => {
    const file = join(dir, 'chunks');
    const head = randomBytes(3000);
    writeFileSync(file, head);
    const parts = chunks(60);
    const hash = createHash('sha256');
    const end = await writeChunksAt(file, head.length, lent(parts), (c) => hash.update(c), { writebackBytes: 256 * 1024 });
    const all = Buffer.concat([head, ...parts]);
    expect(end).toBe(all.length);
    expect(sha(readFileSync(file))).toBe(sha(all));
    expect(hash.digest('hex')).toBe(sha(Buffer.concat(parts)));
  });

  it('on a source error keeps every chunk before it, then rethrows that error', async () => {
    const file = join(dir, 'chunks-fail');
    writeFileSync(file, '');
    const parts = chunks(10);
    const err = await writeChunksAt(file, 0, lent(parts, 7), () => {}).catch((e: unknown) => e);
    expect((err as Error).message).toBe('the source dropped');
    expect(sha(readFileSync(file))).toBe(sha(Buffer.concat(parts.slice(0, 7))));
  });

  it('on a failed write rejects with the known-good end and stops the source', async () => {
    let asked = 0;
    const source = (async function* () {
      for (;;) {
        asked++;
        yield randomBytes(4096);
      }
    })();
    // direct: false, the chunk-by-chunk path (an upload appended at an offset): the first write fails.
    const err = await writeChunksAt('/dev/full', 0, source, () => {}, { direct: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadWriteError);
    expect((err as UploadWriteError).end).toBe(0);
    expect(((err as UploadWriteError).cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(asked).toBe(1);
    expect(await source.next()).toEqual({ done: true, value: undefined });
  });

  describe('from offset 0 (an in-process monolithic upload): batched, direct where the filesystem allows', () => {
    const ddir = mkdtempSync(join(process.cwd(), '.chunk-writer-test-'));
    afterAll(() => rmSync(ddir, { recursive: true, force: true }));

    it.each([0, 1, 4096, 3 * 1024 * 1024 + 77])('writes every lent chunk (reused at once) to the exact size: %i bytes', async (size) => {
      const file = join(ddir, `s-${size}`);
      writeFileSync(file, '');
      const data = randomBytes(size);
      const parts = Array.from({ length: Math.ceil(size / 50_000) }, (_, i) => data.subarray(i * 50_000, (i + 1) * 50_000));
      const tapped = createHash('sha256');
      expect(await writeChunksAt(file, 0, lent(parts), (c) => tapped.update(c))).toBe(size);
      expect(tapped.digest('hex')).toBe(sha(data));
      expect(sha(readFileSync(file))).toBe(sha(data));
    });

    it('a source error: what it gave is written, then its error is rethrown', async () => {
      const file = join(ddir, 'cut');
      writeFileSync(file, '');
      const first = randomBytes(1_500_000);
      const source = (async function* () {
        yield first;
        throw new Error('connection reset');
      })();
      await expect(writeChunksAt(file, 0, source, () => {})).rejects.toThrow('connection reset');
      expect(sha(readFileSync(file))).toBe(sha(first));
    });

    it('a failed write rejects with UploadWriteError at 0 and stops the source within two batches', async () => {
      let asked = 0;
      const source = (async function* () {
        for (;;) {
          asked++;
          yield randomBytes(4096);
        }
      })();
      const err = await writeChunksAt('/dev/full', 0, source, () => {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UploadWriteError);
      expect((err as UploadWriteError).end).toBe(0);
      expect(((err as UploadWriteError).cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
      expect(asked).toBeLessThanOrEqual((2 * 1024 * 1024) / 4096 + 2);
      expect(await source.next()).toEqual({ done: true, value: undefined });
    });
  });

  it('a failed writeback fails the write from its start offset', async () => {
    const file = join(dir, 'chunks-wbfail');
    writeFileSync(file, 'head');
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const err = await writeChunksAt(file, 4, lent(chunks(40)), () => {}, { writebackBytes: 128 * 1024, datasync: () => Promise.reject(eio) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadWriteError);
    expect((err as UploadWriteError).cause).toBe(eio);
    expect((err as UploadWriteError).end).toBe(4);
  });
});
