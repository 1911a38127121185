/**
 * Helpers for driving real container tools (skopeo, podman, buildah, curl, htpasswd) from tests.
 * Everything is asynchronous: the reef under test runs in the vitest process, so a synchronous
 * child process would block its event loop and deadlock.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Runs a command asynchronously and resolves with its exit code and output (never rejects on failure). */
export const run = (cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${opts.timeoutMs ?? 120_000} ms]`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });

/** Like `run`, but rejects with the full command line and output when the exit code is not 0. */
export const mustRun = async (cmd: string, args: string[], opts: RunOptions = {}): Promise<string> => {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`\`${cmd} ${args.join(' ')}\` exited ${r.code}\n--- stderr ---\n${r.stderr.trim()}\n--- stdout ---\n${r.stdout.trim()}`);
  }
  return r.stdout;
};

/** Writes an htpasswd file with one bcrypt entry, as `htpasswd -Bbn` makes it. */
export const writeHtpasswd = async (file: string, user: string, password: string): Promise<void> => {
  const line = await mustRun('htpasswd', ['-Bbn', user, password]);
  writeFileSync(file, `${line.trim()}\n`);
};

/**
 * An isolated configuration for podman/buildah/skopeo rooted in `dir`: vfs storage, graphroot,
 * runroot, tmp dir, events log, network config, registries.conf, policy and auth file all live
 * there, so nothing is left in /var/lib/containers or /run.
 */
export interface ContainerEnv {
  dir: string;
  env: Record<string, string>;
  authFile: string;
  policy: string;
  /** Global flags for podman and buildah (storage locations). */
  storageFlags: string[];
  podman(args: string[], timeoutMs?: number): Promise<RunResult>;
  buildah(args: string[], timeoutMs?: number): Promise<RunResult>;
  skopeo(args: string[], timeoutMs?: number): Promise<RunResult>;
  /** Any command (a script driving podman/skopeo) with this env, isolated like the tools above. */
  exec(cmd: string, args: string[], timeoutMs?: number): Promise<RunResult>;
}

let unshareProbe: Promise<boolean> | undefined;
/** Whether this process may make private mount namespaces (root with CAP_SYS_ADMIN). */
const canUnshareMounts = (): Promise<boolean> =>
  (unshareProbe ??= run('unshare', ['--mount', '--propagation', 'private', 'true']).then(
    (r) => r.code === 0,
    () => false,
  ));

export const makeContainerEnv = (dir: string): ContainerEnv => {
  const graphroot = join(dir, 'graph');
  const runroot = join(dir, 'run');
  const tmp = join(dir, 'tmp');
  for (const d of [graphroot, runroot, tmp, join(dir, 'home'), join(dir, 'networks'), join(dir, 'events')]) {
    mkdirSync(d, { recursive: true });
  }
  const storageConf = join(dir, 'storage.conf');
  writeFileSync(storageConf, `[storage]\ndriver = "vfs"\ngraphroot = "${graphroot}"\nrunroot = "${runroot}"\n`);
  const registriesConf = join(dir, 'registries.conf');
  writeFileSync(registriesConf, 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n');
  const containersConf = join(dir, 'containers.conf');
  writeFileSync(
    containersConf,
    [
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(dir, 'events', 'events.log')}"`,
      `tmp_dir = "${tmp}"`,
      `static_dir = "${join(graphroot, 'libpod')}"`,
      `volume_path = "${join(graphroot, 'volumes')}"`,
      '[network]',
      'network_backend = "cni"',
      `network_config_dir = "${join(dir, 'networks')}"`,
      '',
    ].join('\n'),
  );
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const authFile = join(dir, 'auth.json');
  writeFileSync(authFile, JSON.stringify({ auths: {} }));
  const varLib = join(dir, 'var-lib');
  mkdirSync(varLib, { recursive: true });
  const env: Record<string, string> = {
    CONTAINERS_STORAGE_CONF: storageConf,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    CONTAINERS_CONF: containersConf,
    REGISTRY_AUTH_FILE: authFile,
    HOME: join(dir, 'home'),
    XDG_RUNTIME_DIR: runroot,
    TMPDIR: tmp,
    BUILDAH_ISOLATION: 'chroot',
  };
  /**
   * As root, skopeo and `buildah commit` keep a blob-info cache in /var/lib/containers/cache, and
   * no flag moves it: when allowed, run the tools in their own mount namespace with a private
   * /var/lib (kept in `dir`, shared by this env's invocations, so skopeo still learns where blobs
   * are and tries cross-repository mounts).
   */
  const isolated = async (cmd: string, args: string[], timeoutMs?: number): Promise<RunResult> => {
    if (!(await canUnshareMounts())) return run(cmd, args, { env, timeoutMs });
    const script = 'mount --bind "$0" /var/lib && exec "$@"';
    return run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, varLib, cmd, ...args], { env, timeoutMs });
  };
  const storageFlags = ['--root', graphroot, '--runroot', runroot, '--storage-driver', 'vfs'];
  return {
    dir,
    env,
    authFile,
    policy,
    storageFlags,
    podman: (args, timeoutMs) => isolated('podman', [...storageFlags, '--tmpdir', tmp, ...args], timeoutMs),
    buildah: (args, timeoutMs) => isolated('buildah', [...storageFlags, ...args], timeoutMs),
    skopeo: (args, timeoutMs) => isolated('skopeo', ['--policy', policy, '--tmpdir', tmp, ...args], timeoutMs),
    exec: (cmd, args, timeoutMs) => isolated(cmd, args, timeoutMs),
  };
};

/** Throws a readable error (command output included) unless the tool exited 0. */
export const ok = (what: string, r: RunResult): string => {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n--- stderr ---\n${r.stderr.trim()}\n--- stdout ---\n${r.stdout.trim()}`);
  return r.stdout;
};
