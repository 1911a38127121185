/**
 * An agent ISO built by the release's own `openshift-install agent create image`, run on the
 * server in a work dir: `<cacheDir>/<key>/work/` holding `install/` (the --dir:
 * install-config.yaml, agent-config.yaml), `cache/agent/image_cache/coreos-<arch>.iso` (the
 * extracted coreos.iso, where the installer looks before it pulls one: os.UserCacheDir() is
 * $XDG_CACHE_HOME), `bin/oc` (the extracted oc, first on PATH: the installer asks it about the
 * release), `home/`, `tmp/`, and `installer.log` (its output, kept). The environment is exactly
 * HOME, XDG_CACHE_HOME, TMPDIR, PATH and what the caller adds; nothing of reef's own. The result
 * is cached by a hash of everything that decides it (the three files' sha256, both documents as
 * handed over, arch, version): the same inputs give the same ISO without a second run.
 */
import { createHash } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256OfFile } from '../extract/artifact-file.js';
import { InstallerRunError, NoInstallerError, ReleaseSourceError } from '../errors.js';
import { linuxClientName, linuxInstallerName, releaseArchOf, type ReleaseArch } from '../extract/tool-table.js';
import { runTool } from '../run-tool.js';
import { installConfigForMirror, type MirrorSettings, parseAgentInputs, toYaml } from './install-inputs.js';

export interface AgentImageOptions {
  version: string;
  arch: ReleaseArch;
  /** The extracted artifacts of this version and arch (`<artifact_path>/<version>/<arch>`). */
  artifactsDir: string;
  /** ISOs and their work dirs, by key (e.g. `<storage>/installs/cache`). */
  cacheDir: string;
  /** The request body: `install_config` and `agent_config`, YAML strings. */
  body: { install_config?: unknown; agent_config?: unknown };
  mirror: MirrorSettings;
  /** Default 30 minutes. */
  timeoutMs?: number;
  /** More environment for the installer (a proxy); never secrets, the log may show them. */
  env?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * The arch of the machine the installer runs on (default: this process's). The release's own
   * openshift-install when it matches; else the linux installer for this machine that the
   * release ships in installer-artifacts (`openshift-install-linux-amd64`, with
   * `oc-linux-amd64` from cli-artifacts on its PATH), which builds ISOs for the release's arch
   * as well.
   */
  hostArch?: ReleaseArch;
}

/** This machine's arch as a release names it, or undefined for one no release has. */
const hostReleaseArch = (): ReleaseArch | undefined => releaseArchOf(process.arch === 'x64' ? 'amd64' : process.arch);

export interface AgentImage {
  /** sha256 of the inputs: the cache key. */
  key: string;
  /** `<cacheDir>/<key>/agent.iso` */
  iso: string;
  /** `<cacheDir>/<key>/work/installer.log` */
  log: string;
  /** True when an earlier run built it. */
  cached: boolean;
}

const DEFAULT_TIMEOUT = 30 * 60_000;
const building = new Map<string, Promise<AgentImage>>();

const exists = (path: string) => stat(path).then((s) => s.isFile(), () => false);

/** The sha256 of an extracted file: from the sha256sum.txt extraction wrote, else computed. */
const fileSums = async (dir: string, names: string[]): Promise<Record<string, string>> => {
  const listed = new Map<string, string>();
  const text = await readFile(join(dir, 'sha256sum.txt'), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const m = /^([a-f0-9]{64}) {2}(.+)$/.exec(line);
    if (m) listed.set(m[2]!, m[1]!);
  }
  const out: Record<string, string> = {};
  for (const n of names) out[n] = listed.get(n) ?? (await sha256OfFile(join(dir, n)));
  return out;
};

/** A hard link where the file system allows, else a symlink: the installer reads it, never writes through it. */
const place = async (from: string, to: string) => {
  await rm(to, { force: true });
  await link(from, to).catch(() => symlink(from, to));
};

/**
 * Builds (or finds in the cache) the agent ISO for these inputs. Throws the validation error of
 * the inputs (400), NoInstallerError when the release has no openshift-install for the arch
 * (409), ReleaseSourceError when oc or coreos.iso were not extracted, InstallerRunError when the
 * installer failed or ran out of time (its log kept).
 */
export const buildAgentImage = async (o: AgentImageOptions): Promise<AgentImage> => {
  const { installConfig, agentConfig } = parseAgentInputs(o.body, o.arch);
  const hostArch = o.hostArch ?? hostReleaseArch();
  const installerName = hostArch === o.arch ? 'openshift-install' : hostArch && linuxInstallerName(hostArch);
  const installer = installerName && join(o.artifactsDir, installerName);
  if (!installer || !(await exists(installer))) throw new NoInstallerError(o.version, o.arch, hostArch ?? process.arch);
  const ocName = hostArch === o.arch ? 'oc' : linuxClientName(hostArch!);
  for (const needed of [ocName, 'coreos.iso']) {
    if (!(await exists(join(o.artifactsDir, needed)))) throw new ReleaseSourceError(`release ${o.version} (${o.arch}) has no extracted ${needed}; extract it first`);
  }
  const installYaml = toYaml(installConfigForMirror(installConfig, o.arch, o.mirror));
  const agentYaml = toYaml(agentConfig);
  const sums = await fileSums(o.artifactsDir, [installerName, ocName, 'coreos.iso']);
  const key = createHash('sha256').update(JSON.stringify({ version: o.version, arch: o.arch, sums, installYaml, agentYaml, env: o.env ?? {} })).digest('hex');
  const running = building.get(key);
  if (running) return running;
  const job = build(o, key, { installer, oc: join(o.artifactsDir, ocName) }, installYaml, agentYaml).finally(() => building.delete(key));
  building.set(key, job);
  return job;
};

const build = async (o: AgentImageOptions, key: string, tools: { installer: string; oc: string }, installYaml: string, agentYaml: string): Promise<AgentImage> => {
  const home = join(o.cacheDir, key);
  const iso = join(home, 'agent.iso');
  const work = join(home, 'work');
  const log = join(work, 'installer.log');
  if (await exists(iso)) return { key, iso, log, cached: true };
  await rm(work, { recursive: true, force: true });
  const dirs = { install: join(work, 'install'), cache: join(work, 'cache'), bin: join(work, 'bin'), home: join(work, 'home'), tmp: join(work, 'tmp') };
  const imageCache = join(dirs.cache, 'agent', 'image_cache');
  for (const d of [...Object.values(dirs), imageCache]) await mkdir(d, { recursive: true, mode: 0o700 });
  // The install-config holds the pull secret: readable by reef alone.
  await writeFile(join(dirs.install, 'install-config.yaml'), installYaml, { mode: 0o600 });
  await writeFile(join(dirs.install, 'agent-config.yaml'), agentYaml, { mode: 0o600 });
  await place(join(o.artifactsDir, 'coreos.iso'), join(imageCache, `coreos-${o.arch}.iso`));
  await place(tools.oc, join(dirs.bin, 'oc'));
  const env = { ...o.env, HOME: dirs.home, XDG_CACHE_HOME: dirs.cache, TMPDIR: dirs.tmp, PATH: `${dirs.bin}:/usr/local/bin:/usr/bin:/bin` };
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT;
  await writeFile(log, `+ openshift-install agent create image --dir ${dirs.install} --log-level=info\n`, { mode: 0o600 });
  const r = await runTool(tools.installer, ['agent', 'create', 'image', '--dir', dirs.install, '--log-level=info'], { cwd: work, env, logFile: log, timeoutMs, ...(o.signal ? { signal: o.signal } : {}) });
  // What the installer left of its inputs, and its temp files (oc's registry config), hold the pull secret; the log stays.
  await rm(join(dirs.install, 'install-config.yaml'), { force: true });
  await rm(dirs.tmp, { recursive: true, force: true });
  if (r.aborted) throw o.signal?.reason ?? new Error('aborted');
  if (r.timedOut) throw new InstallerRunError(`openshift-install ran longer than ${Math.round(timeoutMs / 1000)} s and was stopped; its log is ${log}`, log);
  if (r.code !== 0) throw new InstallerRunError(`openshift-install agent create image failed (${r.code === null ? `signal ${r.signal}` : `exit ${r.code}`}): ${lastLines(r.tail)}`, log);
  const built = join(dirs.install, `agent.${o.arch}.iso`);
  if (!(await exists(built))) throw new InstallerRunError(`openshift-install exited 0 but wrote no agent.${o.arch}.iso; its log is ${log}`, log);
  await rename(built, iso);
  return { key, iso, log, cached: false };
};

const lastLines = (text: string) => text.trim().split('\n').slice(-5).join(' | ').slice(-2000);
