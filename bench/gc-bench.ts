/**
 * GC at scale (`BENCH_ONLY=gc`): a registry of B blobs and M image manifests in R repositories,
 * half of it unreferenced (untagged manifests and the blobs only they use), collected by a reef
 * process with POST /admin/gc. Reported per scale: mark + sweep wall time, what it freed, reef's
 * peak RSS during the run; manifest GET throughput while GC runs beside the same load idle (the
 * reference, same process, same run); and how time grows from the small scale to the large one
 * (linear = the same factor as the size).
 *
 * The store is seeded through reef's own registry modules (its SQLite schema and meta store);
 * blob files are written plainly (no fsync per file) since seeding is not what is measured.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { openDb } from '../src/db/client.js';
import { parseManifest } from '../src/registry/core/manifest.js';
import { createSqliteRegistryMeta } from '../src/registry/meta/meta.sqlite.js';
import { request } from './http-load.js';
import { type Server, startReefProcess, stopServer } from './procs.js';
import { rssBytes, sampleRss } from './registry-procs.js';
import { fmt, table } from './report.js';

export interface GcScale {
  blobs: number;
  manifests: number;
  repos: number;
}

export interface GcScaleResult extends GcScale {
  seedSeconds: number;
  gcSeconds: number;
  gcReportSeconds: number;
  blobsDeleted: number;
  manifestsDeleted: number;
  bytesFreed: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
  idleRps: number;
  duringGcRps: number;
}

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const DAY = 86_400_000;

/** Seeds `dataDir` with the scale's blobs and manifests; returns the tags that must survive. */
export const seedGcStore = (dataDir: string, scale: GcScale): { live: { repo: string; tag: string }[] } => {
  const blobsDir = join(dataDir, 'registry', 'blobs', 'sha256');
  mkdirSync(blobsDir, { recursive: true });
  mkdirSync(join(dataDir, 'registry', 'blobs', 'sha512'), { recursive: true });
  mkdirSync(join(dataDir, 'registry', 'uploads'), { recursive: true });
  const opened = openDb(dataDir);
  const meta = createSqliteRegistryMeta(opened.db, opened.sqlite);
  const old = Date.now() - 2 * DAY;
  const perManifest = Math.max(2, Math.floor(scale.blobs / scale.manifests));
  const live: { repo: string; tag: string }[] = [];
  opened.sqlite.transaction(() => {
    for (let m = 0; m < scale.manifests; m++) {
      const repo = `gc/repo-${m % scale.repos}`;
      const descs = [];
      for (let b = 0; b < perManifest; b++) {
        const bytes = randomBytes(64);
        const digest = sha(bytes);
        writeFileSync(join(blobsDir, digest.slice(7)), bytes);
        meta.linkBlob(repo, digest, bytes.length, old);
        descs.push({ mediaType: b === 0 ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.oci.image.layer.v1.tar', digest, size: bytes.length });
      }
      const doc = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: descs[0], layers: descs.slice(1) };
      const bytes = Buffer.from(JSON.stringify(doc));
      const digest = sha(bytes);
      writeFileSync(join(blobsDir, digest.slice(7)), bytes);
      // Even manifests are tagged (kept); odd ones are untagged, and with their blobs, garbage.
      const tag = m % 2 === 0 ? `t${m}` : null;
      const parsed = parseManifest(bytes, doc.mediaType);
      meta.putManifest({ repo, digest, mediaType: doc.mediaType, size: bytes.length, artifactType: parsed.artifactType, subject: null, annotations: null, createdAt: old }, parsed, tag ? [tag] : []);
      if (tag) live.push({ repo, tag });
    }
  })();
  opened.close();
  return { live };
};

/** Manifest GETs of live tags from `conns` keep-alive connections until `until()`; requests per second. */
const manifestLoad = async (base: string, live: { repo: string; tag: string }[], conns: number, until: () => boolean): Promise<{ rps: number; bad: number }> => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  let n = 0;
  let bad = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conns }, async (_, w) => {
      for (let i = w; !until(); i += conns) {
        const { repo, tag } = live[i % live.length]!;
        const res = await request(base, { method: 'GET', path: `/v2/${repo}/manifests/${tag}` }, agent, { accept: 'application/vnd.oci.image.manifest.v1+json' });
        if (res.status === 200) n++;
        else bad++;
      }
    }),
  );
  agent.destroy();
  return { rps: (n * 1000) / (performance.now() - t0), bad };
};

export const gcBench = async (opts: { repoRoot: string; scratchDir: string; scales: GcScale[]; conns?: number; onServer?: (s: Server) => void }) => {
  const results: GcScaleResult[] = [];
  for (const scale of opts.scales) {
    const dataDir = join(opts.scratchDir, `gc-${scale.blobs}`);
    rmSync(dataDir, { recursive: true, force: true });
    const s0 = performance.now();
    const { live } = seedGcStore(dataDir, scale);
    const seedSeconds = (performance.now() - s0) / 1000;
    console.log(`gc: seeded ${scale.blobs} blobs, ${scale.manifests} manifests in ${scale.repos} repositories in ${seedSeconds.toFixed(1)} s`);
    process.env.REGISTRY_GC_GRACE_PERIOD = '1h';
    process.env.REGISTRY_GC_INTERVAL = '24h';
    const reef = await startReefProcess(opts.repoRoot, dataDir);
    opts.onServer?.(reef);
    try {
      const conns = opts.conns ?? 8;
      // The reference: the same load for 2 s with nothing else running.
      const idleEnd = performance.now() + 2000;
      const idle = await manifestLoad(reef.url, live, conns, () => performance.now() > idleEnd);
      const rssBefore = rssBytes(reef.pid);
      const rss = sampleRss(reef.pid, 20);
      let gcDone = false;
      const loadDuring = manifestLoad(reef.url, live, conns, () => gcDone);
      const g0 = performance.now();
      const res = await request(reef.url, { method: 'POST', path: '/admin/gc' });
      const gcSeconds = (performance.now() - g0) / 1000;
      gcDone = true;
      const during = await loadDuring;
      const { peakBytes } = rss.stop();
      if (res.status !== 200) throw new Error(`POST /admin/gc answered ${res.status}: ${res.body.toString()}`);
      const report = JSON.parse(res.body.toString()) as { blobs_deleted: number; manifests_deleted: number; bytes_freed: number; duration_seconds: number };
      if (idle.bad || during.bad) throw new Error(`manifest GETs failed: ${idle.bad} idle, ${during.bad} during GC`);
      results.push({
        ...scale,
        seedSeconds,
        gcSeconds,
        gcReportSeconds: report.duration_seconds,
        blobsDeleted: report.blobs_deleted,
        manifestsDeleted: report.manifests_deleted,
        bytesFreed: report.bytes_freed,
        rssBeforeBytes: rssBefore,
        peakRssBytes: peakBytes,
        idleRps: idle.rps,
        duringGcRps: during.rps,
      });
    } finally {
      await stopServer(reef);
      delete process.env.REGISTRY_GC_GRACE_PERIOD;
      delete process.env.REGISTRY_GC_INTERVAL;
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const small = results[0]!;
  const large = results[results.length - 1]!;
  const sizeFactor = large.blobs / small.blobs;
  const timeFactor = large.gcSeconds / small.gcSeconds;
  const target = { seconds: 5 };
  const pass = { seconds: large.gcSeconds < target.seconds, linear: timeFactor <= sizeFactor * 1.5 };
  console.log('\n== gc: POST /admin/gc on a registry half garbage (grace 1h, everything 2 days old)');
  console.log(
    table(
      ['blobs', 'manifests', 'repos', 'GC s', 'blobs freed', 'manifests freed', 'RSS before MB', 'peak RSS MB', 'manifest GET/s idle', 'during GC', 'ratio'],
      results.map((r) => [
        String(r.blobs), String(r.manifests), String(r.repos), fmt(r.gcSeconds, 2), String(r.blobsDeleted), String(r.manifestsDeleted),
        fmt(r.rssBeforeBytes / 1e6, 1), fmt(r.peakRssBytes / 1e6, 1), fmt(r.idleRps, 0), fmt(r.duringGcRps, 0), fmt(r.duringGcRps / r.idleRps, 3),
      ]),
    ),
  );
  console.log(`growth: ${sizeFactor}x the registry took ${timeFactor.toFixed(2)}x the time (linear: ≤ ${(sizeFactor * 1.5).toFixed(1)}x) ${pass.linear ? 'PASS' : 'FAIL'}; largest GC ${large.gcSeconds.toFixed(2)} s (target < ${target.seconds} s) ${pass.seconds ? 'PASS' : 'FAIL'}`);
  return { results, sizeFactor, timeFactor, target, pass };
};

export const GC_BEGIN = '<!-- gc-bench:begin (generated by `BENCH_ONLY=gc npm run bench`; edits inside are overwritten) -->';
export const GC_END = '<!-- gc-bench:end -->';

/** The "GC at scale" section of bench/RESULTS.md. */
export const gcMarkdown = (r: Awaited<ReturnType<typeof gcBench>>, date: string, system: Record<string, string | number>): string => {
  const rows = r.results
    .map(
      (x) =>
        `| ${x.blobs} | ${x.manifests} | ${x.repos} | ${fmt(x.gcSeconds, 2)} | ${x.blobsDeleted} | ${x.manifestsDeleted} | ${fmt(x.rssBeforeBytes / 1e6, 1)} | ${fmt(x.peakRssBytes / 1e6, 1)} | ${fmt(x.idleRps, 0)} | ${fmt(x.duringGcRps, 0)} | ${fmt(x.duringGcRps / x.idleRps, 3)} |`,
    )
    .join('\n');
  return `${GC_BEGIN}
## GC at scale: POST /admin/gc on a registry that is half garbage

Run of ${date} on ${system.cpus} × ${system.cpuModel}, node ${system.node}, load average ${system.loadavgAtStart} at start.
Each scale is seeded through reef's own registry meta store (64-byte blobs, one config and the
rest layers per image manifest, manifest i in repository i mod R; even manifests tagged, odd ones
untagged, everything two days old), then a reef process (\`dist/cli.js serve\`, grace 1h) runs
one GC while 8 keep-alive connections GET tagged manifests; the same load for 2 s before the GC is
the reference. Peak RSS sampled every 20 ms during the GC.

| blobs | manifests | repositories | GC s | blobs freed | manifests freed | RSS before MB | peak RSS MB | manifest GET/s idle | during GC | ratio |
|---|---|---|---|---|---|---|---|---|---|---|
${rows}

Growth: ${r.sizeFactor}× the registry took ${fmt(r.timeFactor, 2)}× the time (linear: ≤ ${fmt(r.sizeFactor * 1.5, 1)}×) **${r.pass.linear ? 'PASS' : 'FAIL'}**;
the largest GC took ${fmt(r.results.at(-1)!.gcSeconds, 2)} s (target < ${r.target.seconds} s) **${r.pass.seconds ? 'PASS' : 'FAIL'}**.
("blobs freed" counts manifests' own files too: they are blobs of the store.)
${GC_END}`;
};
