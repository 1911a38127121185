/**
 * The e2e test's build cache: REEF_E2E_CACHE (default <repo>/.cache/e2e) holds each built image in
 * a folder named by a hash of its inputs (scripts, package lists, dist/ …), so a change to any of
 * them builds it anew and an unchanged tree reuses it. Older builds of the same image are removed.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { spawn } from 'node:child_process';

export const cacheRoot = (): string => resolve(process.env.REEF_E2E_CACHE || '.cache/e2e');

const filesUnder = (path: string): string[] => {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => filesUnder(join(path, name)));
};

/** sha256 over the files (directories walked in name order, each file's path and bytes) and the extra strings. */
export const inputsHash = (paths: string[], extra: string[] = []): string => {
  const h = createHash('sha256');
  for (const p of paths) {
    if (!existsSync(p)) throw new Error(`e2e cache: input ${p} does not exist`);
    for (const f of filesUnder(p)) h.update(`${relative('.', f)}\0`).update(readFileSync(f)).update('\0');
  }
  for (const e of extra) h.update(`${e}\0`);
  return h.digest('hex').slice(0, 16);
};

export interface Cached {
  dir: string;
  hit: boolean;
  /** Seconds the build took (0 on a hit). */
  seconds: number;
}

/** Runs a build command with its output in `log`; rejects with the log's tail when it fails. */
const build = (cmd: string, args: string[], log: string, timeoutMs: number): Promise<void> =>
  new Promise((resolvePromise, reject) => {
    const out = createWriteStream(log);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      out.end(() => {
        if (code === 0) return resolvePromise();
        const tail = readFileSync(log, 'utf8').split('\n').slice(-40).join('\n');
        reject(new Error(`\`${cmd} ${args.join(' ')}\` ${signal ? `was killed (${signal}, limit ${timeoutMs / 1000} s)` : `exited ${code}`}; the end of ${log}:\n${tail}`));
      });
    });
  });

/**
 * `<cache>/<name>-<key>` holding `files`, built by `cmd args… <dir>` when it is not there yet
 * (into a temporary folder renamed at the end, so a killed build never counts as a hit).
 */
export const cachedBuild = async (o: { name: string; key: string; files: string[]; cmd: string; args: string[]; timeoutMs: number }): Promise<Cached> => {
  const root = cacheRoot();
  mkdirSync(root, { recursive: true });
  const dir = join(root, `${o.name}-${o.key}`);
  if (o.files.every((f) => existsSync(join(dir, f)))) return { dir, hit: true, seconds: 0 };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const started = Date.now();
  await build(o.cmd, [...o.args, tmp], join(root, `${o.name}.log`), o.timeoutMs);
  const missing = o.files.filter((f) => !existsSync(join(tmp, f)));
  if (missing.length) throw new Error(`${o.cmd} ${o.args.join(' ')} made no ${missing.join(', ')} in ${tmp}`);
  for (const old of readdirSync(root)) {
    if (old.startsWith(`${o.name}-`) && !old.includes('.tmp-')) rmSync(join(root, old), { recursive: true, force: true });
  }
  renameSync(tmp, dir);
  return { dir, hit: false, seconds: (Date.now() - started) / 1000 };
};
