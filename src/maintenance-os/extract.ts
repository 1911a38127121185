import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { StepError, tail } from './exec.js';
import { drainOrClose } from '../lib/drain.js';
import { mountTable } from './mounts.js';
import { createTarCanonicalizer } from './tar-canonical.js';
import { type Compression, detectCompression } from '../formats/compression.js';

export { type Compression, detectCompression };

/** Longest member name taken, in bytes: Linux's PATH_MAX less its NUL; GNU tar could not create a longer one anyway. */
export const MAX_MEMBER_NAME = 4095;

/**
 * Why a tar member name is refused, or null when it is safe: absolute paths, `..` components,
 * paths that run through a symlink the archive itself created (a symlink escape), and names over
 * PATH_MAX. The length comes first: it bounds the prefix checks below, which would otherwise
 * grow with the square of a crafted name's components (minutes for a 396-byte gzipped tar).
 */
export const unsafeMember = (name: string, symlinks: Set<string>): string | null => {
  if (Buffer.byteLength(name) > MAX_MEMBER_NAME) return `name of ${Buffer.byteLength(name)} bytes, over ${MAX_MEMBER_NAME} (PATH_MAX)`;
  if (name.startsWith('/')) return 'absolute path';
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return 'path with ..';
  for (let i = 1; i < parts.length; i++) if (symlinks.has(parts.slice(0, i).join('/'))) return `path through the symlink ${parts.slice(0, i).join('/')}`;
  return null;
};

const normal = (name: string) => name.split('/').filter((p) => p !== '' && p !== '.').join('/');

/**
 * Where the archive's bytes come from: an async iterable, or a push source that calls `onData`
 * per chunk and waits on the promise it may return (the chunk's bytes are only valid until then:
 * see OciClient.blobPush).
 */
export type ChunkSource = AsyncIterable<Buffer> | ((onData: (chunk: Buffer) => Promise<void> | undefined) => Promise<void>);

const asPush = (source: ChunkSource) =>
  typeof source === 'function'
    ? source
    : async (onData: (chunk: Buffer) => Promise<void> | undefined) => {
        for await (const chunk of source) {
          const wait = onData(chunk);
          if (wait) await wait;
        }
      };

export interface ExtractResult {
  entries: number;
  compression: Compression;
}

interface Decompressor {
  /** Takes a compressed chunk (copied: the source reuses its buffer). */
  write(chunk: Buffer): Promise<void> | undefined;
  end(): void;
  output: AsyncIterable<Buffer>;
  done: Promise<void>;
  kill(): void;
}

/** gzip in-process; zstd, xz and bzip2 through their tools. */
const startDecompressor = (compression: Exclude<Compression, 'none'>): Decompressor => {
  if (compression === 'gzip') {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    const done = new Promise<void>((resolve, reject) => {
      gunzip.on('end', resolve);
      gunzip.on('error', (err) => reject(new StepError(`the rootfs is not valid gzip: ${err.message}`)));
    });
    done.catch(() => {});
    return {
      // Bytes after the end of the gzip data (padding) find the stream ended: they are dropped, as gzip -d does.
      write: (chunk) => (gunzip.destroyed || gunzip.writableEnded || gunzip.write(Buffer.from(chunk)) ? undefined : drainOrClose(gunzip)),
      end: () => gunzip.end(),
      output: gunzip,
      done,
      kill: () => gunzip.destroy(),
    };
  }
  const child = spawn(compression, ['-d', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-8192)));
  child.stdin!.on('error', () => {});
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => reject(new StepError(e.code === 'ENOENT' ? `${compression} is not installed; cannot decompress the rootfs` : e.message)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new StepError(`${compression} -d failed (exit ${code}): ${tail(err)}`))));
  });
  done.catch(() => {});
  return {
    write: (chunk) => writeTo(child.stdin!, chunk),
    end: () => child.stdin!.end(),
    output: child.stdout!,
    done,
    kill: () => child.kill('SIGKILL'),
  };
};

/** Writes to a child's stdin; a promise while the child still holds (a view of) the chunk. */
const writeTo = (stdin: Writable, chunk: Buffer): Promise<void> | undefined => {
  if (stdin.destroyed || stdin.writableEnded) return undefined; // the child stopped: its exit status tells
  const flushed = new Promise<void>((resolve) => stdin.write(chunk, () => resolve()));
  // Nothing queued: the bytes went to the kernel at once and the chunk is free again.
  return stdin.writableLength === 0 ? undefined : flushed;
};

const TAR_ARGS = ['-x', '-f', '-', '--blocking-factor=2048', '--read-full-records', '--numeric-owner', '--same-owner', '--same-permissions', '--xattrs', '--xattrs-include=*'];

/**
 * Removes everything the extraction put under `root`, on every filesystem mounted below it
 * (their mount points and lost+found stay): the target is as freshly formatted again. Never
 * follows symlinks (fs.rm removes the link itself).
 */
const clearTarget = async (root: string): Promise<void> => {
  const mounts = mountTable()
    .map((m) => m.target)
    .filter((t) => t.startsWith(`${root}/`));
  const clear = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      if (name === 'lost+found') continue;
      const path = join(dir, name);
      if (mounts.some((m) => m === path || m.startsWith(`${path}/`))) await clear(path);
      else await rm(path, { recursive: true, force: true });
    }
  };
  await clear(root);
};

/**
 * Extracts a rootfs tarball arriving from `source` into `root` (with the recipe's other
 * filesystems mounted below it, so each byte is written once, where it belongs), in one pass:
 * decompression (detected from the first bytes), GNU tar doing the writing (owners, modes,
 * setuid, symlinks, hard links, device nodes, xattrs; 1 MiB records) of an archive reef re-wrote
 * as the bytes go by: every member's headers parsed and checked once, then handed on as headers
 * reef wrote itself, data untouched (tar-canonical.ts), so what tar extracts is what was checked. If the source does not end cleanly — for a registry
 * blob: if its digest does not check out — or a member is refused, everything extracted is
 * removed again: the freshly made filesystems are left empty, nothing of a tampered image stays.
 */
export const extractRootfs = async (source: ChunkSource, root: string, log: (line: string) => void): Promise<ExtractResult> => {
  const target = resolve(root);
  const tarArgs = [...TAR_ARGS.slice(0, 5), '-C', target, ...TAR_ARGS.slice(5)];
  const tarChild = spawn('tar', tarArgs, { stdio: ['pipe', 'ignore', 'pipe'] });
  let tarErr = '';
  tarChild.stderr!.setEncoding('utf8').on('data', (d: string) => (tarErr = (tarErr + d).slice(-16 * 1024)));
  const tarExit = new Promise<number | null>((resolve, reject) => {
    tarChild.on('error', (err) => reject(new StepError(`tar: ${err.message}`)));
    tarChild.on('close', (code) => resolve(code));
  });
  tarExit.catch(() => {});
  const stdin = tarChild.stdin!;
  stdin.on('error', () => {}); // tar's exit status says what went wrong

  let entries = 0;
  const symlinks = new Set<string>();
  const scanner = createTarCanonicalizer((m) => {
    const why = unsafeMember(m.name, symlinks) ?? (m.type === '1' && m.linkname ? unsafeMember(m.linkname, symlinks) : null);
    if (why) throw new StepError(`refusing tar member ${JSON.stringify(m.name)}${m.type === '1' ? ` (hard link to ${JSON.stringify(m.linkname)})` : ''}: ${why}; nothing was extracted`);
    if (m.type === '2') symlinks.add(normal(m.name));
    entries++;
  });
  // GNU tar gets what reef re-wrote: its own headers and the data blocks it checked the way to.
  // The pieces of one chunk go out corked, as one writev, and only the last write is waited for
  // (a pipe takes writes in order): a promise per piece cost a tenth of the throughput.
  const toTar = (chunk: Buffer): Promise<void> | undefined => {
    const pieces = scanner.push(chunk);
    if (pieces.length === 0) return undefined;
    if (pieces.length === 1) return writeTo(stdin, pieces[0]!);
    if (stdin.destroyed || stdin.writableEnded) return undefined; // tar stopped: its exit status tells
    stdin.cork();
    for (let i = 0; i < pieces.length - 1; i++) stdin.write(pieces[i]!);
    const last = writeTo(stdin, pieces[pieces.length - 1]!);
    stdin.uncork();
    return last;
  };

  let compression: Compression | undefined;
  let head = Buffer.alloc(0);
  let dec: Decompressor | undefined;
  let pumped: Promise<void> = Promise.resolve();
  let sink: ((chunk: Buffer) => Promise<void> | undefined) | undefined;
  const choose = (first: Buffer) => {
    compression = detectCompression(first);
    log(`+ ${compression === 'none' ? '' : `${compression} -d | `}tar ${tarArgs.join(' ')}`);
    if (compression === 'none') return toTar;
    const d = startDecompressor(compression);
    dec = d;
    pumped = (async () => {
      for await (const out of d.output) {
        const wait = toTar(out as Buffer);
        if (wait) await wait;
      }
    })();
    pumped.catch(() => d.kill()); // a refused member stops the decompressor, and so the source
    return d.write;
  };
  let stopped = false;
  const onData = (chunk: Buffer): Promise<void> | undefined => {
    if (stopped) throw new StepError('extraction stopped');
    if (!sink) {
      // The compression is told by the first six bytes; a shorter first chunk waits for more.
      head = Buffer.concat([head, chunk]);
      if (head.length < 6) return undefined;
      sink = choose(head);
      chunk = head;
    }
    return sink(chunk);
  };

  try {
    await Promise.race([asPush(source)(onData), pumped.then(() => new Promise<never>(() => {}))]);
    if (!sink) {
      // A source of fewer than six bytes (not a tar archive: tar will say so).
      sink = choose(Buffer.concat([head, Buffer.alloc(6)]));
      const wait = sink(head);
      if (wait) await wait;
    }
    if (dec) {
      dec.end();
      await Promise.all([pumped, dec.done]);
    }
    stdin.end();
    const code = await tarExit;
    if (code !== 0) throw new StepError(`tar failed (exit ${code}): ${tail(tarErr) || 'no output'}`);
    if (!scanner.ended) throw new StepError('the rootfs tar archive is truncated (no end-of-archive blocks)');
    return { entries, compression: compression ?? 'none' };
  } catch (err) {
    stopped = true; // the source's next chunk ends its download
    dec?.kill();
    tarChild.kill('SIGKILL');
    await tarExit.catch(() => {});
    await clearTarget(target);
    throw err;
  }
};
