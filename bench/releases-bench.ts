/**
 * Release clone benchmark (BENCH_ONLY=releases, issue 19): a synthetic release of N components
 * (about 2 GiB of blobs) in Debian's docker-registry on 127.0.0.1, cloned into a fresh reef two
 * ways, in the same run, alternating which goes first:
 *   reef:      POST /admin/releases/clone {"version": "<version>-x86_64"} on a reef whose `releases:`
 *              section names the docker-registry as upstream; timed until status says `cloned`
 *              (the verify gate, manifests by digest and blob presence, is inside that time);
 *   reference: skopeo copy --all --preserve-digests of the release image and of every component by
 *              digest into the same names (`openshift/release:<tag>`, `…:<tag>-<component>`), 4 at once
 *              (reef's parallel_images default), into a fresh reef.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mapPool } from '../src/mirror/pool.js';
import { pushSyntheticRelease, type SyntheticRelease } from '../test/fixtures/synthetic-release.js';
import { type Server, startReefProcess, stopServer } from './procs.js';
import { distributionVersion, skopeo, startDistribution } from './registry-procs.js';
import { fmt, mdTable, median, writeResultsSection } from './report.js';

export interface ReleasesBenchOptions {
  repoRoot: string;
  scratchDir: string;
  images: number;
  totalBytes: number;
  runs: number;
  /** Extra node flags for the reef processes (BENCH_REEF_NODE_ARGS, e.g. --cpu-prof). */
  nodeArgs?: string[];
  onServer: (s: Server) => void;
}

interface Timed {
  run: number;
  method: 'reef' | 'skopeo';
  seconds: number;
}

export interface ReleasesBenchResult {
  params: { images: number; totalBytes: number; runs: number; parallel: number };
  source: { pushSeconds: number; blobBytes: number };
  runs: Timed[];
  medians: { reef: number; skopeo: number };
  ratio: number;
  target: number;
  pass: boolean;
  tools: { skopeo: string; distribution: string };
}

const VERSION = '4.19.7';
const REPO = 'openshift-release-dev/ocp-release';
const PARALLEL = 4;

const waitCloned = async (url: string, tag: string) => {
  for (;;) {
    const s = (await (await fetch(`${url}/admin/releases/${tag}/status`)).json()) as { release?: { state: string; error: string | null } };
    if (s.release?.state === 'cloned') return;
    if (s.release?.state === 'failed') throw new Error(`the clone failed: ${s.release.error}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

export const releasesBench = async (o: ReleasesBenchOptions): Promise<ReleasesBenchResult> => {
  mkdirSync(o.scratchDir, { recursive: true });
  const src = await startDistribution(join(o.scratchDir, 'source'));
  o.onServer(src);
  const host = new URL(src.url).host;
  const t0 = performance.now();
  const release: SyntheticRelease = await pushSyntheticRelease({ registry: host, plainHttp: true, version: VERSION, components: o.images, imageBytes: Math.round(o.totalBytes / o.images), sourceHost: host, releaseRepo: REPO });
  const pushSeconds = (performance.now() - t0) / 1000;
  const tag = release.releaseTag;
  const config = join(o.scratchDir, 'reef.yaml');
  writeFileSync(config, `releases:\n  enabled: true\n  upstream: "${host}"\n  repository: ${REPO}\n  local_repo: openshift/release\n  auto_extract: false\n  parallel_images: ${PARALLEL}\n`);

  const fresh = async (name: string) => {
    const dir = join(o.scratchDir, name);
    rmSync(dir, { recursive: true, force: true });
    const reef = await startReefProcess(o.repoRoot, dir, o.nodeArgs ?? [], { REEF_CONFIG: config });
    o.onServer(reef);
    return { reef, dir };
  };
  const runs: Timed[] = [];
  const once = async (run: number, method: Timed['method']) => {
    const { reef, dir } = await fresh(`${method}-${run}`);
    execFileSync('sync');
    const started = performance.now();
    if (method === 'reef') {
      const res = await fetch(`${reef.url}/admin/releases/clone`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ version: tag }) });
      if (res.status !== 202) throw new Error(`clone: HTTP ${res.status} ${await res.text()}`);
      await waitCloned(reef.url, tag);
    } else {
      const dst = new URL(reef.url).host;
      const copies = [{ from: `${REPO}:${tag}`, to: `openshift/release:${tag}` }, ...release.components.map((c) => ({ from: `${c.repo}@${c.digest}`, to: `openshift/release:${tag}-${c.name}` }))];
      const results = await mapPool(copies, PARALLEL, async (c) => {
        const r = await skopeo(o.scratchDir, ['copy', '--quiet', '--all', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${host}/${c.from}`, `docker://${dst}/${c.to}`]);
        if (r.code !== 0) throw new Error(`skopeo copy ${c.from}: ${r.stderr.slice(-2000)}`);
      });
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    runs.push({ run, method, seconds: (performance.now() - started) / 1000 });
    await stopServer(reef);
    rmSync(dir, { recursive: true, force: true });
  };
  for (let run = 1; run <= o.runs; run++) {
    const order: Timed['method'][] = run % 2 ? ['reef', 'skopeo'] : ['skopeo', 'reef'];
    for (const m of order) await once(run, m);
  }
  await stopServer(src);
  const medians = { reef: median(runs.filter((r) => r.method === 'reef').map((r) => r.seconds)), skopeo: median(runs.filter((r) => r.method === 'skopeo').map((r) => r.seconds)) };
  const ratio = medians.skopeo / medians.reef;
  return {
    params: { images: o.images, totalBytes: o.totalBytes, runs: o.runs, parallel: PARALLEL },
    source: { pushSeconds, blobBytes: release.totalBytes },
    runs,
    medians,
    ratio,
    target: 2,
    pass: ratio >= 2,
    tools: { skopeo: execFileSync('skopeo', ['--version'], { encoding: 'utf8' }).trim(), distribution: distributionVersion() },
  };
};

export const RELEASES_BEGIN = '<!-- releases-bench:begin (generated by `BENCH_ONLY=releases npm run bench`; edits inside are overwritten) -->';
export const RELEASES_END = '<!-- releases-bench:end -->';

export const writeReleasesResults = (file: string, r: ReleasesBenchResult, date: string, system: Record<string, string | number>): void => {
  const MiB = 2 ** 20;
  const rows = r.runs.map((x) => [String(x.run), x.method === 'reef' ? 'reef POST /admin/releases/clone (verify gate included)' : `skopeo copy ×${r.params.parallel}`, fmt(x.seconds, 2), fmt(r.source.blobBytes / MiB / x.seconds, 0)]);
  writeResultsSection(
    file,
    RELEASES_BEGIN,
    RELEASES_END,
    `${RELEASES_BEGIN}
## Releases: clone through the API vs skopeo copy per component (issue 19)

Run of ${date}: a synthetic release of ${r.params.images} components (${fmt(r.source.blobBytes / MiB, 0)} MiB of component blobs) in Debian's
docker-registry (${r.tools.distribution}) on 127.0.0.1, cloned into a fresh reef each run, ${r.params.runs} runs of each alternating which goes first.

| figure | reef | skopeo | ratio (skopeo/reef) | target | verdict |
| --- | --- | --- | --- | --- | --- |
| median wall s | ${fmt(r.medians.reef, 2)} | ${fmt(r.medians.skopeo, 2)} | ${fmt(r.ratio, 2)} | ≥ ${r.target}× | ${r.pass ? 'PASS' : 'FAIL'} |

${mdTable(['run', 'method', 'wall s', 'MiB/s'], rows)}

- reef: \`POST /admin/releases/clone\` on a reef (\`node dist/cli.js serve\`) whose \`releases:\` names the docker-registry as upstream
  (parallel_images ${r.params.parallel}, parallel_layers 6), timed until status says \`cloned\`; that includes the verify gate (every manifest
  read back by digest, every blob's presence). The source push (${fmt(r.source.pushSeconds, 1)} s) is not timed.
- skopeo (${r.tools.skopeo}): \`skopeo copy --quiet --all --preserve-digests\` of the release image and each component by digest to the
  same names, ${r.params.parallel} at once, private policy and an empty /var/lib per call (bench/registry-procs.ts); no verify pass.
- Machine: ${Object.entries(system)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}.
${RELEASES_END}`,
  );
};
