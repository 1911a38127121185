/**
 * An archive run killed with SIGKILL at three points (while fetching blobs, at a random moment, as
 * the Nth chunk is being written) and then run to the end with the same command: no blob that
 * was cached whole is fetched again, a chunk is a `.tar` only when whole (otherwise `.partial`),
 * chunks finished before a kill are kept as they are, and the final set is byte for byte the set
 * an uninterrupted run writes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HISTORY_DIR, historyFileName } from '../../src/mirror/archive/history.js';
import { openArchiveSet } from '../../src/mirror/archive/reader.js';
import { mustRun } from '../helpers/containers.js';
import { requireTool } from '../helpers/tools.js';
import { blobTable, killSet } from './fixtures/images.js';

const SCRIPT = 'test/mirror/fixtures/archive-run.ts';
const NOW = '2025-05-05T05:05:05Z';
const SIZE = 1024 * 1024;

interface Run {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

const start = (root: string): Run => {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, join(root, 'working-dir'), join(root, 'out'), join(root, 'fetch.log'), NOW, String(SIZE)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
};

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);
const cached = (root: string): Set<string> => {
  const d = join(root, 'working-dir', '.reef', 'blobs', 'sha256');
  return new Set(existsSync(d) ? readdirSync(d).map((n) => `sha256:${n}`) : []);
};
const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `cond` holds (polled every 2 ms) or the run exits. */
const until = async (run: Run, cond: () => boolean): Promise<void> => {
  let done = false;
  void run.exited.then(() => (done = true));
  while (!done && !cond()) await sleep(2);
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!requireTool('tar') || !requireTool('sha256sum'))('an archive run killed with SIGKILL', () => {
  it('resumes with the same command: nothing cached fetched twice, no chunk looks whole before it is, the same archives in the end', async () => {
    const ref = mkdtempSync(join(tmpdir(), 'reef-archive-ref-'));
    const root = mkdtempSync(join(tmpdir(), 'reef-archive-kill-'));
    dirs.push(ref, root);
    const refStart = Date.now();
    const refRun = start(ref);
    expect(await refRun.exited, refRun.output()).toBe(0);
    // A resumed run is shorter than this one: the random kill lands in its first 60 %.
    const refMs = Date.now() - refStart;
    const refSums = readFileSync(join(ref, 'out', 'SHA256SUMS'), 'utf8');
    const refByName = new Map(refSums.trim().split('\n').map((l) => [l.slice(66), l.slice(0, 64)] as const));
    const allBlobs = blobTable(killSet());
    expect(refByName.size).toBeGreaterThanOrEqual(4);

    const out = join(root, 'out');
    mkdirSync(out, { recursive: true });
    const kills: { how: string; cached: Set<string>; logLines: number; tars: Map<string, { sha: string; ino: number; mtimeMs: number }>; partials: string[] }[] = [];
    let completed = false;
    const triggers: ((run: Run) => Promise<string>)[] = [
      async (run) => {
        const k = rand(1, 3);
        await until(run, () => cached(root).size >= k);
        await sleep(rand(0, 60));
        run.child.kill('SIGKILL');
        return `while fetching (after ${k} cached)`;
      },
      async (run) => {
        await sleep(rand(250, Math.max(300, Math.floor(refMs * 0.6))));
        run.child.kill('SIGKILL');
        return 'at a random moment';
      },
      async (run) => {
        const n = rand(2, 4);
        const seen = new Set<string>();
        const w = watch(out, (_ev, name) => {
          if (name?.endsWith('.partial')) seen.add(name);
          if (seen.size >= n) run.child.kill('SIGKILL');
        });
        await run.exited;
        w.close();
        return `at chunk ${n}'s .partial`;
      },
    ];
    for (const trigger of triggers) {
      const run = start(root);
      const how = await trigger(run);
      const code = await run.exited;
      // Finished before the kill landed (exit 0), or the kill landed after the run's last durable
      // step (history written, journal removed) while it was clearing its cache or exiting: either
      // way the set is complete and a rerun would start a new, incremental one.
      const journalGone = !existsSync(join(root, 'working-dir', '.reef', 'archive-journal.json'));
      const historyWritten = existsSync(join(root, 'working-dir', HISTORY_DIR, historyFileName(NOW)));
      if (code === 0 || (journalGone && historyWritten)) {
        completed = true;
        break;
      }
      const tars = new Map<string, { sha: string; ino: number; mtimeMs: number }>();
      const partials: string[] = [];
      for (const name of readdirSync(out)) {
        if (name.endsWith('.tar')) {
          const st = statSync(join(out, name));
          tars.set(name, { sha: sha(join(out, name)), ino: st.ino, mtimeMs: st.mtimeMs });
        } else if (name.endsWith('.partial')) partials.push(name);
      }
      kills.push({ how, cached: cached(root), logLines: lines(join(root, 'fetch.log')).length, tars, partials });
    }
    expect(kills.length).toBeGreaterThanOrEqual(2);
    // The first kill landed while blobs were still being fetched.
    expect(kills[0]!.cached.size).toBeGreaterThan(0);
    expect(kills[0]!.cached.size).toBeLessThan(allBlobs.size);
    expect(kills[0]!.tars.size).toBe(0);

    if (!completed) {
      const last = start(root);
      expect(await last.exited, last.output()).toBe(0);
    }
    console.info(kills.map((k) => `killed ${k.how}: ${k.cached.size} blobs cached, chunks ${[...k.tars.keys()].join(' ') || '-'}, partial ${k.partials.join(' ') || '-'}`).join('\n'));

    // Same archives as the uninterrupted run, byte for byte.
    expect(readFileSync(join(out, 'SHA256SUMS'), 'utf8')).toBe(refSums);
    expect(readdirSync(out).sort()).toEqual([...refByName.keys(), 'SHA256SUMS'].sort());
    expect(await mustRun('sh', ['-c', `cd '${out}' && sha256sum -c SHA256SUMS`])).toContain('OK');
    await expect(openArchiveSet(out)).resolves.toBeDefined();
    expect(existsSync(join(root, 'working-dir', '.reef', 'archive-journal.json'))).toBe(false);

    const log = lines(join(root, 'fetch.log'));
    for (const k of kills) {
      // Every .tar present after a kill was already whole: it is the final chunk of that name...
      for (const [name, t] of k.tars) expect(t.sha, `${name} after a kill ${k.how}`).toBe(refByName.get(name));
      // ...and the blobs cached whole at the kill were never fetched again.
      const after = log.slice(k.logLines);
      expect(after.filter((d) => k.cached.has(d)), `refetched after the kill ${k.how}`).toEqual([]);
    }
    // Chunks finished before the last kill were kept, not rewritten.
    const lastKill = kills.at(-1)!;
    for (const [name, t] of lastKill.tars) {
      const st = statSync(join(out, name));
      expect({ ino: st.ino, mtimeMs: st.mtimeMs }, name).toEqual({ ino: t.ino, mtimeMs: t.mtimeMs });
    }
    // Each blob fetched at most once per kill it straddled, and every one fetched at least once.
    const counts = new Map<string, number>();
    for (const d of log) counts.set(d, (counts.get(d) ?? 0) + 1);
    expect(new Set(counts.keys())).toEqual(new Set(allBlobs.keys()));
    for (const [d, n] of counts) expect(n, d).toBeLessThanOrEqual(1 + kills.length);
  }, 120_000);
});
