/**
 * reef benchmark (`npm run bench`): job creations per second (vs GET /healthz) and 1 GiB /media
 * download throughput vs nginx. reef and nginx run in their own processes (stopped by PID at
 * the end); the 1 GiB source file is kept in .bench/ for reuse; results go to stdout and
 * .bench/results.json. Knobs (environment):
 *   BENCH_JOBS (3000), BENCH_HEALTHZ (10000), BENCH_CONCURRENCY (32), BENCH_WARMUP (500),
 *   BENCH_RUNS (5), BENCH_PARALLEL (4), BENCH_ONLY (jobs | media),
 *   BENCH_REEF_NODE_ARGS (extra node flags for reef, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from './http-load.js';
import { jobCreationBench } from './jobs-bench.js';
import { GIB } from './media.js';
import { mediaBench } from './media-bench.js';
import { type Server, startReefProcess, stopServer } from './procs.js';

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && process.env[name] !== '' && process.env[name] !== undefined ? v : fallback;
};
const ONLY = process.env.BENCH_ONLY ?? '';
const params = {
  jobs: num('BENCH_JOBS', 3000),
  healthz: num('BENCH_HEALTHZ', 10000),
  concurrency: num('BENCH_CONCURRENCY', 32),
  warmup: num('BENCH_WARMUP', 500),
  runs: num('BENCH_RUNS', 5),
  parallel: num('BENCH_PARALLEL', 4),
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

  const jobCreation = ONLY === 'media' ? null : await jobCreationBench(reef, { ...params, recipeName: RECIPE_NAME, dataDir });
  const media =
    ONLY === 'jobs'
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

  const loadavgAtEnd = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const results = { date: new Date().toISOString(), system: { ...system, loadavgAtEnd }, params, jobCreation, media };
  const json = JSON.stringify(results, null, 2);
  writeFileSync(join(benchDir, 'results.json'), `${json}\n`);
  console.log(`\n== summary (load average at start ${system.loadavgAtStart}, at end ${loadavgAtEnd}; other work on this ${system.cpus}-CPU box skews the figures)`);
  if (jobCreation) console.log(`jobs/s ${jobCreation.jobs.perSecond.toFixed(0)} (target ≥ ${jobCreation.target}): ${jobCreation.pass ? 'PASS' : 'FAIL'}`);
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
