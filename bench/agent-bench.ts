/**
 * Agent benchmark: pull and extract a 1 GiB rootfs tarball from reef's registry onto a
 * filesystem, `reef agent` (dist/cli.js, the whole install-linux.target on a loop disk; the
 * figure is its `pull` step, which streams the blob into tar) against the shell pipeline
 * `curl <blob URL> | tar -x` into a fresh directory of the same filesystem, interleaved, in the
 * same run. The loop disk's image is in /dev/shm, so the host disk's writeback does not decide. The agent's peak RSS is sampled from /proc. Needs root and loop devices.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collect, type Server } from './procs.js';
import { sampleRss } from './registry-procs.js';
import { fmt, mdTable, median, table } from './report.js';

export interface AgentBenchResult {
  tarBytes: number;
  files: number;
  runs: { run: number; agentSeconds: number; agentMBps: number; agentPeakRssBytes: number; pipeSeconds: number; pipeMBps: number; verifiedSeconds: number; verifiedMBps: number }[];
  /** Median of the pipeline that also checks the digest (`tee >(sha256sum)`), for context: not the target's reference. */
  verifiedMBps: number;
  agentMBps: number;
  pipeMBps: number;
  ratio: number;
  peakRssBytes: number;
  target: { ratio: number; rssBytes: number };
  pass: { ratio: boolean; rss: boolean };
}

const SMALL_FILES = 20_000;
const SMALL_SIZE = 4096;
const BIG_FILE = 2 * 2 ** 20;

/** A rootfs-like tree of ~1 GiB: 20,000 small files in 200 directories and ~470 files of 2 MiB, as an uncompressed tar. */
const ensureRootfsTar = (path: string): { files: number } => {
  const files = SMALL_FILES + Math.floor((2 ** 30 - SMALL_FILES * SMALL_SIZE) / BIG_FILE);
  if (existsSync(path)) return { files };
  const tree = `${path}.tree`;
  rmSync(tree, { recursive: true, force: true });
  for (let d = 0; d < 200; d++) mkdirSync(join(tree, 'usr/share', `d${d}`), { recursive: true });
  mkdirSync(join(tree, 'usr/lib'), { recursive: true });
  for (let i = 0; i < SMALL_FILES; i++) writeFileSync(join(tree, 'usr/share', `d${i % 200}`, `f${i}`), randomBytes(SMALL_SIZE));
  for (let i = 0; i < files - SMALL_FILES; i++) writeFileSync(join(tree, 'usr/lib', `lib${i}.so`), randomBytes(BIG_FILE));
  execFileSync('tar', ['-cf', `${path}.partial`, '-C', tree, '.']);
  renameSync(`${path}.partial`, path);
  rmSync(tree, { recursive: true, force: true });
  return { files };
};

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' }).trim();

const runAgent = (repoRoot: string, args: string[]): Promise<{ code: number | null; out: string; peakRss: number }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/cli.js', 'agent', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = collect(child);
    const rss = sampleRss(child.pid!, 50);
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out: out(), peakRss: rss.stop().peakBytes }));
  });

/** Seconds between the agent's "pull: started" and "pull: done" events (its own timestamps). */
const pullSeconds = (out: string): number => {
  const events = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { time?: string; step?: string; message?: string });
  const start = events.find((e) => e.step === 'pull' && e.message === 'pull: started');
  const done = events.find((e) => e.step === 'pull' && e.message?.startsWith('pull: done'));
  if (!start?.time || !done?.time) throw new Error(`no pull start/done events in the agent's output:\n${out.slice(-3000)}`);
  return (Date.parse(done.time) - Date.parse(start.time)) / 1000;
};

const pipeline = (url: string, dir: string, digest?: string): number => {
  const t0 = performance.now();
  // With a digest: the pipeline that also verifies what it extracted, as the agent does.
  const cmd = digest
    ? // a FIFO, not a process substitution: the script waits for sha256sum by its PID
      `mkfifo '${dir}.fifo' && { sha256sum < '${dir}.fifo' | cut -d' ' -f1 > '${dir}.sum' & sum=$!; } && curl -sS --fail '${url}' | tee '${dir}.fifo' | tar -x -f - -C '${dir}' && wait $sum && [ "sha256:$(cat '${dir}.sum')" = '${digest}' ]`
    : `curl -sS --fail '${url}' | tar -x -f - -C '${dir}'`;
  execFileSync('bash', ['-o', 'pipefail', '-c', cmd], { stdio: 'inherit' });
  return (performance.now() - t0) / 1000;
};

export const agentBench = async (reef: Server, opts: { repoRoot: string; benchDir: string; scratchDir: string; runs: number }): Promise<AgentBenchResult | null> => {
  if (process.getuid?.() !== 0 || !existsSync('/dev/loop-control')) {
    console.log('agent bench skipped: needs root and loop devices');
    return null;
  }
  console.log('\n== agent: pull + extract a 1 GiB rootfs vs curl | tar -x');
  const tarPath = join(opts.benchDir, 'agent-rootfs-1GiB.tar');
  const { files } = ensureRootfsTar(tarPath);
  const tarBytes = statSync(tarPath).size;
  const host = reef.url.replace(/^http:\/\//, '');
  const ref = `${host}/bench/rootfs:1`;
  execFileSync(process.execPath, ['dist/cli.js', 'push', ref, tarPath], { cwd: opts.repoRoot, stdio: 'ignore' });
  const digest = `sha256:${sh('sha256sum', [tarPath]).split(' ')[0]}`;
  const blobUrl = `${reef.url}/v2/bench/rootfs/blobs/${digest}`;

  // The disk image lives in RAM (/dev/shm) so that both sides measure the same ext4 code path
  // and neither waits on the host disk's writeback (shared with everything else on the box).
  const work = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/reef-agent-bench-') : join(opts.scratchDir, 'agent');
  mkdirSync(work, { recursive: true });
  const image = join(work, 'disk.img');
  writeFileSync(image, '');
  execFileSync('truncate', ['-s', '4G', image]);
  const dev = sh('losetup', ['-f', '--show', image]);
  const mnt = join(work, 'check');
  mkdirSync(mnt, { recursive: true });
  const recipe = {
    task_target: 'install-linux.target',
    target_disk: dev,
    oci_url: ref,
    partitions: [
      { mount: '/boot/efi', size: '64M', fstype: 'vfat' },
      { mount: '/', size: '0', fstype: 'ext4' },
    ],
  };
  const recipeFile = join(work, 'recipe.json');
  writeFileSync(recipeFile, JSON.stringify(recipe));
  const runs: AgentBenchResult['runs'] = [];
  try {
    // Run 0 is a warm-up for both, not recorded: the first writes into the tmpfs-backed disk image
    // are page faults of never-touched memory (on this VM about half speed), and the agent always
    // goes first in a round because it makes the filesystem.
    for (let run = 0; run <= opts.runs; run++) {
      const agent = await runAgent(opts.repoRoot, ['--task', recipeFile, '--mount-root', join(work, 'mnt'), '--scratch', join(work, 'scratch')]);
      if (agent.code !== 0) throw new Error(`reef agent exited ${agent.code}:\n${agent.out.slice(-3000)}`);
      const agentSeconds = pullSeconds(agent.out);
      // The reference into the same, freshly made filesystem (the agent's tree stays; the disk has room).
      execFileSync('mount', [`${dev}p2`, mnt]);
      const dir = join(mnt, 'pipeline');
      mkdirSync(dir);
      const vdir = join(mnt, 'verified');
      mkdirSync(vdir);
      let pipeSeconds: number;
      let verifiedSeconds: number;
      try {
        pipeSeconds = pipeline(blobUrl, dir);
        verifiedSeconds = pipeline(blobUrl, vdir, digest);
      } finally {
        execFileSync('umount', [mnt]);
      }
      const row = {
        run,
        agentSeconds,
        agentMBps: tarBytes / 1e6 / agentSeconds,
        agentPeakRssBytes: agent.peakRss,
        pipeSeconds,
        pipeMBps: tarBytes / 1e6 / pipeSeconds,
        verifiedSeconds,
        verifiedMBps: tarBytes / 1e6 / verifiedSeconds,
      };
      if (run === 0) {
        console.log(`warm-up (not recorded): agent ${fmt(row.agentMBps, 0)} MB/s, curl | tar ${fmt(row.pipeMBps, 0)} MB/s`);
        continue;
      }
      runs.push(row);
      console.log(`run ${run}: agent ${fmt(row.agentMBps, 0)} MB/s (${fmt(agentSeconds, 2)} s, peak RSS ${fmt(agent.peakRss / 1e6, 1)} MB), curl | tar ${fmt(row.pipeMBps, 0)} MB/s (${fmt(pipeSeconds, 2)} s), with sha256sum ${fmt(row.verifiedMBps, 0)} MB/s`);
    }
  } finally {
    detach(dev, work);
  }
  return summary(runs, tarBytes, files);
};

const detach = (dev: string, work: string) => {
  for (const [cmd, args] of [
    ['umount', [join(work, 'check')]],
    ['partx', ['-d', dev]],
    ['losetup', ['-d', dev]],
  ] as const) {
    try {
      execFileSync(cmd, [...args], { stdio: 'ignore' });
    } catch {
      // not mounted / no partitions: nothing to undo
    }
  }
  rmSync(work, { recursive: true, force: true });
};

const summary = (runs: AgentBenchResult['runs'], tarBytes: number, files: number): AgentBenchResult => {
  const agentMBps = median(runs.map((r) => r.agentMBps));
  const pipeMBps = median(runs.map((r) => r.pipeMBps));
  const peakRssBytes = Math.max(...runs.map((r) => r.agentPeakRssBytes));
  const target = { ratio: 0.9, rssBytes: 150e6 };
  const ratio = agentMBps / pipeMBps;
  console.log(table(['run', 'agent MB/s', 'curl|tar MB/s', 'curl|tee sha256sum|tar MB/s', 'agent RSS MB'], runs.map((r) => [String(r.run), fmt(r.agentMBps, 0), fmt(r.pipeMBps, 0), fmt(r.verifiedMBps, 0), fmt(r.agentPeakRssBytes / 1e6, 1)])));
  const verifiedMBps = median(runs.map((r) => r.verifiedMBps));
  return { tarBytes, files, runs, agentMBps, pipeMBps, verifiedMBps, ratio, peakRssBytes, target, pass: { ratio: ratio >= target.ratio, rss: peakRssBytes <= target.rssBytes } };
};

export const AGENT_BEGIN = '<!-- agent-bench:begin (generated by `BENCH_ONLY=agent npm run bench`; edits inside are overwritten) -->';
export const AGENT_END = '<!-- agent-bench:end -->';

/** The generated RESULTS.md section of the agent part. */
export const agentMarkdown = (r: AgentBenchResult, date: string, system: { cpus: number; cpuModel: string; kernel: string; loadavgAtStart: string; loadavgAtEnd?: string }): string => `${AGENT_BEGIN}
## Agent: pull + extract of a 1 GiB rootfs vs \`curl | tar -x\`

${date}; ${system.cpus} × ${system.cpuModel}, kernel ${system.kernel}; load average at start ${system.loadavgAtStart}${system.loadavgAtEnd ? `, at end ${system.loadavgAtEnd}` : ''}.
Rootfs: ${fmt(r.tarBytes / 2 ** 20, 0)} MiB uncompressed tar, ${r.files} files, pushed to reef (dist, own process); target: ext4 on a loop disk whose image is in /dev/shm.
The agent figure is its \`pull\` step (\`reef agent\`, whole install-linux.target run; manifest resolution, streaming, sha256, GNU tar, staging move).
Each round runs the agent, then the two pipelines into the filesystem it made; one warm-up round before the recorded ones is not counted.

| | agent | curl \\| tar -x | curl \\| tee >(sha256sum) \\| tar -x |
| --- | --- | --- | --- |
| median MB/s | ${fmt(r.agentMBps, 0)} | ${fmt(r.pipeMBps, 0)} | ${fmt(r.verifiedMBps, 0)} |
| ratio to curl \\| tar | ${fmt(r.ratio, 3)} (target ≥ ${r.target.ratio}: ${r.pass.ratio ? 'PASS' : 'FAIL'}) | 1 | ${fmt(r.verifiedMBps / r.pipeMBps, 3)} |
| agent peak RSS | ${fmt(r.peakRssBytes / 1e6, 1)} MB (target ≤ ${r.target.rssBytes / 1e6}: ${r.pass.rss ? 'PASS' : 'FAIL'}) | | |

${mdTable(['run', 'agent s', 'agent MB/s', 'curl|tar s', 'curl|tar MB/s', 'verified pipeline MB/s', 'agent RSS MB'], r.runs.map((x) => [String(x.run), fmt(x.agentSeconds, 2), fmt(x.agentMBps, 0), fmt(x.pipeSeconds, 2), fmt(x.pipeMBps, 0), fmt(x.verifiedMBps, 0), fmt(x.agentPeakRssBytes / 1e6, 1)]))}
${AGENT_END}`;
