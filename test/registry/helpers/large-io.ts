/**
 * Helpers for the large-blob and crash tests: watching a server process's memory, hashing big
 * files without holding them, a reproducible byte stream that never touches disk, and a streamed
 * HTTP request the test can cut off (or whose server the test kills) half-way.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, readFileSync, statfsSync } from 'node:fs';
import { request } from 'node:http';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** VmRSS of a live process in bytes (from /proc/<pid>/status); undefined once it is gone. */
export const rssOf = (pid: number): number | undefined => {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
};

/** Samples a process's RSS every `everyMs` until stopped; `max` and `samples` so far. */
export const watchRss = (pid: number, everyMs = 100) => {
  const samples: number[] = [];
  const take = () => {
    const v = rssOf(pid);
    if (v !== undefined) samples.push(v);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    max: () => Math.max(0, ...samples),
    stop: () => {
      clearInterval(timer);
      take();
      return Math.max(0, ...samples);
    },
  };
};

/** sha256 of a file, streamed in 1 MiB reads. */
export const hashFile = async (path: string): Promise<string> => {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
};

/** Bytes free for an unprivileged writer on the filesystem holding `dir`. */
export const freeBytes = (dir: string): number => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

/**
 * A reproducible pseudo-random byte stream of `total` bytes: AES-128-CTR keystream under a key
 * derived from `seed`, produced in `chunk`-sized pieces on the fly (gigabytes, no file needed).
 */
export function* seededChunks(seed: string, total: number, chunk = 4 * MiB): Generator<Buffer> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const zeros = Buffer.alloc(chunk);
  for (let done = 0; done < total; ) {
    const n = Math.min(chunk, total - done);
    yield cipher.update(n === chunk ? zeros : zeros.subarray(0, n));
    done += n;
  }
}

export const seededDigest = (seed: string, total: number): string => {
  const h = createHash('sha256');
  for (const c of seededChunks(seed, total)) h.update(c);
  return `sha256:${h.digest('hex')}`;
};

export interface StreamResult {
  /** Bytes the socket accepted (write callbacks fired). */
  sent: number;
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  /** Set when the request failed (connection reset, server gone). */
  error?: Error;
}

/**
 * Sends `chunks` as the body of one request, honouring backpressure. `onProgress(sent)` runs after
 * each chunk has been taken by the socket; returning true stops sending (the caller then kills
 * the server or lets the request die). Never rejects: a broken connection is reported in `error`.
 */
export const streamRequest = (
  url: string,
  method: string,
  headers: Record<string, string>,
  chunks: Iterable<Buffer>,
  onProgress: (sent: number) => boolean | void = () => {},
): Promise<StreamResult> =>
  new Promise((resolve) => {
    const result: StreamResult = { sent: 0 };
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) result.error = err;
      resolve(result);
    };
    const req = request(url, { method, headers });
    req.on('error', (err) => finish(err));
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('error', (err) => finish(err));
      res.on('end', () => {
        Object.assign(result, { status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString('utf8') });
        finish();
      });
    });
    const it = chunks[Symbol.iterator]();
    const pump = async () => {
      for (;;) {
        if (settled || req.destroyed) return;
        const next = it.next();
        if (next.done) return void req.end();
        const ok = await new Promise<boolean>((r) => req.write(next.value, (err) => r(!err)));
        if (!ok) return;
        result.sent += next.value.length;
        if (onProgress(result.sent)) return; // hold the request open; the caller decides what happens next
      }
    };
    void pump();
  });
