/**
 * One image layer as a tar stream: the blob's bytes checked against its digest as they pass,
 * decompressed by what their first bytes say (gzip in process, zstd through the `zstd` tool,
 * else an uncompressed tar), then parsed by tar-stream. A digest that does not match fails the
 * stream before its end, so nothing read from it is used.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Duplex, type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, type Extract } from 'tar-stream';
import { detectCompression } from '../../formats/compression.js';
import { drainOrClose } from '../../lib/drain.js';

export class LayerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LayerError';
  }
}

/** Hashes what passes; fails at the end when the bytes are not `digest`. */
const digestCheck = (digest: string, onBytes: (n: number) => void): Transform => {
  const [algorithm, hex] = [digest.slice(0, digest.indexOf(':')), digest.slice(digest.indexOf(':') + 1)];
  const hash = createHash(algorithm);
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      onBytes(chunk.length);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      const got = hash.digest('hex');
      cb(got === hex ? null : new LayerError(`layer ${digest}: its bytes hash to ${algorithm}:${got}`));
    },
  });
};

/** `zstd -d` as a Duplex; a non-zero exit fails it. */
const zstdDecompress = (): Duplex => {
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4096)));
  const duplex = Duplex.from({ writable: child.stdin!, readable: child.stdout! });
  child.on('error', (e: NodeJS.ErrnoException) => duplex.destroy(new LayerError(e.code === 'ENOENT' ? 'zstd is not installed; cannot read a zstd layer' : `zstd: ${e.message}`)));
  child.on('close', (code) => {
    if (code !== 0 && code !== null) duplex.destroy(new LayerError(`zstd -d failed (exit ${code}): ${err.trim()}`));
  });
  duplex.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return duplex;
};

/**
 * The decompressed bytes of `input`, the decompressor picked from its first six bytes (a
 * pipeline stage: back-pressure flows through, an error anywhere ends it).
 */
async function* decompressByMagic(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 6 && !ended) {
    const next = await it.next();
    if (next.done) ended = true;
    else head = Buffer.concat([head, next.value]);
  }
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    while (!ended) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  }
  const kind = detectCompression(Buffer.concat([head, Buffer.alloc(6)]));
  if (kind === 'none') return yield* rest();
  if (kind !== 'gzip' && kind !== 'zstd') throw new LayerError(`a ${kind} layer; reef reads gzip, zstd and uncompressed layers`);
  const d: Duplex = kind === 'gzip' ? createGunzip({ chunkSize: 256 * 1024 }) : zstdDecompress();
  const pump = (async () => {
    for await (const chunk of rest()) if (!d.write(chunk)) await drainOrClose(d);
    d.end();
  })();
  pump.catch((e: Error) => d.destroy(e));
  try {
    for await (const out of d) yield out as Buffer;
    await pump;
  } finally {
    d.destroy();
  }
}

/**
 * The tar entries of a layer. `done` settles when the whole layer was read and checked: await it
 * after the entries, and trust what was taken from them only once it resolved.
 */
export const openLayerTar = (source: Readable, digest: string, onBytes: (n: number) => void = () => {}): { entries: Extract; done: Promise<void> } => {
  const entries = extract();
  const done = pipeline(source, digestCheck(digest, onBytes), decompressByMagic, entries as unknown as NodeJS.WritableStream);
  done.catch(() => {});
  return { entries, done };
};
