/**
 * Writing one extracted artifact: its bytes stream (stamped on the way when asked) into a temp
 * file beside its final name while their sha256 is taken; `commit` then keeps an identical file
 * already there (same size and sha256) or renames the temp file over the name. A file is never
 * written in place, so a reader (or a download) sees the old file or the new one, never a mix.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { syncPath } from '../../lib/atomic-file.js';
import { createStampTransform, type StampField, type StampValues } from './stamp.js';

export interface WrittenFile {
  tmp: string;
  final: string;
  size: number;
  sha256: string;
  /** The placeholders found and stamped. */
  stamped: StampField[];
  discard(): Promise<void>;
  /** Moves it into place; `kept` when an identical file was there already. */
  commit(): Promise<{ kept: boolean }>;
}

/** The sha256 (hex) of a file, streamed. */
export const sha256OfFile = async (path: string): Promise<string> => {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
};

/** Streams `bytes` into a temp file beside `final` (stamping `stamp` into it), hashing as it goes. */
export const writeArtifactFile = async (bytes: Readable, final: string, opts: { stamp?: StampValues; mode: number }): Promise<WrittenFile> => {
  const tmp = `${final}.${randomBytes(6).toString('hex')}.tmp`;
  const hash = createHash('sha256');
  let size = 0;
  const stamper = opts.stamp && Object.keys(opts.stamp).length ? createStampTransform(opts.stamp) : undefined;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  const out = createWriteStream(tmp, { flags: 'wx', mode: opts.mode });
  try {
    await (stamper ? pipeline(bytes, stamper, tap, out) : pipeline(bytes, tap, out));
    await chmod(tmp, opts.mode);
    await syncPath(tmp);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  const sha256 = hash.digest('hex');
  return {
    tmp,
    final,
    size,
    sha256,
    stamped: stamper?.stamped() ?? [],
    discard: () => unlink(tmp).catch(() => {}),
    async commit() {
      const there = await stat(final).catch(() => undefined);
      if (there?.isFile() && there.size === size && (await sha256OfFile(final)) === sha256) {
        await unlink(tmp).catch(() => {});
        return { kept: true };
      }
      await rename(tmp, final);
      await syncPath(dirname(final));
      return { kept: false };
    },
  };
};
