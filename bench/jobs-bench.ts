import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type LoadResult, runLoad } from './http-load.js';
import { cpuMs, type Server } from './procs.js';
import { fmt, table } from './report.js';

export const TARGET_JOBS_PER_S = 300;

export interface JobBenchOptions {
  jobs: number;
  healthz: number;
  concurrency: number;
  /** Requests of each kind sent first (not measured) to warm up the JIT. */
  warmup: number;
  recipeName: string;
  dataDir: string;
}

const loadRow = (name: string, r: LoadResult, serverCpuMs: number) => [
  name,
  fmt(r.requests, 0),
  fmt(r.perSecond, 0),
  fmt(r.p50Ms, 2),
  fmt(r.p99Ms, 2),
  fmt(r.maxMs, 1),
  String(r.unexpectedCount),
  `${fmt((serverCpuMs / r.wallMs) * 100, 0)}%`,
  `${fmt((r.clientCpuMs / r.wallMs) * 100, 0)}%`,
];

/** Runs `fn` and returns its result with the server's CPU time (ms) spent meanwhile. */
const withCpu = async <T>(srv: Server, fn: () => Promise<T>): Promise<[T, number]> => {
  const c0 = cpuMs(srv.pid);
  const out = await fn();
  return [out, cpuMs(srv.pid) - c0];
};

/** Job creations per second (distinct serials, one named recipe) vs GET /healthz, same concurrency. */
export const jobCreationBench = async (reef: Server, o: JobBenchOptions) => {
  console.log(`\n== 1. job creations: ${o.jobs} jobs, ${o.concurrency} keep-alive connections (node:http Agent), after ${o.warmup} warm-up requests each`);
  const job = (prefix: string) => (i: number) => ({
    method: 'POST',
    path: '/api/v1/jobs',
    body: JSON.stringify({ server_serial: `${prefix}-${String(i).padStart(6, '0')}`, recipe_name: o.recipeName }),
  });
  const healthzReq = () => ({ method: 'GET', path: '/healthz' });
  if (o.warmup > 0) {
    await runLoad(reef.url, o.warmup, o.concurrency, healthzReq, 200);
    await runLoad(reef.url, o.warmup, o.concurrency, job('W'), 202);
  }
  const [healthz, healthzCpu] = await withCpu(reef, () => runLoad(reef.url, o.healthz, o.concurrency, healthzReq, 200));
  const [jobs, jobsCpu] = await withCpu(reef, () => runLoad(reef.url, o.jobs, o.concurrency, job('S'), 202));
  const isoDirs = readdirSync(join(o.dataDir, 'media', 'tasks')).length;
  const expectedDirs = o.jobs + Math.max(o.warmup, 0);
  const ratio = jobs.perSecond / healthz.perSecond;
  const pass = jobs.perSecond >= TARGET_JOBS_PER_S && jobs.unexpectedCount === 0;
  console.log(
    table(
      ['endpoint', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'unexpected', 'reef CPU', 'client CPU'],
      [loadRow('GET /healthz', healthz, healthzCpu), loadRow('POST /api/v1/jobs', jobs, jobsCpu)],
    ),
  );
  if (jobs.unexpectedCount) console.log(`unexpected job answers by status: ${JSON.stringify(jobs.unexpected)}`);
  console.log(`task ISO directories on disk: ${isoDirs} (expected ${expectedDirs})`);
  console.log(`jobs/s ÷ healthz req/s = ${fmt(ratio, 3)}`);
  console.log(`jobs/s = ${fmt(jobs.perSecond, 0)}  target ≥ ${TARGET_JOBS_PER_S} with 0 non-202: ${pass ? 'PASS' : 'FAIL'}`);
  return {
    healthz: { ...healthz, serverCpuMs: healthzCpu },
    jobs: { ...jobs, serverCpuMs: jobsCpu },
    isoDirs,
    isoDirsExpected: expectedDirs,
    ratioJobsToHealthz: ratio,
    target: TARGET_JOBS_PER_S,
    pass: pass && isoDirs === expectedDirs,
  };
};
