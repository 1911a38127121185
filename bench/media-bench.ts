import { linkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { request } from './http-load.js';
import {
  type CurlRun,
  checkFull,
  checkRange,
  curlOnce,
  curlParallel,
  ensureBigFile,
  type FullCheck,
  GIB,
  type ParallelRun,
  type RangeCheck,
  sha256File,
} from './media.js';
import { type Server, startNginx } from './procs.js';
import { fmt, median, table } from './report.js';

export const TARGET_MEDIA_RATIO = 0.8;

export interface MediaBenchOptions {
  runs: number;
  parallel: number;
  recipeName: string;
  dataDir: string;
  /** Where nginx keeps its config, pid, logs and temp directories. */
  nginxDir: string;
  /** The 1 GiB source file (created once, reused). */
  bigFile: string;
  /** Header dumps of the full GETs go here. */
  scratchDir: string;
  /** Called with nginx once started, so the caller can stop it. */
  onServer: (srv: Server) => void;
}

const pct = (cpuMs: number, seconds: number) => `${fmt((cpuMs / (seconds * 1000)) * 100, 0)}%`;

/** GET of a 1 GiB task ISO from reef's /media vs nginx (sendfile) serving the same inode, with curl. */
export const mediaBench = async (reef: Server, o: MediaBenchOptions) => {
  console.log(`\n== 2. 1 GiB GET: reef /media vs nginx (curl, ${o.runs} sequential runs each, interleaved; ${o.parallel} concurrent curls)`);
  const made = ensureBigFile(o.bigFile);
  console.log(made.created ? `created ${o.bigFile} in ${fmt(made.ms / 1000, 1)} s` : `reusing ${o.bigFile}`);
  const job = await request(reef.url, { method: 'POST', path: '/api/v1/jobs', body: JSON.stringify({ server_serial: 'S-BIGFILE', recipe_name: o.recipeName }) });
  if (job.status !== 202) throw new Error(`creating the media job answered ${job.status}: ${job.body.toString()}`);
  const jobId = (JSON.parse(job.body.toString()) as { job_id: string }).job_id;
  const iso = join(o.dataDir, 'media', 'tasks', jobId, 'task.iso');
  unlinkSync(iso);
  linkSync(o.bigFile, iso);
  const root = join(o.dataDir, 'media');
  const nginx = await startNginx(o.nginxDir, root);
  o.onServer(nginx);
  console.log(`nginx pid ${nginx.pid} at ${nginx.url} (root ${root}); reef pid ${reef.pid}`);
  const paths = new Map<Server, string>([
    [reef, `/media/tasks/${jobId}/task.iso`],
    [nginx, `/tasks/${jobId}/task.iso`],
  ]);

  // Correctness first: the sha256 GET is a slow consumer (curl | sha256sum), as real clients on a
  // network are; the timed runs then show reef as it is after serving such a client.
  const wantSha = await sha256File(o.bigFile);
  const full: FullCheck[] = [];
  const ranges: RangeCheck[] = [];
  for (const s of [reef, nginx]) {
    full.push(await checkFull(s, paths.get(s)!, join(o.scratchDir, `${s.name}.headers`), wantSha));
    ranges.push(await checkRange(s, paths.get(s)!, o.bigFile));
  }
  console.log(`source sha256 ${wantSha}`);
  console.log(
    table(
      ['server', 'status', 'Content-Length', 'sha256 matches', 'curl exit', 'full GET ok'],
      full.map((f) => [f.target, String(f.status), String(f.contentLength), String(f.sha256 === wantSha), String(f.curlExit), f.ok ? 'OK' : 'FAIL']),
    ),
  );
  console.log(
    table(
      ['server', 'Range bytes=100-199', 'Content-Range', 'Content-Length', 'bytes = file[100..199]', 'ok'],
      ranges.map((r) => [r.target, String(r.status), r.contentRange, r.contentLength, String(r.bytesMatchFile), r.ok ? 'OK' : 'FAIL']),
    ),
  );

  for (const s of [reef, nginx]) await curlOnce(s, paths.get(s)!); // warm-up (page cache, JIT)
  const runs: CurlRun[] = [];
  for (let i = 0; i < o.runs; i++) {
    const order = i % 2 === 0 ? [reef, nginx] : [nginx, reef];
    for (const s of order) runs.push(await curlOnce(s, paths.get(s)!));
  }
  console.log(
    table(
      ['run', 'server', 'status', 'curl exit', 'MB/s', 'seconds', 'server CPU', 'curl CPU'],
      runs.map((r, i) => [String(Math.floor(i / 2) + 1), r.target, String(r.status), String(r.curlExit), fmt(r.mbPerS, 0), fmt(r.seconds, 3), pct(r.serverCpuMs, r.seconds), pct(r.curlCpuMs, r.seconds)]),
    ),
  );
  const par: ParallelRun[] = [];
  for (const s of [reef, nginx]) par.push(await curlParallel(s, paths.get(s)!, o.parallel));

  const summary = (name: string) => {
    const mine = runs.filter((r) => r.target === name);
    const p = par.find((x) => x.target === name)!;
    return {
      medianMBps: median(mine.map((r) => r.mbPerS)),
      medianServerCpuPct: median(mine.map((r) => (r.serverCpuMs / (r.seconds * 1000)) * 100)),
      medianCurlCpuPct: median(mine.map((r) => (r.curlCpuMs / (r.seconds * 1000)) * 100)),
      parallelMBps: p.aggregateMBps,
      parallelServerCpuPct: (p.serverCpuMs / (p.seconds * 1000)) * 100,
      parallelStatuses: p.statuses,
      parallelBytesOk: p.bytes === GIB * o.parallel && p.statuses.every((s) => s === 200),
    };
  };
  const sr = summary('reef');
  const sn = summary('nginx');
  const seqRatio = sr.medianMBps / sn.medianMBps;
  const parRatio = sr.parallelMBps / sn.parallelMBps;
  const row = (name: string, s: typeof sr) => [
    name,
    fmt(s.medianMBps, 0),
    `${fmt(s.medianServerCpuPct, 0)}%`,
    `${fmt(s.medianCurlCpuPct, 0)}%`,
    fmt(s.parallelMBps, 0),
    `${fmt(s.parallelServerCpuPct, 0)}%`,
    String(s.parallelBytesOk),
  ];
  console.log('');
  console.log(
    table(
      ['server', 'median MB/s (1 curl)', 'server CPU', 'curl CPU', `aggregate MB/s (${o.parallel} curls)`, 'server CPU', 'all bytes'],
      [row('reef', sr), row('nginx', sn)],
    ),
  );
  const runsOk = runs.every((r) => r.status === 200 && r.curlExit === 0 && r.bytes === GIB);
  const correct = full.every((f) => f.ok) && ranges.every((r) => r.ok) && runsOk && sr.parallelBytesOk && sn.parallelBytesOk;
  const verdict = (r: number) => (r >= TARGET_MEDIA_RATIO ? 'PASS' : 'FAIL');
  console.log(`reef/nginx sequential (median) = ${fmt(seqRatio, 3)}  target ≥ ${TARGET_MEDIA_RATIO}: ${verdict(seqRatio)}`);
  console.log(`reef/nginx ${o.parallel} concurrent = ${fmt(parRatio, 3)}  target ≥ ${TARGET_MEDIA_RATIO}: ${verdict(parRatio)}`);
  console.log(`correctness (sha256, Content-Length, Range, all runs complete): ${correct ? 'PASS' : 'FAIL'}`);
  return {
    fileBytes: GIB,
    sha256: wantSha,
    fullChecks: full,
    rangeChecks: ranges,
    sequentialRuns: runs,
    parallelRuns: par,
    reef: sr,
    nginx: sn,
    ratioSequential: seqRatio,
    ratioParallel: parRatio,
    target: TARGET_MEDIA_RATIO,
    correct,
    pass: seqRatio >= TARGET_MEDIA_RATIO && correct,
  };
};
