/**
 * A multi-gigabyte artifact (a Windows WIM) through the embedded registry with the real CLI:
 * `reef push` then `reef pull` against `reef serve` in its own process, whose memory must stay
 * flat while gigabytes stream through it (DESIGN.md §3: blobs are streamed, never buffered).
 * The source is sparse (5 GiB by default, REEF_TEST_BIG_GIB to change) with a few random
 * patches; the registry's copy and the pulled copy are real bytes, so this needs 2x the size
 * free on disk (plus headroom) and takes a minute or more. The server is the built one (`node
 * dist/cli.js serve`, compiled from this tree first), as operators run it: tsx alone would add
 * 20-50 MB of its own. REEF_TEST_RSS_LIMIT_MB overrides the 150 MB bound.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDist, type ChildReef, runReef, spawnReef } from '../helpers/process.js';
import { freeBytes, GiB, hashFile, rssOf, watchRss } from './helpers/large-io.js';
import { hexOf } from './helpers/oci.js';

const SIZE_GIB = Number(process.env.REEF_TEST_BIG_GIB ?? 5);
const SIZE = Math.round(SIZE_GIB * GiB);
const RSS_LIMIT = Number(process.env.REEF_TEST_RSS_LIMIT_MB ?? 150) * 1000 * 1000;
const ARTIFACT_TYPE = 'application/vnd.shoal.windows.wim';

const work = mkdtempSync(join(tmpdir(), 'reef-large-'));
const dataDir = join(work, 'data');
const source = join(work, 'install.wim');
const pulled = join(work, 'pulled.wim');
let reef: ChildReef | undefined;

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const secs = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/** A sparse file of `size` bytes: zeros except 64 KiB of random bytes at a few offsets. */
const makeSparse = async (path: string, size: number) => {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(size);
    const patch = 64 * 1024;
    const offsets = [0, Math.floor(size * 0.37), Math.floor(size / 2) + 4093, size - patch].map((o) => Math.max(0, Math.min(o, size - patch)));
    for (const o of offsets) await fh.write(randomBytes(patch), 0, patch, o);
  } finally {
    await fh.close();
  }
};

/** Runs a reef CLI command to completion; fails with its output if it does not exit 0. */
const cli = async (args: string[]) => {
  const r = runReef(args, {});
  const code = await r.exited;
  expect(code, `reef ${args.join(' ')} exited ${code}:\n${r.output()}`).toBe(0);
  return r.output();
};

beforeAll(async () => {
  mkdirSync(dataDir);
  const need = 2 * SIZE + 5 * GiB;
  const free = freeBytes(work);
  if (free < need) {
    throw new Error(
      `large.test.ts needs ${(need / GiB).toFixed(1)} GiB free under ${work} for a ${SIZE_GIB} GiB blob (the registry's copy and the pulled copy are real bytes), ` +
        `but only ${(free / GiB).toFixed(1)} GiB is free. Free some space or set REEF_TEST_BIG_GIB to a smaller size.`,
    );
  }
  await makeSparse(source, SIZE);
  buildDist();
  reef = await spawnReef({ REEF_DATA_DIR: dataDir, REGISTRY_GC_INTERVAL: '24h' }, { built: true });
}, 120_000);

afterAll(async () => {
  if (reef && reef.child.exitCode === null && reef.child.signalCode === null) {
    reef.child.kill('SIGTERM');
    const gone = await Promise.race([reef.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]);
    if (!gone) {
      reef.child.kill('SIGKILL');
      await reef.exited;
    }
  }
  rmSync(work, { recursive: true, force: true });
}, 120_000);

describe(`a ${SIZE_GIB} GiB artifact through reef push / reef pull`, () => {
  it('streams through the server with flat memory and arrives byte-identical', { timeout: 15 * 60_000 }, async () => {
    const server = reef!;
    const pid = server.child.pid!;
    const host = new URL(server.url).host;
    const ref = `${host}/os-images/big:1`;

    let t0 = performance.now();
    const digest = await hashFile(source);
    console.log(`source: ${SIZE} bytes (sparse, ${mb(statSync(source).blocks * 512)} allocated), ${digest}, hashed in ${secs(t0)}`);
    const idle = rssOf(pid)!;

    const rss = watchRss(pid, 100);
    let pushMax: number;
    let pullMax: number;
    try {
      t0 = performance.now();
      const pushOut = await cli(['push', ref, source, '--artifact-type', ARTIFACT_TYPE]);
      pushMax = rss.max();
      console.log(`push: ${secs(t0)}\n${pushOut.trim()}`);
      expect(pushOut).toContain(`Pushed ${ref}`);

      t0 = performance.now();
      const pullFrom = rss.samples.length;
      const pullOut = await cli(['pull', ref, '-o', pulled]);
      pullMax = Math.max(0, ...rss.samples.slice(pullFrom));
      console.log(`pull: ${secs(t0)}\n${pullOut.trim()}`);
      expect(pullOut).toContain(`${SIZE} bytes, ${digest}`);
    } finally {
      rss.stop();
    }
    const max = rss.max();
    const summary = `server RSS (pid ${pid}): idle ${mb(idle)}, max during push ${mb(pushMax)}, during pull ${mb(pullMax)}; ${rss.samples.length} samples, limit ${mb(RSS_LIMIT)}`;
    console.log(`${summary}\ntimeline (MB, ~1 sample/s): ${rss.samples.filter((_, i) => i % 10 === 0).map((v) => Math.round(v / 1e6)).join(' ')}`);
    expect(rss.samples.length, 'RSS was sampled throughout').toBeGreaterThan(10);
    expect(server.child.exitCode, `the server died:\n${server.output()}`).toBeNull();
    // Soft, so that a memory failure still reports whether the bytes arrived intact.
    expect.soft(max, summary).toBeLessThan(RSS_LIMIT);
    // An operator reading the server's log would see Node's leak warning (listeners piling up per write).
    expect.soft(server.output(), 'reef serve warned about a leak while streaming').not.toMatch(/MaxListenersExceededWarning|memory leak/);

    // What the user gets back is what they pushed.
    expect(statSync(pulled).size).toBe(SIZE);
    t0 = performance.now();
    expect(await hashFile(pulled)).toBe(digest);
    console.log(`pulled copy verified in ${secs(t0)}`);
    expect(existsSync(`${pulled}.partial`)).toBe(false);

    // And what the registry keeps on disk is that blob, under its digest.
    const blob = join(dataDir, 'registry', 'blobs', 'sha256', hexOf(digest));
    expect(existsSync(blob), `${blob} missing`).toBe(true);
    expect(statSync(blob).size).toBe(SIZE);
    expect(await hashFile(blob)).toBe(digest);

    // The manifest says what it is.
    const res = await fetch(`${server.url}/v2/os-images/big/manifests/1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(res.status).toBe(200);
    const manifest = (await res.json()) as { artifactType?: string; layers: { digest: string; size: number }[] };
    expect(manifest.artifactType).toBe(ARTIFACT_TYPE);
    expect(manifest.layers).toEqual([expect.objectContaining({ digest, size: SIZE })]);
  });
});
