/**
 * Mirror benchmark (BENCH_ONLY=mirror, issue 18): a synthetic release of N components (about
 * 2 GiB of blobs in all) in Debian's docker-registry on 127.0.0.1, mirrored three ways each, in the
 * same run, rotating which goes first:
 *   mirror-to-registry, into a fresh reef (`node dist/cli.js serve`, plain HTTP) for every run:
 *     reef:      node dist/cli.js mirror -c isc.yaml docker://<reef>/mirror --dest-tls-verify=false --src-tls-verify=false
 *     reference: skopeo copy --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false
 *                docker://<src>/<image> docker://<reef>/mirror/<oc-mirror's name>, image by image: one at a time
 *                (the issue's reference: skopeo sync, or skopeo copy image by image as the seed scripts do),
 *                and 4 at once (xargs -P 4), a stricter reference shown beside it
 *   mirror-to-disk:
 *     reef:      node dist/cli.js mirror -c isc.yaml file://<dir> --src-tls-verify=false
 *     reference: the same skopeo copy into dir:<d>/<name> for every image (one at a time; 4 at once), then tar -cf of the dirs
 * Wall time around each process (GNU time for CPU and max RSS, children included); the reef mirror
 * process's and the destination reef's RSS sampled every 100 ms; the destination's and the source's
 * CPU and the whole machine's busy time over each run, so other work on the box shows.
 * The source registry's storage is kept in .bench/mirror-source-<images>x<bytes>/ and reused (its
 * image-references name 127.0.0.1:<port>, so it is served on the same port again when free).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { pushSyntheticRelease, type SyntheticRelease } from '../test/fixtures/synthetic-release.js';
import { cpuMs, freePort, type Server, startReefProcess, stopServer } from './procs.js';
import { canUnshareMounts, distributionVersion, machineBusyMs, rssBytes, skopeoSandbox, startDistribution } from './registry-procs.js';
import { fmt, mdTable, median, writeResultsSection } from './report.js';

export interface MirrorBenchOptions {
  repoRoot: string;
  benchDir: string;
  scratchDir: string;
  images: number;
  totalBytes: number;
  runs: number;
  /** Extra node flags for the `reef mirror` process (e.g. --cpu-prof). */
  mirrorNodeArgs: string[];
  /** Extra node flags for the destination reef. */
  reefNodeArgs: string[];
  onServer: (s: Server) => void;
}

type Flow = 'registry' | 'disk';
/** reef mirror; skopeo copy image by image, one at a time (the issue's reference: as skopeo sync and the seed scripts copy); the same, 4 at once (stricter). */
type Method = 'reef' | 'skopeo1' | 'skopeo';
const METHODS: Method[] = ['reef', 'skopeo1', 'skopeo'];
const parallelOf = (m: Method) => (m === 'skopeo1' ? 1 : PARALLEL_IMAGES);

interface Timed {
  run: number;
  flow: Flow;
  method: Method;
  seconds: number;
  /** `sync` right after (not counted; reef's mirror-to-disk fsyncs inside its own time, the reference does not). */
  syncSeconds: number;
  /** user+system of the measured command and its children (GNU time). */
  cpuSeconds: number;
  /** GNU time %M: the largest process's peak RSS (reef: the mirror process; reference: the largest skopeo). */
  maxRssBytes: number;
  /** The reef mirror process's VmRSS sampled every 100 ms: peak and median of the samples. */
  sampledPeakRssBytes: number;
  sampledMedianRssBytes: number;
  rssSamples: number;
  /** mirror-to-registry: the destination reef's peak RSS (VmHWM at the end; a fresh process each run) and CPU over the run. */
  destPeakRssBytes: number;
  destCpuSeconds: number;
  /** The source docker-registry's CPU over the run. */
  srcCpuSeconds: number;
  /** Machine busy CPU over the run minus the client's, the destination's and the source's: other work. */
  otherCpuSeconds: number;
  /** mirror-to-disk: bytes of the archive(s) written. */
  outputBytes: number;
}

export interface MirrorBenchResult {
  params: { images: number; totalBytes: number; runs: number; parallelImages: number; parallelLayers: number };
  source: { reused: boolean; pushSeconds: number; port: number; blobBytes: number; imageCount: number };
  runs: Timed[];
  medians: Record<Flow, Record<Method, number>>;
  /** skopeo copy one image at a time (the issue's reference) / reef. */
  ratios: Record<Flow, number>;
  /** skopeo copy 4 images at once (a stricter reference than the issue's) / reef. */
  ratiosParallel: Record<Flow, number>;
  /** mirror-to-disk ratio with the reference's `sync` counted. */
  diskRatioWithSync: number;
  /**
   * Median CPU seconds of all the work a copy makes on this box (the client + the destination reef
   * + the source registry), and the reference/reef ratio: less sensitive than wall time to other
   * jobs on a CPU-bound 2-core machine, where wall time ≈ this CPU ÷ cores.
   */
  cpuMedians: Record<Flow, Record<Method, number>>;
  cpuRatios: Record<Flow, number>;
  reefMirrorPeakRssBytes: number;
  destPeakRssBytes: Record<Method, number>;
  targets: { ratio: number; rssBytes: number };
  pass: { registry: boolean; disk: boolean; rss: boolean };
  tools: { skopeo: string; distribution: string; unshare: boolean };
}

const VERSION = '4.19.7';
const RELEASE_REPO = 'openshift-release-dev/ocp-release';
const PARALLEL_IMAGES = 4; // reef mirror's --parallel-images default, and the reference's xargs -P
const PARALLEL_LAYERS = 5; // reef mirror's --parallel-layers default (skopeo copies an image's layers 6 at once by default)

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

const status = (pid: number, field: 'VmRSS' | 'VmHWM'): number => {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
};

/** The direct children of `pid` (GNU time's child is the measured command). */
const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

const syncNow = () => {
  const t = process.hrtime.bigint();
  execFileSync('sync');
  return Number(process.hrtime.bigint() - t) / 1e9;
};

const safeCpuMs = (pid: number | undefined) => {
  if (pid === undefined) return 0;
  try {
    return cpuMs(pid);
  } catch {
    return 0;
  }
};

interface Measured {
  seconds: number;
  cpuSeconds: number;
  maxRssBytes: number;
  sampledPeakRssBytes: number;
  sampledMedianRssBytes: number;
  rssSamples: number;
  destCpuSeconds: number;
  srcCpuSeconds: number;
  otherCpuSeconds: number;
  output: string;
}

/**
 * Runs `cmd args` under GNU time in `cwd`; samples the RSS of GNU time's child (the measured
 * process) every 100 ms; CPU of `dest` and `src` and of the whole machine over the run.
 */
const measure = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, dest: number | undefined, src: number) =>
  new Promise<Measured>((resolve, reject) => {
    const busy0 = machineBusyMs();
    const dest0 = safeCpuMs(dest);
    const src0 = safeCpuMs(src);
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', 'TIME %M %U %S', cmd, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const add = (d: Buffer) => {
      out += d.toString();
      if (out.length > 64 * 1024) out = out.slice(-32 * 1024);
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const samples: number[] = [];
    let hwm = 0;
    const timer = setInterval(() => {
      const target = childrenOf(child.pid!)[0];
      if (target === undefined) return;
      const v = status(target, 'VmRSS');
      if (Number.isFinite(v)) samples.push(v);
      const h = status(target, 'VmHWM');
      if (Number.isFinite(h) && h > hwm) hwm = h;
    }, 100);
    child.on('error', (e) => (clearInterval(timer), reject(e)));
    child.on('close', (code) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const destCpu = (safeCpuMs(dest) - dest0) / 1000;
      const srcCpu = (safeCpuMs(src) - src0) / 1000;
      const busy = (machineBusyMs() - busy0) / 1000;
      const m = /TIME (\d+) ([\d.]+) ([\d.]+)\s*$/.exec(out);
      if (code !== 0 || !m) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out.slice(-8192)}`));
      const cpuSeconds = Number(m[2]) + Number(m[3]);
      resolve({
        seconds,
        cpuSeconds,
        maxRssBytes: Number(m[1]) * 1024,
        sampledPeakRssBytes: Math.max(hwm, ...samples),
        sampledMedianRssBytes: median(samples),
        rssSamples: samples.length,
        destCpuSeconds: destCpu,
        srcCpuSeconds: srcCpu,
        otherCpuSeconds: busy - cpuSeconds - destCpu - srcCpu,
        output: out,
      });
    });
  });

/**
 * The reference as a shell script: `skopeo copy` for each line of `$1` ("<src> <dst>"), `parallel` at once;
 * for mirror-to-disk then `tar -cf $3 -C $2 .` of the dirs. skopeo's blob-info cache starts empty
 * (a private /var/lib, as bench/registry-procs.ts's skopeo() does).
 */
const referenceScript = (policy: string, tmp: string, disk: boolean, parallel: number) => `set -euo pipefail
xargs -P ${parallel} -n 2 skopeo --policy ${q(policy)} --tmpdir ${q(tmp)} copy --quiet --all --preserve-digests --src-tls-verify=false ${disk ? '' : '--dest-tls-verify=false '}< "$1"
${disk ? 'tar -cf "$3" -C "$2" .\n' : ''}`;

const wrapUnshare = (varLib: string, argv: string[]): [string, string[]] =>
  canUnshareMounts()
    ? ['unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /var/lib && exec "$@"', varLib, ...argv]]
    : [argv[0]!, argv.slice(1)];

interface SourceMeta {
  port: number;
  images: number;
  totalBytes: number;
  pushSeconds: number;
  release: SyntheticRelease;
}

/** The source docker-registry: the cached storage on its port when both are there, else a fresh one with the release pushed. */
const startSource = async (o: MirrorBenchOptions) => {
  const dir = join(o.benchDir, `mirror-source-${o.images}x${o.totalBytes}`);
  const metaFile = join(dir, 'release.json');
  if (existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as SourceMeta;
    if (meta.images === o.images && meta.totalBytes === o.totalBytes && (await portFree(meta.port))) {
      const srv = await startDistribution(dir, meta.port);
      o.onServer(srv);
      console.log(`source: reusing ${dir} (pushed earlier in ${fmt(meta.pushSeconds, 1)} s) on ${srv.url}, pid ${srv.pid}`);
      return { srv, meta, reused: true };
    }
    console.log(`source: ${dir} cannot be reused (port ${meta.port} busy or other sizes); pushing again`);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const srv = await startDistribution(dir, port);
  o.onServer(srv);
  const host = `127.0.0.1:${port}`;
  console.log(`source: docker-registry ${srv.url}, pid ${srv.pid}; pushing ${o.images} components (${fmt(o.totalBytes / 2 ** 30, 2)} GiB)`);
  const t0 = Date.now();
  const release = await pushSyntheticRelease({
    registry: host,
    plainHttp: true,
    version: VERSION,
    components: o.images,
    imageBytes: Math.round(o.totalBytes / o.images),
    layersPerImage: 2,
    sourceHost: host,
    releaseRepo: RELEASE_REPO,
    parallel: 2,
  });
  const meta: SourceMeta = { port, images: o.images, totalBytes: o.totalBytes, pushSeconds: (Date.now() - t0) / 1000, release };
  writeFileSync(metaFile, `${JSON.stringify(meta)}\n`);
  console.log(`source: pushed in ${fmt(meta.pushSeconds, 1)} s (${fmt(release.totalBytes / 2 ** 20, 0)} MiB of component blobs)`);
  return { srv, meta, reused: false };
};

/** HEADs every expected manifest at the destination and checks its digest. */
const verifyDestination = async (reefUrl: string, expected: { repo: string; tag: string; digest: string }[]) => {
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i += 16) {
    await Promise.all(
      expected.slice(i, i + 16).map(async (e) => {
        const r = await fetch(`${reefUrl}/v2/${e.repo}/manifests/${e.tag}`, {
          method: 'HEAD',
          headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' },
        });
        const got = r.headers.get('docker-content-digest');
        if (r.status !== 200 || got !== e.digest) bad.push(`${e.repo}:${e.tag} ${r.status} ${got} (want ${e.digest})`);
      }),
    );
  }
  if (bad.length) throw new Error(`destination check: ${bad.length} of ${expected.length} manifests wrong, e.g.\n${bad.slice(0, 5).join('\n')}`);
};

export const mirrorBench = async (o: MirrorBenchOptions): Promise<MirrorBenchResult> => {
  console.log(`\n== mirror: a synthetic release of ${o.images} components (${fmt(o.totalBytes / 2 ** 30, 2)} GiB) in docker-registry, mirrored by reef and by skopeo`);
  mkdirSync(o.scratchDir, { recursive: true });
  const { srv: source, meta, reused } = await startSource(o);
  const srcHost = `127.0.0.1:${meta.port}`;
  const rel = meta.release;
  const releaseTag = `${VERSION}-x86_64`;
  const isc = join(o.scratchDir, 'isc.yaml');
  writeFileSync(isc, `kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  platform:\n    release: ${srcHost}/${RELEASE_REPO}:${releaseTag}\n`);
  // The same names as reef (oc-mirror's): openshift/release-images:<tag>, openshift/release:<tag>-<component>.
  const pairs = [
    { src: `${srcHost}/${RELEASE_REPO}:${releaseTag}`, repo: 'openshift/release-images', tag: releaseTag, digest: rel.releaseDigest },
    ...rel.components.map((c) => ({ src: `${srcHost}/${c.repo}@${c.digest}`, repo: 'openshift/release', tag: `${releaseTag}-${c.name}`, digest: c.digest })),
  ];
  const mirrorArgs = (...rest: string[]) => [...o.mirrorNodeArgs, join(o.repoRoot, 'dist', 'cli.js'), 'mirror', '-c', isc, ...rest];
  const skopeoVersion = execFileSync('skopeo', ['--version'], { encoding: 'utf8' }).trim();

  const results: Timed[] = [];
  const one = async (run: number, flow: Flow, method: Method) => {
    const work = join(o.scratchDir, `${flow}-${method}-${run}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    let dest: Server | undefined;
    if (flow === 'registry') {
      dest = await startReefProcess(o.repoRoot, join(work, 'reef-data'), o.reefNodeArgs);
      o.onServer(dest);
    }
    const destHost = dest ? new URL(dest.url).host : '';
    let cmd: string;
    let args: string[];
    let env: NodeJS.ProcessEnv = process.env;
    const out = join(work, 'out');
    if (method === 'reef') {
      cmd = process.execPath;
      args = flow === 'registry' ? mirrorArgs(`docker://${destHost}/mirror`, '--dest-tls-verify=false', '--src-tls-verify=false') : mirrorArgs(`file://${out}`, '--src-tls-verify=false');
    } else {
      const s = skopeoSandbox(join(work, 'skopeo'));
      env = s.env;
      const list = join(work, 'list.txt');
      mkdirSync(join(work, 'dirs'), { recursive: true });
      writeFileSync(
        list,
        pairs.map((p) => `docker://${p.src} ${flow === 'registry' ? `docker://${destHost}/mirror/${p.repo}:${p.tag}` : `dir:${join(work, 'dirs', `${p.repo.replaceAll('/', '_')}_${p.tag}`)}`}\n`).join(''),
      );
      const script = join(work, 'reference.sh');
      writeFileSync(script, referenceScript(s.policy, s.tmp, flow === 'disk', parallelOf(method)));
      mkdirSync(out, { recursive: true });
      [cmd, args] = wrapUnshare(s.varLib, ['bash', script, list, join(work, 'dirs'), join(out, 'mirror.tar')]);
    }
    syncNow();
    const destRss0 = dest ? rssBytes(dest.pid) : 0;
    const m = await measure(cmd, args, work, env, dest?.pid, source.pid);
    const syncSeconds = syncNow();
    let destPeakRssBytes = 0;
    if (dest) {
      destPeakRssBytes = status(dest.pid, 'VmHWM');
      await verifyDestination(dest.url, pairs.map((p) => ({ repo: `mirror/${p.repo}`, tag: p.tag, digest: p.digest })));
      await stopServer(dest);
    }
    const outputBytes = flow === 'disk' ? readdirSync(out).filter((f) => f.endsWith('.tar')).reduce((n, f) => n + statSync(join(out, f)).size, 0) : 0;
    if (flow === 'disk' && outputBytes < rel.totalBytes) throw new Error(`${method} mirror-to-disk wrote ${outputBytes} bytes of archives, less than the ${rel.totalBytes} bytes of blobs`);
    const r: Timed = {
      run,
      flow,
      method,
      seconds: m.seconds,
      syncSeconds,
      cpuSeconds: m.cpuSeconds,
      maxRssBytes: m.maxRssBytes,
      sampledPeakRssBytes: method === 'reef' ? m.sampledPeakRssBytes : Number.NaN,
      sampledMedianRssBytes: method === 'reef' ? m.sampledMedianRssBytes : Number.NaN,
      rssSamples: m.rssSamples,
      destPeakRssBytes,
      destCpuSeconds: m.destCpuSeconds,
      srcCpuSeconds: m.srcCpuSeconds,
      otherCpuSeconds: m.otherCpuSeconds,
      outputBytes,
    };
    results.push(r);
    console.log(
      `run ${run} ${flow === 'registry' ? 'to-registry' : 'to-disk    '} ${method.padEnd(6)} ${fmt(r.seconds, 2)} s (+ sync ${fmt(syncSeconds, 2)} s), CPU ${fmt(r.cpuSeconds, 1)} s, max RSS ${fmt(r.maxRssBytes / 1e6, 1)} MB` +
        (method === 'reef' ? ` (sampled peak ${fmt(r.sampledPeakRssBytes / 1e6, 1)}, median ${fmt(r.sampledMedianRssBytes / 1e6, 1)} MB)` : '') +
        (dest ? `, dest reef ${fmt(destRss0 / 1e6, 1)} → peak ${fmt(destPeakRssBytes / 1e6, 1)} MB, CPU ${fmt(r.destCpuSeconds, 1)} s` : `, ${fmt(outputBytes / 2 ** 20, 0)} MiB of .tar`) +
        `, source CPU ${fmt(r.srcCpuSeconds, 1)} s, other ${fmt(r.otherCpuSeconds, 1)} s`,
    );
    rmSync(work, { recursive: true, force: true });
  };
  for (let run = 1; run <= o.runs; run++) {
    const order = METHODS.map((_, i) => METHODS[(i + run - 1) % METHODS.length]!);
    for (const flow of ['registry', 'disk'] as const) for (const method of order) await one(run, flow, method);
  }
  const med = (flow: Flow, method: Method, f: (t: Timed) => number = (t) => t.seconds) => median(results.filter((r) => r.flow === flow && r.method === method).map(f));
  const byMethod = (flow: Flow, f?: (t: Timed) => number) => Object.fromEntries(METHODS.map((m) => [m, med(flow, m, f)])) as Record<Method, number>;
  const medians = { registry: byMethod('registry'), disk: byMethod('disk') };
  const ratios = { registry: medians.registry.skopeo1 / medians.registry.reef, disk: medians.disk.skopeo1 / medians.disk.reef };
  const ratiosParallel = { registry: medians.registry.skopeo / medians.registry.reef, disk: medians.disk.skopeo / medians.disk.reef };
  const diskRatioWithSync = med('disk', 'skopeo1', (t) => t.seconds + t.syncSeconds) / medians.disk.reef;
  const work = (t: Timed) => t.cpuSeconds + t.destCpuSeconds + t.srcCpuSeconds;
  const cpuMedians = { registry: byMethod('registry', work), disk: byMethod('disk', work) };
  const cpuRatios = { registry: cpuMedians.registry.skopeo1 / cpuMedians.registry.reef, disk: cpuMedians.disk.skopeo1 / cpuMedians.disk.reef };
  const reefRuns = results.filter((r) => r.method === 'reef');
  const reefMirrorPeakRssBytes = Math.max(...reefRuns.map((r) => Math.max(r.maxRssBytes, r.sampledPeakRssBytes)));
  const destPeak = (m: Method) => Math.max(...results.filter((r) => r.flow === 'registry' && r.method === m).map((r) => r.destPeakRssBytes));
  const targets = { ratio: 2, rssBytes: 200e6 };
  return {
    params: { images: o.images, totalBytes: o.totalBytes, runs: o.runs, parallelImages: PARALLEL_IMAGES, parallelLayers: PARALLEL_LAYERS },
    source: { reused, pushSeconds: meta.pushSeconds, port: meta.port, blobBytes: rel.totalBytes, imageCount: pairs.length },
    runs: results,
    medians,
    ratios,
    ratiosParallel,
    diskRatioWithSync,
    cpuMedians,
    cpuRatios,
    reefMirrorPeakRssBytes,
    destPeakRssBytes: { reef: destPeak('reef'), skopeo1: destPeak('skopeo1'), skopeo: destPeak('skopeo') },
    targets,
    pass: { registry: ratios.registry >= targets.ratio, disk: ratios.disk >= targets.ratio, rss: reefMirrorPeakRssBytes <= targets.rssBytes },
    tools: { skopeo: skopeoVersion, distribution: distributionVersion(), unshare: canUnshareMounts() },
  };
};

export const MIRROR_BEGIN = '<!-- mirror-bench:begin (generated by `BENCH_ONLY=mirror npm run bench`; edits inside are overwritten) -->';
export const MIRROR_END = '<!-- mirror-bench:end -->';

export const mirrorMarkdown = (r: MirrorBenchResult, date: string, system: Record<string, string | number>): string => {
  const MiB = 2 ** 20;
  const v = (b: boolean) => (b ? 'PASS' : 'FAIL');
  const rows = r.runs.map((x) => [
    String(x.run),
    x.flow === 'registry' ? 'to registry' : 'to disk',
    x.method === 'reef' ? 'reef mirror' : `skopeo copy ${x.method === 'skopeo1' ? '×1' : '×4'}${x.flow === 'disk' ? ' + tar' : ''}`,
    fmt(x.seconds, 2),
    fmt(r.source.blobBytes / MiB / x.seconds, 0),
    fmt(x.syncSeconds, 2),
    fmt(x.cpuSeconds, 1),
    fmt(x.maxRssBytes / 1e6, 1),
    x.method === 'reef' ? `${fmt(x.sampledPeakRssBytes / 1e6, 1)} / ${fmt(x.sampledMedianRssBytes / 1e6, 1)}` : '-',
    x.flow === 'registry' ? fmt(x.destPeakRssBytes / 1e6, 1) : '-',
    x.flow === 'registry' ? fmt(x.destCpuSeconds, 1) : '-',
    fmt(x.srcCpuSeconds, 1),
    fmt(x.otherCpuSeconds, 1),
    x.flow === 'disk' ? fmt(x.outputBytes / MiB, 0) : '-',
  ]);
  return `${MIRROR_BEGIN}
## Mirror: reef mirror vs skopeo copy (issue 18)

Run of ${date}: a synthetic release of ${r.params.images} components + the release image (${r.source.imageCount} images,
${fmt(r.source.blobBytes / MiB, 0)} MiB of component blobs) in Debian's docker-registry (${r.tools.distribution}) on 127.0.0.1,
mirrored into a fresh reef (\`node dist/cli.js serve\`, plain HTTP, its own process for every run) and to disk, on the same machine,
in the same run, ${r.params.runs} runs of each alternating which goes first.

| figure | reef | reference | ratio (reference/reef) | target | verdict |
| --- | --- | --- | --- | --- | --- |
| mirror-to-registry, median wall s | ${fmt(r.medians.registry.reef, 2)} | ${fmt(r.medians.registry.skopeo1, 2)} (skopeo copy image by image, the issue's reference) | ${fmt(r.ratios.registry, 2)} | ≥ ${r.targets.ratio}× | ${v(r.pass.registry)} |
| mirror-to-disk, median wall s | ${fmt(r.medians.disk.reef, 2)} | ${fmt(r.medians.disk.skopeo1, 2)} (skopeo copy dir: image by image + tar -cf) | ${fmt(r.ratios.disk, 2)} (${fmt(r.diskRatioWithSync, 2)} with its sync) | ≥ ${r.targets.ratio}× | ${v(r.pass.disk)} |
| mirror-to-registry, against skopeo copy 4 images at once (stricter than the issue's reference; not the target) | ${fmt(r.medians.registry.reef, 2)} | ${fmt(r.medians.registry.skopeo, 2)} | ${fmt(r.ratiosParallel.registry, 2)} | - | - |
| mirror-to-disk, against skopeo copy dir: 4 at once + tar (stricter; not the target) | ${fmt(r.medians.disk.reef, 2)} | ${fmt(r.medians.disk.skopeo, 2)} | ${fmt(r.ratiosParallel.disk, 2)} | - | - |
| mirror-to-registry, median CPU s of client + destination + source (not a target; steadier under other load) | ${fmt(r.cpuMedians.registry.reef, 1)} | ${fmt(r.cpuMedians.registry.skopeo1, 1)} | ${fmt(r.cpuRatios.registry, 2)} | - | - |
| mirror-to-disk, median CPU s of client + source | ${fmt(r.cpuMedians.disk.reef, 1)} | ${fmt(r.cpuMedians.disk.skopeo1, 1)} | ${fmt(r.cpuRatios.disk, 2)} | - | - |
| reef mirror process peak RSS, MB (all runs) | ${fmt(r.reefMirrorPeakRssBytes / 1e6, 1)} | largest skopeo ${fmt(Math.max(...r.runs.filter((x) => x.method !== 'reef').map((x) => x.maxRssBytes)) / 1e6, 1)} | - | ≤ ${r.targets.rssBytes / 1e6} | ${v(r.pass.rss)} |
| destination reef peak RSS, MB (fresh each run) | ${fmt(r.destPeakRssBytes.reef / 1e6, 1)} (under reef mirror) | ${fmt(Math.max(r.destPeakRssBytes.skopeo1, r.destPeakRssBytes.skopeo) / 1e6, 1)} (under skopeo) | - | - | - |

### Runs

${mdTable(['run', 'flow', 'method', 'wall s', 'MiB/s', 'sync after, s', 'CPU s', 'max RSS MB', 'sampled peak / median MB', 'dest reef peak MB', 'dest reef CPU s', 'source CPU s', 'other CPU s', 'archive MiB'], rows)}

### Machine

${Object.entries(system)
  .map(([k, val]) => `- ${k}: ${val}`)
  .join('\n')}

### What was measured

\`\`\`sh
BENCH_ONLY=mirror npm run bench   # knobs: BENCH_MIRROR_IMAGES (${r.params.images}), BENCH_MIRROR_BYTES (${r.params.totalBytes}), BENCH_MIRROR_RUNS (${r.params.runs}),
                                  # BENCH_MIRROR_NODE_ARGS (node flags for the reef mirror process, e.g. --cpu-prof --cpu-prof-dir=/tmp/prof)
\`\`\`

- Source: test/fixtures/synthetic-release.ts pushed ${r.params.images} Docker schema2 images with two random layers each (70/30,
  gzip-wrapped at level 0: incompressible) to \`openshift-release-dev/ocp-v4.0-art-dev\` and the release image to
  \`${RELEASE_REPO}:${VERSION}-x86_64\`, its image-references naming the docker-registry itself. The storage is kept in
  \`.bench/mirror-source-${r.params.images}x${r.params.totalBytes}/\` and served again on the same port (${r.source.port}) by later runs
  (this run: ${r.source.reused ? 'reused' : `pushed, ${fmt(r.source.pushSeconds, 1)} s, not timed`}). After the first run its files are in the page cache (24 GB of RAM), for both sides alike.
- reef: \`node dist/cli.js mirror -c isc.yaml docker://<reef>/mirror --dest-tls-verify=false --src-tls-verify=false\` and
  \`… file://<dir> --src-tls-verify=false\`, the ISC holding only \`mirror.platform.release: <src>/${RELEASE_REPO}:${VERSION}-x86_64\`;
  defaults: ${r.params.parallelImages} images at once, ${r.params.parallelLayers} layers at once per image; a JSON line per image on stdout (not a TTY).
  Mirror-to-disk fetches every blob into \`working-dir/.reef/\` (fsynced), then writes \`mirror_000001.tar\` (fsynced), SHA256SUMS
  and the history: the fsyncs are inside its time.
- Reference: \`skopeo copy --quiet --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false docker://<src>/<image>
  docker://<reef>/mirror/<name>\` image by image, to the names reef uses
  (\`openshift/release-images:<tag>\`, \`openshift/release:<tag>-<component>\`); for disk \`dir:<d>/<name>\` then \`tar -cf\` of the dirs.
  The target is judged against **one image at a time** (×1), the issue's reference: \`skopeo sync\` copies one image after the
  other (skopeo ${r.tools.skopeo.replace('skopeo version ', '')} has no option for several at once), and so do the seed's pull scripts. \`skopeo sync\` itself was not
  used: it keeps source repository names (one repo, 200 tags), not oc-mirror's. The same copy ${r.params.parallelImages} images at once
  (×4, \`xargs -P ${r.params.parallelImages}\`, reef mirror's default parallelism) is shown beside it as a stricter reference, not the target's. skopeo runs with its own policy and ${r.tools.unshare ? 'a private, empty /var/lib (unshare -m), so its blob-info cache starts empty' : 'the host /var/lib (no private mounts here)'}.
  It does not fsync: the \`sync\` after each run is shown; the headline ratio leaves it out (in reef's disfavour), the bracketed one counts it.
- Each destination manifest is checked after every to-registry run (HEAD by tag, digest = the source's).
- Wall time around each process; GNU time gives CPU (user+system, children included) and max RSS (the reference: its largest
  process). The reef mirror process's VmRSS/VmHWM is sampled every 100 ms; the destination reef's peak is its VmHWM (fresh process).
  "other CPU s" = the machine's busy time over the run minus the client's, the destination's and the source's: work of
  neither side (the bench's own sampling, the kernel's writeback threads, other jobs on this ${system.cpus}-CPU box) — the noise.
  \`sync\` before each run. MiB/s = component blob bytes ÷ wall seconds. MB = 10^6 bytes.
${MIRROR_END}`;
};

export const writeMirrorResults = (file: string, r: MirrorBenchResult, date: string, system: Record<string, string | number>): void =>
  writeResultsSection(file, MIRROR_BEGIN, MIRROR_END, mirrorMarkdown(r, date, system));
