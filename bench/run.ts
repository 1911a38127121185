/**
 * reef benchmark (`npm run bench`): job creations per second (vs GET /healthz) and 1 GiB /media
 * download throughput vs nginx, and reef's /v2 registry vs distribution (docker-registry): 1 GiB
 * skopeo push/pull, blob GET, manifest GET load, RSS. reef, nginx and docker-registry run in
 * their own processes (stopped by PID at the end); the 1 GiB source file and the OCI layout made
 * from it are kept in .bench/ for reuse; results go to stdout and .bench/results.json (and the
 * registry part's to bench/RESULTS.md). Knobs (environment):
 *   BENCH_JOBS (3000), BENCH_HEALTHZ (10000), BENCH_CONCURRENCY (32), BENCH_WARMUP (500),
 *   BENCH_RUNS (5), BENCH_PARALLEL (4), BENCH_ONLY (jobs | media | registry | gc | embed | agent | prestage | mirror | releases | ui, or a comma list),
 *   BENCH_REGISTRY_RUNS (6, an odd count is rounded up to even), BENCH_REGISTRY_CONCURRENCY (20), BENCH_REGISTRY_SECONDS (5),
 *   BENCH_EMBED_CACHE (both | warm | cold),
 *   BENCH_REGISTRY_RESULTS (1: rewrite the registry section of bench/RESULTS.md; 0: don't),
 *   BENCH_AGENT_RUNS (3: agent pull+extract vs curl | tar -x, needs root and loop devices),
 *   BENCH_REEF_NODE_ARGS (extra node flags for reef, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"),
 *   BENCH_PRESTAGE_IMAGES (50), BENCH_PRESTAGE_BYTES (2 GiB), BENCH_PRESTAGE_RUNS (2) for the prestage part,
 *   BENCH_GC_BLOBS (100000: the large scale; the small one is a tenth) for the gc part,
 *   BENCH_MIRROR_IMAGES (200), BENCH_MIRROR_BYTES (2 GiB), BENCH_MIRROR_RUNS (3),
 *   BENCH_MIRROR_NODE_ARGS (node flags for the `reef mirror` process), BENCH_MIRROR_RESULTS (1; 0: leave RESULTS.md) for the mirror part,
 *   BENCH_RELEASES_IMAGES (200), BENCH_RELEASES_BYTES (2 GiB), BENCH_RELEASES_RUNS (2) for the releases part,
 *   BENCH_UI_JOBS (10000), BENCH_UI_MACHINES (1000), BENCH_UI_TAGS (5000), BENCH_UI_RELEASES (600), BENCH_UI_RELEASE_EVENTS (20000), BENCH_UI_DOWNLOADS (5000), BENCH_UI_RUNS (200) for the ui part.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from './http-load.js';
import { AGENT_BEGIN, AGENT_END, agentBench, agentMarkdown } from './agent-bench.js';
import { jobCreationBench } from './jobs-bench.js';
import { GIB } from './media.js';
import { mediaBench } from './media-bench.js';
import { prestageBench, writePrestageResults } from './prestage-bench.js';
import { mirrorBench, writeMirrorResults } from './mirror-bench.js';
import { releasesBench, writeReleasesResults } from './releases-bench.js';
import { type Server, startReefProcess, stopServer } from './procs.js';
import { rssBytes } from './registry-procs.js';
import { registryBench } from './registry-bench.js';
import { distributionVersion } from './registry-procs.js';
import { registryMarkdown, writeRegistryResults } from './registry-results.js';
import { writeResultsSection } from './report.js';
import { EMBED_BEGIN, EMBED_END, embedBench, embedMarkdown } from './embed-bench.js';
import { GC_BEGIN, GC_END, gcBench, gcMarkdown } from './gc-bench.js';
import { UI_BEGIN, UI_END, uiBench, uiMarkdown } from './ui-bench.js';

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && process.env[name] !== '' && process.env[name] !== undefined ? v : fallback;
};
const ONLY = process.env.BENCH_ONLY ?? '';
const PARTS = ['jobs', 'media', 'registry', 'gc', 'embed', 'agent', 'prestage', 'mirror', 'releases', 'ui'] as const;
/** BENCH_ONLY: one part or a comma-separated list (they run in PARTS order, in one reef process). */
const ONLY_PARTS = ONLY.split(',').map((p) => p.trim()).filter(Boolean);
for (const p of ONLY_PARTS) {
  if (!(PARTS as readonly string[]).includes(p)) throw new Error(`BENCH_ONLY must list parts among ${PARTS.join(', ')} (or be unset for all), not ${JSON.stringify(p)}`);
}
const runs = (part: (typeof PARTS)[number]) => ONLY_PARTS.length === 0 || ONLY_PARTS.includes(part);
const params = {
  jobs: num('BENCH_JOBS', 3000),
  healthz: num('BENCH_HEALTHZ', 10000),
  concurrency: num('BENCH_CONCURRENCY', 32),
  warmup: num('BENCH_WARMUP', 500),
  runs: num('BENCH_RUNS', 5),
  parallel: num('BENCH_PARALLEL', 4),
  registryRuns: num('BENCH_REGISTRY_RUNS', 6),
  registryConcurrency: num('BENCH_REGISTRY_CONCURRENCY', 20),
  registrySeconds: num('BENCH_REGISTRY_SECONDS', 5),
  prestageImages: num('BENCH_PRESTAGE_IMAGES', 50),
  prestageBytes: num('BENCH_PRESTAGE_BYTES', 2 * 2 ** 30),
  prestageRuns: num('BENCH_PRESTAGE_RUNS', 2),
  gcBlobs: num('BENCH_GC_BLOBS', 100_000),
  mirrorImages: num('BENCH_MIRROR_IMAGES', 200),
  mirrorBytes: num('BENCH_MIRROR_BYTES', 2 * 2 ** 30),
  mirrorRuns: num('BENCH_MIRROR_RUNS', 3),
  releasesImages: num('BENCH_RELEASES_IMAGES', 200),
  releasesBytes: num('BENCH_RELEASES_BYTES', 2 * 2 ** 30),
  releasesRuns: num('BENCH_RELEASES_RUNS', 2),
  uiJobs: num('BENCH_UI_JOBS', 10_000),
  uiMachines: num('BENCH_UI_MACHINES', 1000),
  uiTags: num('BENCH_UI_TAGS', 5000),
  uiReleases: num('BENCH_UI_RELEASES', 600),
  uiReleaseEvents: num('BENCH_UI_RELEASE_EVENTS', 20_000),
  uiDownloads: num('BENCH_UI_DOWNLOADS', 5000),
  uiRuns: num('BENCH_UI_RUNS', 200),
  only: ONLY || 'all',
};

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(repoRoot, '.bench');
mkdirSync(benchDir, { recursive: true });
const runDir = mkdtempSync(join(benchDir, 'run-'));
const dataDir = join(runDir, 'data');
const RECIPE_NAME = 'bench';

const recipePath = join(repoRoot, 'recipes', 'ubuntu-rootfs.json');
const RECIPE = existsSync(recipePath)
  ? readFileSync(recipePath, 'utf8')
  : JSON.stringify({
      task_target: 'install-linux.target',
      target_disk: '/dev/sda',
      oci_url: 'controller.example.com:8080/os-images/ubuntu-rootfs:22.04',
      partitions: [
        { mount: '/boot/efi', size: '512M', fstype: 'vfat' },
        { mount: '/', size: '0', fstype: 'ext4' },
      ],
      cloud_init: { hostname: 'server01.example.com', users: [{ name: 'admin', ssh_authorized_keys: ['ssh-rsa AAAA...'] }] },
    });

const servers: Server[] = [];
const cleanup = async () => {
  for (const s of servers.splice(0).reverse()) await stopServer(s);
  rmSync(runDir, { recursive: true, force: true });
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

const sysInfo = () => ({
  node: process.version,
  nginx: execFileSync('sh', ['-c', '/usr/sbin/nginx -v 2>&1'], { encoding: 'utf8' }).trim(), // nginx -v prints to stderr
  curl: execFileSync('curl', ['--version'], { encoding: 'utf8' }).split('\n')[0]!,
  ...(runs('registry')
    ? {
        skopeo: execFileSync('skopeo', ['--version'], { encoding: 'utf8' }).trim(),
        distribution: distributionVersion(),
      }
    : {}),
  ...(runs('prestage') || runs('mirror') ? { skopeo: execFileSync('skopeo', ['--version'], { encoding: 'utf8' }).trim() } : {}),
  ...(runs('mirror') ? { distribution: distributionVersion() } : {}),
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? '?',
  kernel: os.release(),
  memGiB: Math.round(os.totalmem() / GIB),
  loadavgAtStart: os.loadavg().map((l) => l.toFixed(2)).join(' '),
});

const main = async () => {
  const system = sysInfo();
  console.log('== system');
  for (const [k, v] of Object.entries(system)) console.log(`${k.padEnd(9)} ${v}`);
  console.log(`params    ${JSON.stringify(params)}`);

  const reefArgs = (process.env.BENCH_REEF_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const reef = await startReefProcess(repoRoot, dataDir, reefArgs);
  servers.push(reef);
  console.log(`\nreef pid ${reef.pid} at ${reef.url}, data ${dataDir}`);
  const rec = await request(reef.url, { method: 'POST', path: `/api/v1/recipes?name=${RECIPE_NAME}`, body: RECIPE });
  if (rec.status !== 201) throw new Error(`creating the recipe answered ${rec.status}: ${rec.body.toString()}`);

  const jobCreation = !runs('jobs') ? null : await jobCreationBench(reef, { ...params, recipeName: RECIPE_NAME, dataDir });
  const media =
    !runs('media')
      ? null
      : await mediaBench(reef, {
          ...params,
          recipeName: RECIPE_NAME,
          dataDir,
          nginxDir: join(runDir, 'nginx'),
          bigFile: join(benchDir, 'big-1GiB.bin'),
          scratchDir: runDir,
          onServer: (s) => servers.push(s),
        });
  // The registry part gets a reef process of its own, started fresh like distribution beside it:
  // after the job and media parts V8 keeps its grown heap (see bench/RESULTS.md, RSS), which would
  // be billed to the push's RSS figure and is not the registry's doing.
  const registryReef = !runs('registry') ? null : await startReefProcess(repoRoot, join(runDir, 'registry-reef-data'), reefArgs);
  if (registryReef) {
    servers.push(registryReef);
    console.log(`\nregistry part: its own reef, pid ${registryReef.pid} at ${registryReef.url} (RSS at start ${(rssBytes(registryReef.pid) / 1e6).toFixed(1)} MB); the first reef is at ${(rssBytes(reef.pid) / 1e6).toFixed(1)} MB`);
  }
  const registry = !registryReef
    ? null
    : await registryBench(registryReef, {
        runs: params.registryRuns,
        concurrency: params.registryConcurrency,
        manifestSeconds: params.registrySeconds,
        bigFile: join(benchDir, 'big-1GiB.bin'),
        layoutDir: join(benchDir, 'registry-layout'),
        scratchDir: join(runDir, 'registry'),
        onServer: (s) => servers.push(s),
      });

  const gc = !runs('gc')
    ? null
    : await gcBench({
        repoRoot,
        scratchDir: join(runDir, 'gc'),
        scales: [
          { blobs: params.gcBlobs / 10, manifests: params.gcBlobs / 100, repos: params.gcBlobs / 1000 },
          { blobs: params.gcBlobs, manifests: params.gcBlobs / 10, repos: params.gcBlobs / 100 },
        ],
        onServer: (s) => servers.push(s),
      });

  const agent = !runs('agent') ? null : await agentBench(reef, { repoRoot, benchDir, scratchDir: runDir, runs: num('BENCH_AGENT_RUNS', 3) });
  const embed = !runs('embed') ? null : await embedBench({
        repoRoot,
        benchDir,
        scratchDir: join(runDir, 'embed'),
        runs: params.runs,
        modes: process.env.BENCH_EMBED_CACHE === 'warm' || process.env.BENCH_EMBED_CACHE === 'cold' ? [process.env.BENCH_EMBED_CACHE] : ['warm', 'cold'],
      });

  const prestage = !runs('prestage')
    ? null
    : await prestageBench(reef, { repoRoot, scratchDir: join(runDir, 'prestage'), images: params.prestageImages, totalBytes: params.prestageBytes, runs: params.prestageRuns });

  const mirror = !runs('mirror')
    ? null
    : await mirrorBench({
        repoRoot,
        benchDir,
        scratchDir: join(runDir, 'mirror'),
        images: params.mirrorImages,
        totalBytes: params.mirrorBytes,
        runs: params.mirrorRuns,
        mirrorNodeArgs: (process.env.BENCH_MIRROR_NODE_ARGS ?? '').split(' ').filter(Boolean),
        reefNodeArgs: reefArgs,
        onServer: (s) => servers.push(s),
      });

  const releases = !runs('releases')
    ? null
    : await releasesBench({ repoRoot, scratchDir: join(runDir, 'releases'), images: params.releasesImages, totalBytes: params.releasesBytes, runs: params.releasesRuns, nodeArgs: reefArgs, onServer: (s) => servers.push(s) });

  const ui = !runs('ui')
    ? null
    : await uiBench({
        repoRoot,
        scratchDir: join(runDir, 'ui'),
        scale: { jobs: params.uiJobs, machines: params.uiMachines, tags: params.uiTags, releases: params.uiReleases, releaseEvents: params.uiReleaseEvents, downloads: params.uiDownloads },
        runs: params.uiRuns,
        onServer: (s) => servers.push(s),
      });

  const loadavgAtEnd = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const date = new Date().toISOString();
  const results = { date, system: { ...system, loadavgAtEnd }, params, jobCreation, media, registry, gc, embed, agent, prestage, mirror, releases, ui };
  const json = JSON.stringify(results, null, 2);
  writeFileSync(join(benchDir, 'results.json'), `${json}\n`);
  console.log(`\n== summary (load average at start ${system.loadavgAtStart}, at end ${loadavgAtEnd}; other work on this ${system.cpus}-CPU box skews the figures)`);
  if (jobCreation) console.log(`jobs/s ${jobCreation.jobs.perSecond.toFixed(0)} (target ≥ ${jobCreation.target}): ${jobCreation.pass ? 'PASS' : 'FAIL'}`);
  if (registry) {
    const p = registry.pass;
    const v = (b: boolean) => (b ? 'PASS' : 'FAIL');
    console.log(
      `registry reef vs distribution: push ${registry.ratios.push.toFixed(3)}× (≥ ${registry.targets.push}) ${v(p.push)}, pull ${registry.ratios.pull.toFixed(3)}× (≥ ${registry.targets.pull}) ${v(p.pull)}, ` +
        `manifest ${registry.ratios.manifestRps.toFixed(3)}× rps (≥ ${registry.targets.manifestRps}) with p99 ${registry.reef.manifestP99Ms.toFixed(2)} vs ${registry.dist.manifestP99Ms.toFixed(2)} ms ${v(p.manifest)}, ` +
        `reef push RSS ${(registry.reef.pushPeakRssBytes / 1e6).toFixed(1)} MB (≤ ${registry.targets.reefPushRssBytes / 1e6}) ${v(p.rss)}`,
    );
    if (process.env.BENCH_REGISTRY_RESULTS !== '0') {
      const file = join(repoRoot, 'bench', 'RESULTS.md');
      writeRegistryResults(file, registryMarkdown(registry, date, { ...system, loadavgAtEnd }));
      console.log(`registry figures written to ${file}`);
    }
  }
  if (agent) {
    console.log(
      `agent pull+extract ${agent.agentMBps.toFixed(0)} MB/s vs curl | tar -x ${agent.pipeMBps.toFixed(0)} MB/s: ${agent.ratio.toFixed(3)}× (≥ ${agent.target.ratio}) ${agent.pass.ratio ? 'PASS' : 'FAIL'}, ` +
        `agent peak RSS ${(agent.peakRssBytes / 1e6).toFixed(1)} MB (≤ ${agent.target.rssBytes / 1e6}) ${agent.pass.rss ? 'PASS' : 'FAIL'}`,
    );
    writeResultsSection(join(repoRoot, 'bench', 'RESULTS.md'), AGENT_BEGIN, AGENT_END, agentMarkdown(agent, date, { ...system, loadavgAtEnd }));
  }
  if (embed) {
    for (const m of embed.modes) console.log(`iso embed/cp, ${m.cache} cache: ${m.ratio.toFixed(3)} (target ≤ ${embed.target}): ${m.pass ? 'PASS' : 'FAIL'}`);
    writeResultsSection(join(repoRoot, 'bench', 'RESULTS.md'), EMBED_BEGIN, EMBED_END, embedMarkdown(embed, date, system));
  }
  if (prestage) {
    console.log(`prestage download reef ${prestage.reefMedianSeconds.toFixed(2)} s vs prototype ${prestage.prototypeMedianSeconds.toFixed(2)} s: ${prestage.ratio.toFixed(2)}× (target ≥ ${prestage.target}) ${prestage.pass ? 'PASS' : 'FAIL'}, CLI max RSS ${(prestage.reefMaxRssBytes / 1e6).toFixed(1)} MB`);
    const file = join(repoRoot, 'bench', 'RESULTS.md');
    writePrestageResults(file, prestage, date, { ...system, loadavgAtEnd });
    console.log(`prestage figures written to ${file}`);
  }
  if (mirror) {
    const v = (b: boolean) => (b ? 'PASS' : 'FAIL');
    console.log(
      `mirror to registry reef ${mirror.medians.registry.reef.toFixed(2)} s vs skopeo ×1 ${mirror.medians.registry.skopeo1.toFixed(2)} s: ${mirror.ratios.registry.toFixed(2)}× (≥ ${mirror.targets.ratio}) ${v(mirror.pass.registry)} (×4 ${mirror.medians.registry.skopeo.toFixed(2)} s: ${mirror.ratiosParallel.registry.toFixed(2)}×); ` +
        `to disk reef ${mirror.medians.disk.reef.toFixed(2)} s vs skopeo ×1 + tar ${mirror.medians.disk.skopeo1.toFixed(2)} s: ${mirror.ratios.disk.toFixed(2)}× (≥ ${mirror.targets.ratio}) ${v(mirror.pass.disk)} (×4 ${mirror.medians.disk.skopeo.toFixed(2)} s: ${mirror.ratiosParallel.disk.toFixed(2)}×); ` +
        `reef mirror peak RSS ${(mirror.reefMirrorPeakRssBytes / 1e6).toFixed(1)} MB (≤ ${mirror.targets.rssBytes / 1e6}) ${v(mirror.pass.rss)}`,
    );
    if (process.env.BENCH_MIRROR_RESULTS !== '0') {
      const file = join(repoRoot, 'bench', 'RESULTS.md');
      writeMirrorResults(file, mirror, date, { ...system, loadavgAtEnd });
      console.log(`mirror figures written to ${file}`);
    }
  }
  if (releases) {
    console.log(`release clone reef ${releases.medians.reef.toFixed(2)} s vs skopeo ${releases.medians.skopeo.toFixed(2)} s: ${releases.ratio.toFixed(2)}× (≥ ${releases.target}) ${releases.pass ? 'PASS' : 'FAIL'}`);
    writeReleasesResults(join(repoRoot, 'bench', 'RESULTS.md'), releases, date, { ...system, loadavgAtEnd });
  }
  if (gc) {
    console.log(`gc ${gc.results.at(-1)!.blobs} blobs in ${gc.results.at(-1)!.gcSeconds.toFixed(2)} s (target < ${gc.target.seconds}) ${gc.pass.seconds ? 'PASS' : 'FAIL'}, growth ${gc.timeFactor.toFixed(2)}x for ${gc.sizeFactor}x ${gc.pass.linear ? 'PASS' : 'FAIL'}`);
    writeResultsSection(join(repoRoot, 'bench', 'RESULTS.md'), GC_BEGIN, GC_END, gcMarkdown(gc, date, { ...system, loadavgAtEnd }));
  }
  if (ui) {
    const worst = ui.results.reduce((a, b) => (b.uiP95Ms > a.uiP95Ms ? b : a));
    console.log(`ui pages p95 < ${ui.target.p95Ms} ms: ${ui.pass ? 'PASS' : 'FAIL'} (slowest ${worst.page} ${worst.uiP95Ms.toFixed(1)} ms)`);
    writeResultsSection(join(repoRoot, 'bench', 'RESULTS.md'), UI_BEGIN, UI_END, uiMarkdown(ui, date, { ...system, loadavgAtEnd }));
  }
  if (media) console.log(`media reef/nginx ${media.ratioSequential.toFixed(3)} sequential, ${media.ratioParallel.toFixed(3)} with ${params.parallel} curls (target ≥ ${media.target}): ${media.pass ? 'PASS' : 'FAIL'}`);
  console.log(`\n== results.json (also written to ${join(benchDir, 'results.json')})`);
  console.log(json);
};

try {
  await main();
} catch (err) {
  for (const s of servers) console.error(`--- ${s.name} output:\n${s.output()}`);
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
