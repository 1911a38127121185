/**
 * The web UI at scale (`BENCH_ONLY=ui`): a reef process whose database holds 10,000 jobs (with
 * events), 1,000 machines and 5,000 tags renders each /ui page; reported per page: p50/p95 of the
 * server's answer, beside the same query through the JSON API (the reference, same process, same
 * run). Target: every page's p95 under 100 ms. Requests run one at a time on a keep-alive socket,
 * so the figure is the server's render time plus a loopback round trip.
 *
 * The database is seeded through reef's own stores (its SQLite schema), not through the API:
 * 10,000 task ISOs are not what is measured.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../src/db/client.js';
import { newJobId } from '../src/controller/jobs/ids.js';
import { createSqliteJobStore } from '../src/controller/jobs/job-store.sqlite.js';
import { createSqliteMachineStore } from '../src/controller/machines/machine-store.sqlite.js';
import { createSqliteRecipeStore } from '../src/controller/recipes/recipe-store.sqlite.js';
import { createSqliteReleaseStore } from '../src/controller/releases/release-store.sqlite.js';
import { validateRecipe } from '../src/recipes/validate-recipe.js';
import { parseManifest } from '../src/registry/core/manifest.js';
import { createSqliteRegistryMeta } from '../src/registry/meta/meta.sqlite.js';
import { keepAliveAgent, percentile, request } from './http-load.js';
import { type Server, startReefProcess, stopServer } from './procs.js';
import { fmt, mdTable, table } from './report.js';

export const UI_BEGIN = '<!-- ui-bench:begin -->';
export const UI_END = '<!-- ui-bench:end -->';
export const UI_TARGET_P95_MS = 100;

export interface UiScale {
  jobs: number;
  machines: number;
  tags: number;
  /** Releases (FastRegistry's tabs), their events and download records. */
  releases?: number;
  releaseEvents?: number;
  downloads?: number;
}

/**
 * Releases as a site with years of them has: `count` tags over 4.x minors and three arches, a
 * few cloning with live counters, events and download records in the thousands.
 */
const seedReleases = (db: Parameters<typeof createSqliteReleaseStore>[0], start: number, scale: UiScale) => {
  const store = createSqliteReleaseStore(db);
  const arches = ['x86_64', 'aarch64', 'multi'] as const;
  const tags: string[] = [];
  for (let i = 0; i < (scale.releases ?? 0); i++) {
    const version = `4.${10 + Math.floor(i / 60)}.${Math.floor(i / 3) % 20}`;
    const architecture = arches[i % 3]!;
    const tag = `${version}-${architecture}`;
    if (!store.addAvailable({ tag, version, architecture, discoveredAt: start + i * 60_000 })) continue;
    tags.push(tag);
    if (i % 4 === 0) store.update(tag, { state: 'ready', clonedAt: start + i * 60_000 + 5000, size: 18 * 2 ** 30 });
    if (i % 50 === 1) {
      store.update(tag, { state: 'cloning' });
      store.setProgress(tag, { phase: 'mirroring_components', totalBlobs: 900, syncedBlobs: 400, totalBytes: 18 * 2 ** 30, syncedBytes: 8 * 2 ** 30, totalComponents: 190, mirroredComponents: 80, currentComponent: 'machine-os-images' });
    }
  }
  const types = ['release.discovered', 'clone_start', 'cloned', 'ready', 'download.artifact'] as const;
  for (let e = 0; e < (scale.releaseEvents ?? 0) && tags.length; e++) {
    store.addEvent({ type: types[e % types.length]!, severity: e % 97 === 0 ? 'error' : 'info', time: start + e * 1000, version: tags[e % tags.length]!, details: { n: e } });
  }
  for (let d = 0; d < (scale.downloads ?? 0) && tags.length; d++) {
    store.addDownload({ time: start + d * 1000, version: tags[d % tags.length]!, artifact: d % 2 ? 'oc' : 'coreos.iso', clientIp: `10.0.${d % 200}.${d % 250}`, userAgent: 'curl/7.88.1', size: 1_000_000 + d, durationMs: 800, status: d % 5 ? 200 : 206, range: d % 5 ? null : 'bytes=0-1023' });
  }
};

export interface UiPageResult {
  page: string;
  api: string | null;
  uiP50Ms: number;
  uiP95Ms: number;
  apiP50Ms: number | null;
  apiP95Ms: number | null;
  uiBytes: number;
  pass: boolean;
}

const REPO = 'bench/ui';
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Seeds `dataDir`: machines, jobs (the newest on each of the first machines still provisioning), events, a repository with `tags` tags. */
export const seedUiStore = (repoRoot: string, dataDir: string, scale: UiScale): { activeJob: string; tag: string } => {
  const blobsDir = join(dataDir, 'registry', 'blobs', 'sha256');
  mkdirSync(blobsDir, { recursive: true });
  mkdirSync(join(dataDir, 'registry', 'blobs', 'sha512'), { recursive: true });
  mkdirSync(join(dataDir, 'registry', 'uploads'), { recursive: true });
  const opened = openDb(dataDir);
  const jobs = createSqliteJobStore(opened.db);
  const machines = createSqliteMachineStore(opened.db);
  const recipes = createSqliteRecipeStore(opened.db);
  const meta = createSqliteRegistryMeta(opened.db, opened.sqlite);
  const { source, recipe } = validateRecipe(JSON.parse(readFileSync(join(repoRoot, 'recipes', 'ubuntu-rootfs.json'), 'utf8')));
  const start = Date.now() - scale.jobs * 60_000;
  let activeJob = '';
  opened.sqlite.transaction(() => {
    recipes.insert({ name: 'ubuntu', source, recipe, createdAt: start, updatedAt: start });
    for (let m = 0; m < scale.machines; m++) {
      const hex = m.toString(16).padStart(6, '0');
      machines.upsert({ serial: `RACK-${m}`, macs: [`52:54:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`], labels: { rack: String(m % 40) } }, start);
    }
    const activeFrom = scale.jobs - Math.min(200, scale.machines);
    for (let j = 0; j < scale.jobs; j++) {
      const t = start + j * 60_000;
      const active = j >= activeFrom;
      const serial = `RACK-${active ? j - activeFrom : j % scale.machines}`;
      const id = newJobId(t);
      const status = active ? 'provisioning' : j % 10 === 0 ? 'failed' : 'succeeded';
      jobs.create(
        {
          id, serial, recipeName: 'ubuntu', recipe, status, step: 'pull', bytesDone: 512 * 2 ** 20, bytesTotal: 2 ** 30,
          failedStep: status === 'failed' ? 'mkfs' : null, reason: status === 'failed' ? 'device busy' : null,
          createdAt: t, updatedAt: t + 30_000, startedAt: t + 1000, finishedAt: active ? null : t + 30_000, mediaRemovedAt: null,
        },
        { serial, macs: [] },
        { time: t, level: 'info', step: null, message: `job queued for ${serial}`, bytesDone: null, bytesTotal: null, deliveryId: null, source: 'controller' },
      );
      for (const step of ['partition', 'mkfs', 'pull']) {
        jobs.record(id, { time: t + 1000, level: 'info', step, message: `step ${step}`, bytesDone: step === 'pull' ? 512 * 2 ** 20 : null, bytesTotal: step === 'pull' ? 2 ** 30 : null, deliveryId: null, source: 'agent' }, { updatedAt: t + 30_000 });
      }
      if (active) activeJob = id;
    }
    // One image, tagged `tags` times: the tags page and its API lists page through them.
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layer = randomBytes(1024);
    for (const b of [config, layer]) {
      writeFileSync(join(blobsDir, sha(b).slice(7)), b);
      meta.linkBlob(REPO, sha(b), b.length, start);
    }
    const doc = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }],
    };
    const bytes = Buffer.from(JSON.stringify(doc));
    writeFileSync(join(blobsDir, sha(bytes).slice(7)), bytes);
    const tags = Array.from({ length: scale.tags }, (_, i) => `v${String(i).padStart(5, '0')}`);
    meta.putManifest({ repo: REPO, digest: sha(bytes), mediaType: doc.mediaType, size: bytes.length, artifactType: null, subject: null, annotations: null, createdAt: start }, parseManifest(bytes, doc.mediaType), tags);
    seedReleases(opened.db, start, scale);
  })();
  opened.close();
  return { activeJob, tag: 'v00000' };
};

/** p50 and p95 (ms) of `runs` GETs of `path`, one at a time on one keep-alive socket, after `warmup`. */
const latency = async (base: string, path: string, runs: number, warmup: number) => {
  const agent = keepAliveAgent(1);
  const times: number[] = [];
  let bytes = 0;
  try {
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      const res = await request(base, { method: 'GET', path }, agent);
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${res.body.toString().slice(0, 300)}`);
      bytes = res.body.length;
      if (i >= warmup) times.push(ms);
    }
  } finally {
    agent.destroy();
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p95: percentile(times, 95), bytes };
};

export const uiBench = async (o: { repoRoot: string; scratchDir: string; scale: UiScale; runs: number; onServer: (s: Server) => void }) => {
  const dataDir = join(o.scratchDir, 'data');
  const t0 = performance.now();
  const seeded = seedUiStore(o.repoRoot, dataDir, o.scale);
  const seedSeconds = (performance.now() - t0) / 1000;
  console.log(`\n== ui: ${o.scale.jobs} jobs, ${o.scale.machines} machines, ${o.scale.tags} tags seeded in ${seedSeconds.toFixed(1)} s`);
  // Releases on, against an upstream nobody asks (no discovery; the seeded clones resumed at start fail at once): the pages read what was seeded.
  const configFile = join(o.scratchDir, 'reef.yaml');
  writeFileSync(configFile, 'releases:\n  enabled: true\n  upstream: 127.0.0.1:9\n  architectures: [x86_64, aarch64, multi]\n  auto_discover: false\n  retries: 0\n');
  const reef = await startReefProcess(o.repoRoot, dataDir, [], { REEF_CONFIG: configFile });
  o.onServer(reef);
  const q = (repo: string, ref?: string) => new URLSearchParams({ repo, ...(ref ? { ref } : {}) }).toString();
  const pairs: [string, string | null][] = [
    ['/ui', '/api/v1/jobs?status=provisioning&limit=20'],
    ['/ui/jobs', '/api/v1/jobs'],
    ['/ui/jobs?status=failed', '/api/v1/jobs?status=failed'],
    [`/ui/jobs/${seeded.activeJob}`, `/api/v1/jobs/${seeded.activeJob}`],
    ['/ui/machines', '/api/v1/machines'],
    ['/ui/recipes', '/api/v1/recipes'],
    ['/ui/registry', '/v2/_catalog?n=100'],
    [`/ui/registry/tags?${q(REPO)}`, `/v2/${REPO}/tags/list?n=100`],
    [`/ui/registry/manifest?${q(REPO, seeded.tag)}`, `/v2/${REPO}/manifests/${seeded.tag}`],
    ['/ui/releases', '/admin/releases'],
    ['/ui/releases?tab=news', null],
    ['/ui/releases?tab=cloning', null],
    ['/ui/releases?tab=events', '/admin/releases/events'],
    ['/ui/releases?tab=downloads', '/admin/releases/downloads'],
    ['/ui/releases?tab=log', null],
    ['/ui/mirror', null],
    ['/ui/isos', '/api/v1/isos/bases'],
    ['/ui/prestage', '/api/v1/prestage/ignition/discovery'],
    ['/ui/audit', '/api/v1/audit?limit=200'],
  ];
  const results: UiPageResult[] = [];
  try {
    for (const [page, api] of pairs) {
      const ui = await latency(reef.url, page, o.runs, 20);
      const ref = api ? await latency(reef.url, api, o.runs, 20) : null;
      results.push({ page, api, uiP50Ms: ui.p50, uiP95Ms: ui.p95, apiP50Ms: ref?.p50 ?? null, apiP95Ms: ref?.p95 ?? null, uiBytes: ui.bytes, pass: ui.p95 < UI_TARGET_P95_MS });
    }
  } finally {
    await stopServer(reef);
  }
  const rows = results.map((r) => [r.page.replace(seeded.activeJob, '<id>'), fmt(r.uiP50Ms, 1), fmt(r.uiP95Ms, 1), r.apiP95Ms === null ? '—' : fmt(r.apiP95Ms, 1), r.apiP95Ms === null ? '—' : fmt(r.uiP95Ms / r.apiP95Ms, 2), String(Math.round(r.uiBytes / 1024)), r.pass ? 'PASS' : 'FAIL']);
  const head = ['page', 'p50 ms', 'p95 ms', 'API p95 ms', 'page/API', 'KiB', `p95 < ${UI_TARGET_P95_MS} ms`];
  console.log(table(head, rows));
  return { scale: o.scale, runs: o.runs, seedSeconds, target: { p95Ms: UI_TARGET_P95_MS }, results, pass: results.every((r) => r.pass), markdownRows: rows, head };
};
export type UiBenchResult = Awaited<ReturnType<typeof uiBench>>;

export const uiMarkdown = (r: UiBenchResult, date: string, system: Record<string, unknown>) =>
  [
    UI_BEGIN,
    '## Web UI (`BENCH_ONLY=ui`)',
    '',
    `${date}; ${String(system.cpus)} CPUs (${String(system.cpuModel)}), node ${String(system.node)}, load average ${String(system.loadavgAtStart)} → ${String(system.loadavgAtEnd ?? '?')}.`,
    `Database: ${r.scale.jobs} jobs (4 events each), ${r.scale.machines} machines, ${r.scale.tags} tags, ${r.scale.releases ?? 0} releases with ${r.scale.releaseEvents ?? 0} events and ${r.scale.downloads ?? 0} download records. ${r.runs} GETs per page, one at a time, after 20 warm-up; the API column is the same query through the JSON API in the same process and run.`,
    '',
    mdTable(r.head, r.markdownRows),
    '',
    `Every page's p95 under ${UI_TARGET_P95_MS} ms: ${r.pass ? 'PASS' : 'FAIL'}.`,
    UI_END,
  ].join('\n');
