import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { request } from './http-load.js';
import { ensureBigFile, curlOnce, type CurlRun } from './media.js';
import { cpuMs, type Server } from './procs.js';
import { ensureBigLayout, MANIFEST_ACCEPT, type BigLayout } from './registry-layout.js';
import { alternatingGetLoad, type TimedLoadResult } from './registry-load.js';
import { canUnshareMounts, machineBusyMs, rssBytes, sampleRss, skopeo, startDistribution } from './registry-procs.js';
import { fmt, median, table } from './report.js';

/** Targets for reef vs distribution (ratios > 1 mean reef is better). */
export const REGISTRY_TARGETS = {
  /** distribution push time ÷ reef push time */
  push: 1.1,
  /** distribution pull time ÷ reef pull time */
  pull: 1.0,
  /** reef manifest GET req/s ÷ distribution req/s, with reef's p99 no worse than distribution's */
  manifestRps: 1.2,
  /** reef's peak VmRSS during the 1 GiB push, bytes (MB = 10^6 bytes) */
  reefPushRssBytes: 150e6,
} as const;

export interface RegistryBenchOptions {
  /** Timed runs of push, pull and blob GET for each registry (median reported). */
  runs: number;
  /** Keep-alive connections of the manifest GET load, and its duration. */
  concurrency: number;
  manifestSeconds: number;
  /** The 1 GiB source file (created once, reused) and where the OCI layout is kept. */
  bigFile: string;
  layoutDir: string;
  /** Temporary space for distribution's storage/config, skopeo's private dirs and pulled images. */
  scratchDir: string;
  onServer: (srv: Server) => void;
}

const MB = 1e6;
const pct = (cpu: number, ms: number) => (cpu / ms) * 100;
const repoOf = (run: number) => `bench/big-run${run}`;
const TAG = '1';

interface SkopeoRun {
  run: number;
  target: string;
  seconds: number;
  serverCpuPct: number;
  skopeoCpuPct: number;
  /** CPU the rest of the machine used meanwhile (busy time minus server and skopeo: other processes, kernel threads), % of one core. */
  otherCpuPct: number;
  /** Peak VmRSS of the server sampled every 100 ms during the run (bytes). */
  peakRssBytes: number;
  rssBeforeBytes: number;
  rssSamples: number;
}

const ok = (what: string, r: { code: number | null; stdout: string; stderr: string }) => {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n--- stderr ---\n${r.stderr.trim()}\n--- stdout ---\n${r.stdout.trim()}`);
};

/**
 * Flushes dirty pages before a timed run. reef fsyncs a blob before publishing it, distribution
 * does not: without this, the kernel's deferred writeback of distribution's last GiB would land
 * in (and be billed to) whatever run comes next.
 */
const settleDisk = () => execFileSync('sync');

/**
 * Alternating order per run, so neither registry always goes first (page cache, writeback). The
 * run count is even (see registryBench), so each goes first in exactly half the runs: with an odd
 * count one of them goes second once more, and the second transfer of a pair was measured to pay
 * 3-5% whichever server it is (bench/RESULTS.md, Pull), which biased the medians by that much.
 */
const orderOf = <T>(pair: [T, T], run: number): T[] => (run % 2 === 0 ? pair : [pair[1], pair[0]]);

/** Runs one timed skopeo copy against `srv`, sampling its RSS and CPU and the machine's other CPU. */
const timedSkopeo = async (srv: Server, scratch: string, args: string[], what: string, run: number): Promise<SkopeoRun> => {
  settleDisk();
  const rssBefore = rssBytes(srv.pid);
  const cpu0 = cpuMs(srv.pid);
  const busy0 = machineBusyMs();
  const sampler = sampleRss(srv.pid, 100);
  const r = await skopeo(scratch, args);
  const rss = sampler.stop();
  const serverCpu = cpuMs(srv.pid) - cpu0;
  const otherCpu = Math.max(0, machineBusyMs() - busy0 - serverCpu - r.cpuMs);
  ok(`${what} ${srv.name}`, r);
  if (/skipped|already exists/i.test(r.stdout + r.stderr)) throw new Error(`skopeo skipped the transfer (${what} ${srv.name}):\n${r.stdout}\n${r.stderr}`);
  return {
    run,
    target: srv.name,
    seconds: r.wallMs / 1000,
    serverCpuPct: pct(serverCpu, r.wallMs),
    skopeoCpuPct: pct(r.cpuMs, r.wallMs),
    otherCpuPct: pct(otherCpu, r.wallMs),
    peakRssBytes: rss.peakBytes,
    rssBeforeBytes: rssBefore,
    rssSamples: rss.samples,
  };
};

const push = async (srv: Server, layout: BigLayout, scratch: string, run: number): Promise<SkopeoRun> => {
  const repo = repoOf(run);
  // A fresh repository: the layer is unknown to it, so the client must upload all of it.
  const head = await request(srv.url, { method: 'HEAD', path: `/v2/${repo}/blobs/${layout.layerDigest}` });
  if (head.status !== 404) throw new Error(`${srv.name}: HEAD of the layer in ${repo} answered ${head.status} before the push (expected 404)`);
  const host = new URL(srv.url).host;
  const result = await timedSkopeo(srv, scratch, ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout.dir}:${layout.tag}`, `docker://${host}/${repo}:${TAG}`], 'skopeo push to', run);
  // What was pushed is what the layout holds (the manifest digest is preserved).
  const man = await request(srv.url, { method: 'GET', path: `/v2/${repo}/manifests/${TAG}` }, undefined, { accept: MANIFEST_ACCEPT });
  if (man.status !== 200 || man.headers['docker-content-digest'] !== layout.manifestDigest) {
    throw new Error(`${srv.name}: manifest ${repo}:${TAG} answered ${man.status} with digest ${String(man.headers['docker-content-digest'])}, expected ${layout.manifestDigest}`);
  }
  return result;
};

const pull = async (srv: Server, layout: BigLayout, scratch: string, run: number): Promise<SkopeoRun> => {
  const dest = join(scratch, `pull-${srv.name}-${run}`);
  rmSync(dest, { recursive: true, force: true });
  const host = new URL(srv.url).host;
  const result = await timedSkopeo(srv, scratch, ['copy', '--preserve-digests', '--src-tls-verify=false', `docker://${host}/${repoOf(run)}:${TAG}`, `oci:${dest}:x`], 'skopeo pull from', run);
  // skopeo verified the digests while writing; check the layer landed whole.
  const layer = join(dest, 'blobs', 'sha256', layout.layerDigest.slice('sha256:'.length));
  const size = existsSync(layer) ? statSync(layer).size : -1;
  const manifestThere = existsSync(join(dest, 'blobs', 'sha256', layout.manifestDigest.slice('sha256:'.length)));
  rmSync(dest, { recursive: true, force: true });
  if (size !== layout.layerSize || !manifestThere) throw new Error(`${srv.name}: pulled layout has layer size ${size} (want ${layout.layerSize}), manifest present ${manifestThere}`);
  return result;
};

/** An odd run count is rounded up, so the alternating order is balanced (orderOf). */
export const evenRuns = (runs: number): number => Math.max(2, runs + (runs % 2));

const ratioVerdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

/**
 * reef's /v2 registry vs Debian's docker-registry (CNCF distribution 2.8), same machine, same
 * run, same 1 GiB single-layer OCI image: skopeo push and pull (median wall time), curl blob GET
 * (MB/s), manifest GET load (req/s, p99) and the servers' peak RSS during the push.
 */
export const registryBench = async (reef: Server, opts: RegistryBenchOptions) => {
  const o = { ...opts, runs: evenRuns(opts.runs) };
  console.log(
    `\n== 3. registry: reef /v2 vs distribution (docker-registry), 1 GiB single-layer image; ${o.runs} runs each (interleaved), manifest GET ${o.concurrency} keep-alive connections × ${o.manifestSeconds} s`,
  );
  const made = ensureBigFile(o.bigFile);
  console.log(made.created ? `created ${o.bigFile} in ${fmt(made.ms / 1000, 1)} s` : `reusing ${o.bigFile}`);
  const layout = await ensureBigLayout(o.layoutDir, o.bigFile);
  console.log(
    `${layout.built ? 'built' : 'reusing'} OCI layout ${layout.dir} (layer ${layout.layerDigest}${layout.hashMs ? `, hashed in ${fmt(layout.hashMs / 1000, 1)} s` : ', sha256 cached'}; manifest ${layout.manifestDigest})`,
  );
  if (!canUnshareMounts()) console.log('WARNING: cannot unshare a mount namespace; skopeo runs with the host /var/lib (its blob-info cache may skip uploads)');

  mkdirSync(o.scratchDir, { recursive: true });
  const dist = await startDistribution(join(o.scratchDir, 'distribution'));
  o.onServer(dist);
  console.log(`distribution pid ${dist.pid} at ${dist.url} (storage ${join(o.scratchDir, 'distribution', 'storage')}); reef pid ${reef.pid} at ${reef.url}`);
  const pair: [Server, Server] = [reef, dist];
  for (const s of pair) {
    const ping = await request(s.url, { method: 'GET', path: '/v2/' });
    if (ping.status !== 200) throw new Error(`${s.name}: GET /v2/ answered ${ping.status} (reef must run with REGISTRY_AUTH_MODE=none): ${ping.body.toString()}`);
  }

  // 1 + 5. push (and RSS during it)
  const pushes: SkopeoRun[] = [];
  for (let i = 1; i <= o.runs; i++) for (const s of orderOf(pair, i)) pushes.push(await push(s, layout, o.scratchDir, i));
  console.log(`\npush: skopeo copy oci:… docker://… (wall time; CPU as % of one core over the wall time, ${os.cpus().length} cores; other = everything else on the machine)`);
  console.log(
    table(
      ['run', 'server', 'seconds', 'MB/s', 'server CPU', 'skopeo CPU', 'other CPU', 'RSS before MB', 'peak RSS MB'],
      pushes.map((p) => [String(p.run), p.target, fmt(p.seconds, 2), fmt(layout.layerSize / MB / p.seconds, 0), `${fmt(p.serverCpuPct, 0)}%`, `${fmt(p.skopeoCpuPct, 0)}%`, `${fmt(p.otherCpuPct, 0)}%`, fmt(p.rssBeforeBytes / MB, 1), fmt(p.peakRssBytes / MB, 1)]),
    ),
  );

  // 2. pull. One untimed pull from each server first: skopeo's first copies into page-cache pages
  // this VM has not touched yet cost 2-5x more CPU than later ones (bench/RESULTS.md, Pull), and
  // the timed runs should measure the servers, not which of them met that first.
  for (const s of orderOf(pair, 1)) await pull(s, layout, o.scratchDir, 1);
  const pulls: SkopeoRun[] = [];
  for (let i = 1; i <= o.runs; i++) for (const s of orderOf(pair, i)) pulls.push(await pull(s, layout, o.scratchDir, i));
  console.log('\npull: skopeo copy docker://… oci:… (wall time)');
  console.log(
    table(
      ['run', 'server', 'seconds', 'MB/s', 'server CPU', 'skopeo CPU', 'other CPU', 'peak RSS MB'],
      pulls.map((p) => [String(p.run), p.target, fmt(p.seconds, 2), fmt(layout.layerSize / MB / p.seconds, 0), `${fmt(p.serverCpuPct, 0)}%`, `${fmt(p.skopeoCpuPct, 0)}%`, `${fmt(p.otherCpuPct, 0)}%`, fmt(p.peakRssBytes / MB, 1)]),
    ),
  );

  // 3. blob GET
  const blobPath = `/v2/${repoOf(1)}/blobs/${layout.layerDigest}`;
  for (const s of pair) {
    const w = await curlOnce(s, blobPath); // warm-up (page cache, JIT)
    if (w.status !== 200 || w.bytes !== layout.layerSize) throw new Error(`${s.name}: blob GET answered ${w.status} with ${w.bytes} bytes`);
  }
  const blobGets: (CurlRun & { run: number })[] = [];
  for (let i = 1; i <= o.runs; i++) {
    for (const s of orderOf(pair, i)) {
      settleDisk();
      const r = await curlOnce(s, blobPath);
      if (r.status !== 200 || r.bytes !== layout.layerSize) throw new Error(`${s.name}: blob GET answered ${r.status} with ${r.bytes} bytes`);
      blobGets.push({ ...r, run: i });
    }
  }
  console.log('\nblob GET: curl -o /dev/null of the 1 GiB layer');
  console.log(
    table(
      ['run', 'server', 'MB/s', 'seconds', 'server CPU', 'curl CPU'],
      blobGets.map((r) => [String(r.run), r.target, fmt(r.mbPerS, 0), fmt(r.seconds, 3), `${fmt(pct(r.serverCpuMs, r.seconds * 1000), 0)}%`, `${fmt(pct(r.curlCpuMs, r.seconds * 1000), 0)}%`]),
    ),
  );

  // 4. manifest GET load
  const manifestPath = `/v2/${repoOf(1)}/manifests/${TAG}`;
  const headers = { accept: MANIFEST_ACCEPT };
  const contentTypes: Record<string, string> = {};
  for (const s of pair) {
    const a = await request(s.url, { method: 'GET', path: manifestPath }, undefined, headers);
    contentTypes[s.name] = String(a.headers['content-type']);
    if (a.status !== 200 || a.headers['docker-content-digest'] !== layout.manifestDigest || a.body.length !== layout.manifestSize) {
      throw new Error(`${s.name}: manifest GET answered ${a.status}, digest ${String(a.headers['docker-content-digest'])}, ${a.body.length} bytes`);
    }
  }
  const targets = pair.map((srv) => ({ srv, path: manifestPath, headers, digest: layout.manifestDigest }));
  await alternatingGetLoad(targets, o.concurrency, 1000, 500); // warm-up (JIT): 1 s each
  const measured = await alternatingGetLoad(targets, o.concurrency, o.manifestSeconds * 1000, 1000);
  const loads: Record<string, TimedLoadResult> = Object.fromEntries(pair.map((s, i) => [s.name, measured[i]!]));
  console.log(`\nmanifest GET ${manifestPath} (Accept: OCI/Docker manifest types), ${o.concurrency} keep-alive connections, ${o.manifestSeconds} s each in alternating 1 s slices`);
  console.log(
    table(
      ['server', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'unexpected', 'server CPU', 'client CPU', 'Content-Type'],
      pair.map((s) => {
        const l = loads[s.name]!;
        return [s.name, fmt(l.requests, 0), fmt(l.perSecond, 0), fmt(l.p50Ms, 2), fmt(l.p99Ms, 2), fmt(l.maxMs, 1), String(l.unexpectedCount), `${fmt(pct(l.serverCpuMs, l.wallMs), 0)}%`, `${fmt(pct(l.clientCpuMs, l.wallMs), 0)}%`, contentTypes[s.name]!];
      }),
    ),
  );

  // summary
  const med = <T extends { target: string }>(xs: T[], name: string, f: (x: T) => number) => median(xs.filter((x) => x.target === name).map(f));
  const figures = (name: 'reef' | 'distribution') => ({
    pushSeconds: med(pushes, name, (p) => p.seconds),
    pullSeconds: med(pulls, name, (p) => p.seconds),
    blobMBps: med(blobGets, name, (b) => b.mbPerS),
    manifestRps: loads[name]!.perSecond,
    manifestP99Ms: loads[name]!.p99Ms,
    pushPeakRssBytes: Math.max(...pushes.filter((p) => p.target === name).map((p) => p.peakRssBytes)),
    pushServerCpuPct: med(pushes, name, (p) => p.serverCpuPct),
    pullServerCpuPct: med(pulls, name, (p) => p.serverCpuPct),
  });
  const r = figures('reef');
  const d = figures('distribution');
  const ratios = {
    push: d.pushSeconds / r.pushSeconds,
    pull: d.pullSeconds / r.pullSeconds,
    blobGet: r.blobMBps / d.blobMBps,
    manifestRps: r.manifestRps / d.manifestRps,
    manifestP99: r.manifestP99Ms / d.manifestP99Ms,
    pushRss: r.pushPeakRssBytes / d.pushPeakRssBytes,
  };
  const pass = {
    push: ratios.push >= REGISTRY_TARGETS.push,
    pull: ratios.pull >= REGISTRY_TARGETS.pull,
    manifest: ratios.manifestRps >= REGISTRY_TARGETS.manifestRps && r.manifestP99Ms <= d.manifestP99Ms,
    manifestRps: ratios.manifestRps >= REGISTRY_TARGETS.manifestRps,
    manifestP99: r.manifestP99Ms <= d.manifestP99Ms,
    rss: r.pushPeakRssBytes <= REGISTRY_TARGETS.reefPushRssBytes,
    correct: Object.values(loads).every((l) => l.unexpectedCount === 0),
  };
  const summaryRows: string[][] = [
    [`push 1 GiB, median s (ratio = distribution/reef)`, fmt(r.pushSeconds, 2), fmt(d.pushSeconds, 2), fmt(ratios.push, 3), `≥ ${REGISTRY_TARGETS.push}×`, ratioVerdict(pass.push)],
    [`pull 1 GiB, median s (ratio = distribution/reef)`, fmt(r.pullSeconds, 2), fmt(d.pullSeconds, 2), fmt(ratios.pull, 3), `≥ ${REGISTRY_TARGETS.pull}×`, ratioVerdict(pass.pull)],
    [`blob GET 1 GiB, median MB/s (reef/distribution)`, fmt(r.blobMBps, 0), fmt(d.blobMBps, 0), fmt(ratios.blobGet, 3), '-', '-'],
    [`manifest GET req/s, ${o.concurrency} conns (reef/distribution)`, fmt(r.manifestRps, 0), fmt(d.manifestRps, 0), fmt(ratios.manifestRps, 3), `≥ ${REGISTRY_TARGETS.manifestRps}×`, ratioVerdict(pass.manifestRps)],
    [`manifest GET p99 ms (reef/distribution)`, fmt(r.manifestP99Ms, 2), fmt(d.manifestP99Ms, 2), fmt(ratios.manifestP99, 3), 'reef ≤ distribution', ratioVerdict(pass.manifestP99)],
    [`peak RSS during push, MB (reef/distribution)`, fmt(r.pushPeakRssBytes / MB, 1), fmt(d.pushPeakRssBytes / MB, 1), fmt(ratios.pushRss, 3), `reef ≤ ${REGISTRY_TARGETS.reefPushRssBytes / MB} MB`, ratioVerdict(pass.rss)],
  ];
  const summaryHead = ['figure', 'reef', 'distribution', 'ratio', 'target', 'verdict'];
  console.log('\nsummary (ratio > 1: reef better, except p99 and RSS where < 1 is better)');
  console.log(table(summaryHead, summaryRows));
  console.log(`all manifest answers 200 with the pushed digest, bodies hashing to it: ${pass.correct ? 'yes' : 'NO'}`);
  // The same ratio run by run: the two transfers of a run are adjacent in time, so drift of the
  // machine over the part (it gets faster or slower by 10-20% on this shared box) cancels out.
  const paired = (xs: SkopeoRun[]) => {
    const rs = [...new Set(xs.map((x) => x.run))].flatMap((run) => {
      const a = xs.find((x) => x.run === run && x.target === 'reef');
      const b = xs.find((x) => x.run === run && x.target === 'distribution');
      return a && b ? [b.seconds / a.seconds] : [];
    });
    return { median: median(rs), min: Math.min(...rs), max: Math.max(...rs), ratios: rs };
  };
  const pairedRatios = { push: paired(pushes), pull: paired(pulls) };
  console.log(
    `run-by-run ratios (distribution/reef within each run): push median ${fmt(pairedRatios.push.median, 3)} (${fmt(pairedRatios.push.min, 3)}–${fmt(pairedRatios.push.max, 3)}), pull median ${fmt(pairedRatios.pull.median, 3)} (${fmt(pairedRatios.pull.min, 3)}–${fmt(pairedRatios.pull.max, 3)})`,
  );
  const background = { pushOtherCpuPct: median(pushes.map((p) => p.otherCpuPct)), pullOtherCpuPct: median(pulls.map((p) => p.otherCpuPct)) };
  console.log(
    `CPU used by everything else on the machine (other processes, kernel threads) meanwhile: median ${fmt(background.pushOtherCpuPct, 0)}% (push runs), ${fmt(background.pullOtherCpuPct, 0)}% (pull runs) of one of ${os.cpus().length} cores`,
  );

  return {
    layout: { layerDigest: layout.layerDigest, layerSize: layout.layerSize, manifestDigest: layout.manifestDigest, dir: layout.dir },
    distribution: { pid: dist.pid, url: dist.url },
    params: { runs: o.runs, concurrency: o.concurrency, manifestSeconds: o.manifestSeconds, skopeoIsolated: canUnshareMounts() },
    pushes,
    pulls,
    blobGets,
    manifestLoads: loads,
    contentTypes,
    reef: r,
    dist: d,
    ratios,
    pairedRatios,
    reefCommand: (reef.command ?? ['node', 'dist/cli.js', 'serve']).join(' '),
    targets: REGISTRY_TARGETS,
    pass,
    background,
    summaryHead,
    summaryRows,
    leftovers: readdirSync(o.scratchDir).filter((f) => f.startsWith('pull-') || f.startsWith('skopeo-')),
  };
};
export type RegistryBenchResult = Awaited<ReturnType<typeof registryBench>>;
