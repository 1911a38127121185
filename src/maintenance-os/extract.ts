import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { StepError, tail } from './exec.js';
import { mergeTree } from './merge-tree.js';

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

const decompressorFor = (kind: Compression): { stream: Transform | null; child: ChildProcess | null } => {
  if (kind === 'gzip') return { stream: createGunzip({ chunkSize: 256 * 1024 }), child: null };
  if (kind === 'none') return { stream: null, child: null };
  const child = spawn(kind, ['-d', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
  return { stream: null, child };
};

/** Peeks the first chunk of an async byte source and returns it with a stream replaying everything. */
const peek = async (source: AsyncIterable<Buffer>): Promise<{ head: Buffer; stream: Readable }> => {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : first.value;
  async function* replay() {
    if (head.length) yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { head, stream: Readable.from(replay(), { objectMode: false }) };
};

export interface ExtractResult {
  entries: number;
  compression: Compression;
}

/**
 * Extracts a rootfs tarball arriving as `source` into `root`, in one pass: decompression (gzip
 * in-process, zstd/xz/bzip2 by their tools), GNU tar doing the writing (owners, modes, setuid,
 * symlinks, hard links, device nodes, xattrs), and a parser watching every member name at the
 * same time. Everything lands in a staging directory inside `root` first and is moved into place
 * only when the source ended cleanly, which for a registry blob means its digest checked out:
 * a tampered blob or a refused member leaves nothing behind.
 */
export const extractRootfs = async (source: AsyncIterable<Buffer>, root: string, log: (line: string) => void): Promise<ExtractResult> => {
  const staging = join(root, `.reef-extract-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { mode: 0o700 });
  const { head, stream } = await peek(source);
  const compression = detectCompression(head.length >= 6 ? head : Buffer.concat([head, Buffer.alloc(6)]));
  const dec = decompressorFor(compression);
  const tarArgs = ['-x', '-f', '-', '-C', staging, '--numeric-owner', '--same-owner', '--same-permissions', '--xattrs', '--xattrs-include=*'];
  log(`+ ${compression === 'none' ? '' : `${compression} -d | `}tar ${tarArgs.join(' ')}`);
  const tarChild = spawn('tar', tarArgs, { stdio: ['pipe', 'ignore', 'pipe'] });
  let tarErr = '';
  tarChild.stderr!.setEncoding('utf8').on('data', (d: string) => (tarErr = (tarErr + d).slice(-16 * 1024)));
  const tarExit = new Promise<number | null>((resolve, reject) => {
    tarChild.on('error', (err) => reject(new StepError(`tar: ${err.message}`)));
    tarChild.on('close', (code) => resolve(code));
  });
  tarChild.stdin!.on('error', () => {}); // tar's exit status says what went wrong

  let entries = 0;
  const symlinks = new Set<string>();
  const parser = tar.extract();
  let parserDone = false;
  const waiting: (() => void)[] = [];
  const release = () => waiting.splice(0).forEach((f) => f());
  const waitParser = (f: () => void) => waiting.push(f);
  parser.on('drain', release);
  for (const ev of ['close', 'finish']) {
    parser.on(ev, () => {
      parserDone = true;
      release();
    });
  }
  const refused = new Promise<never>((_, reject) => {
    parser.on('entry', (header, body, next) => {
      const name = header.name;
      const why = unsafeMember(name, symlinks) ?? (header.type === 'link' && header.linkname ? unsafeMember(header.linkname, symlinks) : null);
      if (why) {
        reject(new StepError(`refusing tar member ${JSON.stringify(name)}${header.type === 'link' ? ` (hard link to ${JSON.stringify(header.linkname)})` : ''}: ${why}; nothing was extracted`));
        return;
      }
      if (header.type === 'symlink') symlinks.add(normal(name));
      entries++;
      body.on('end', next);
      body.resume();
    });
    parser.on('error', (err) => reject(new StepError(`the rootfs is not a valid tar archive: ${err.message}`)));
  });
  refused.catch(() => {});

  // Every decompressed chunk goes both to GNU tar and to the member-name parser. GNU tar may
  // exit once it has read the end-of-archive blocks, before the zero padding after them: from
  // then on its stdin is gone and the rest goes to the parser only.
  const stdin = tarChild.stdin!;
  const stdinGone = () => stdin.destroyed || stdin.writableEnded;
  const once = (f: () => void) => {
    let called = false;
    return () => {
      if (!called) {
        called = true;
        f();
      }
    };
  };
  const tee = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, cb) {
      let pending = 2;
      const done = () => --pending === 0 && cb();
      if (parserDone || parser.write(chunk)) done();
      else waitParser(done);
      if (stdinGone() || stdin.write(chunk)) done();
      else {
        const d = once(done);
        stdin.once('drain', d);
        stdin.once('close', d);
      }
    },
    final(cb) {
      if (!parserDone) (parser as unknown as NodeJS.WritableStream).end();
      if (stdinGone()) cb();
      else {
        stdin.once('close', () => cb());
        stdin.end();
      }
    },
  });

  try {
    const stages: Promise<unknown>[] = [];
    if (dec.child) {
      const child = dec.child;
      let childErr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (childErr += d));
      child.stdin!.on('error', () => {});
      stages.push(pipeline(stream, child.stdin!), pipeline(child.stdout!, tee));
      stages.push(
        new Promise<void>((resolve, reject) => {
          child.on('error', (err: NodeJS.ErrnoException) => reject(new StepError(err.code === 'ENOENT' ? `${compression} is not installed; cannot decompress the rootfs` : err.message)));
          child.on('close', (code) => (code === 0 ? resolve() : reject(new StepError(`${compression} -d failed (exit ${code}): ${tail(childErr)}`))));
        }),
      );
    } else {
      stages.push(dec.stream ? pipeline(stream, dec.stream, tee) : pipeline(stream, tee));
    }
    await Promise.race([Promise.all(stages), refused]);
    const code = await Promise.race([tarExit, refused]);
    if (code !== 0) throw new StepError(`tar failed (exit ${code}): ${tail(tarErr) || 'no output'}`);
    await mergeTree(staging, root);
    return { entries, compression };
  } catch (err) {
    stream.destroy();
    dec.child?.kill('SIGKILL');
    tarChild.kill('SIGKILL');
    await tarExit.catch(() => {});
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
};
