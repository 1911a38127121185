import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { StepError, tail } from './exec.js';
import { drainOrClose } from '../lib/drain.js';
import { mergeTree } from './merge-tree.js';
import { createTarScanner } from './tar-scan.js';

export type Compression = 'gzip' | 'zstd' | 'xz' | 'bzip2' | 'none';

/** Detects the compression of a stream from its first bytes (magic numbers). */
export const detectCompression = (head: Buffer): Compression => {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return 'none';
};

/**
 * Why a tar member name is refused, or null when it is safe: absolute paths, `..` components, and
 * paths that run through a symlink the archive itself created (a symlink escape).
 */
export const unsafeMember = (name: string, symlinks: Set<string>): string | null => {
  if (name.startsWith('/')) return 'absolute path';
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return 'path with ..';
  for (let i = 1; i < parts.length; i++) if (symlinks.has(parts.slice(0, i).join('/'))) return `path through the symlink ${parts.slice(0, i).join('/')}`;
  return null;
};

const normal = (name: string) => name.split('/').filter((p) => p !== '' && p !== '.').join('/');

/** Peeks the first chunk of an async byte source and returns it with an iterator replaying everything. */
const peek = async (source: AsyncIterable<Buffer>): Promise<{ head: Buffer; all: AsyncGenerator<Buffer> }> => {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : first.value;
  async function* replay() {
    if (head.length) yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { head, all: replay() };
};

export interface ExtractResult {
  entries: number;
  compression: Compression;
}

/** The archive's bytes after decompression: in-process for gzip, through the tool's process for zstd/xz/bzip2. */
const decompressed = (compression: Compression, all: AsyncGenerator<Buffer>): { chunks: AsyncIterable<Buffer>; done: Promise<void>; kill: () => void } => {
  // Uncompressed: the chunks go straight from the HTTP response to tar, no stream in between.
  if (compression === 'none') return { chunks: all, done: Promise.resolve(), kill: () => void all.return(undefined) };
  const stream = Readable.from(all, { objectMode: false });
  if (compression === 'gzip') {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    const done = pipeline(stream, gunzip).catch((err: Error) => {
      throw new StepError(`the rootfs is not valid gzip: ${err.message}`);
    });
    done.catch(() => {});
    return {
      chunks: gunzip,
      done,
      kill: () => {
        stream.destroy();
        gunzip.destroy();
      },
    };
  }
  const child = spawn(compression, ['-d', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-8192)));
  child.stdin!.on('error', () => {});
  const fed = pipeline(stream, child.stdin!);
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => reject(new StepError(e.code === 'ENOENT' ? `${compression} is not installed; cannot decompress the rootfs` : e.message)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new StepError(`${compression} -d failed (exit ${code}): ${tail(err)}`))));
  });
  const done = Promise.all([fed, exited]).then(() => {});
  done.catch(() => {});
  return {
    chunks: child.stdout!,
    done,
    kill: () => {
      stream.destroy();
      child.kill('SIGKILL');
    },
  };
};

const writeTo = (stdin: Writable, chunk: Buffer): Promise<void> | null => {
  if (stdin.destroyed || stdin.writableEnded) return null; // tar already stopped: its exit status tells
  return stdin.write(chunk) ? null : drainOrClose(stdin);
};

/**
 * Extracts a rootfs tarball arriving as `source` into `root`, in one pass: decompression (gzip
 * in-process, zstd/xz/bzip2 by their tools), GNU tar doing the writing (owners, modes, setuid,
 * symlinks, hard links, device nodes, xattrs), and a scanner checking every member name as the
 * bytes go by. Everything lands in a staging directory inside `root` first and is moved into
 * place only when the source ended cleanly, which for a registry blob means its digest checked
 * out: a tampered blob or a refused member leaves nothing behind.
 */
export const extractRootfs = async (source: AsyncIterable<Buffer>, root: string, log: (line: string) => void): Promise<ExtractResult> => {
  const staging = join(root, `.reef-extract-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { mode: 0o700 });
  const { head, all } = await peek(source);
  const compression = detectCompression(head.length >= 6 ? head : Buffer.concat([head, Buffer.alloc(6)]));
  const tarArgs = ['-x', '-f', '-', '--blocking-factor=2048', '--read-full-records', '-C', staging, '--numeric-owner', '--same-owner', '--same-permissions', '--xattrs', '--xattrs-include=*'];
  log(`+ ${compression === 'none' ? '' : `${compression} -d | `}tar ${tarArgs.join(' ')}`);
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
  const scanner = createTarScanner((m) => {
    const why = unsafeMember(m.name, symlinks) ?? (m.type === '1' && m.linkname ? unsafeMember(m.linkname, symlinks) : null);
    if (why) throw new StepError(`refusing tar member ${JSON.stringify(m.name)}${m.type === '1' ? ` (hard link to ${JSON.stringify(m.linkname)})` : ''}: ${why}; nothing was extracted`);
    if (m.type === '2') symlinks.add(normal(m.name));
    entries++;
  });
  const dec = decompressed(compression, all);
  try {
    for await (const chunk of dec.chunks) {
      scanner.push(chunk);
      const wait = writeTo(stdin, chunk);
      if (wait) await wait;
    }
    await dec.done;
    stdin.end();
    const code = await tarExit;
    if (code !== 0) throw new StepError(`tar failed (exit ${code}): ${tail(tarErr) || 'no output'}`);
    if (!scanner.ended) throw new StepError('the rootfs tar archive is truncated (no end-of-archive blocks)');
    await mergeTree(staging, root);
    return { entries, compression };
  } catch (err) {
    dec.kill();
    tarChild.kill('SIGKILL');
    await tarExit.catch(() => {});
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
};
