/**
 * Copy into a local directory under an allowed base: the destination must lie under one of the
 * bases once resolved, and no part of it that exists may be a symlink (checked by comparing the
 * real path of every existing part with the path itself), so a link planted under the base
 * cannot lead the copy elsewhere. A destination ending in `/` or naming a directory gets the
 * artifact under its own name. The bytes go to a temp file (created exclusively, never through
 * a link) and are renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fieldError } from '../../core/errors.js';
import { syncPath } from '../../lib/atomic-file.js';

export interface LocalCopyOptions {
  file: string;
  /** The checked destination path (absolute). */
  destination: string;
  allowedBases: string[];
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

const within = (path: string, base: string) => path === base || path.startsWith(base.endsWith(sep) ? base : base + sep);

/** Refuses a path with a symlink in any part that exists (or a missing base). */
const checkNoLinks = async (path: string, base: string) => {
  const realBase = await realpath(base).catch(() => undefined);
  if (realBase === undefined) throw fieldError('destination', `the allowed base ${base} does not exist`);
  if (realBase !== base) throw fieldError('destination', `the allowed base ${base} is reached through a symlink; configure its real path`);
  const parts = path.slice(base.length).split(sep).filter(Boolean);
  let at = base;
  for (const p of parts) {
    at = join(at, p);
    const st = await lstat(at).catch(() => undefined);
    if (!st) return;
    if (st.isSymbolicLink()) throw fieldError('destination', `${at} is a symlink; reef does not copy through links`);
  }
};

export const copyLocal = async (o: LocalCopyOptions): Promise<{ target: string; bytes: number }> => {
  const wanted = resolve(o.destination);
  const base = o.allowedBases.map((b) => resolve(b)).find((b) => within(wanted, b));
  if (!base) throw fieldError('destination', `${o.destination} is not under an allowed directory (${o.allowedBases.join(', ') || 'none configured'})`);
  await checkNoLinks(wanted, base);
  const isDir = o.destination.endsWith('/') || (await stat(wanted).catch(() => undefined))?.isDirectory();
  const target = isDir ? join(wanted, basename(o.file)) : wanted;
  if (target === base) throw fieldError('destination', 'names the allowed directory itself; name a directory under it or end with /');
  await mkdir(dirname(target), { recursive: true });
  await checkNoLinks(target, base);
  const total = (await stat(o.file)).size;
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let done = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      done += chunk.length;
      o.onProgress?.(done, total);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(o.file, { highWaterMark: 1024 * 1024 }), count, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }), ...(o.signal ? [{ signal: o.signal }] : []));
    await syncPath(tmp);
    await rename(tmp, target);
    await syncPath(dirname(target));
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  return { target, bytes: done };
};
