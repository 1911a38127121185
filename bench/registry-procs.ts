import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { childrenCpuMsFromTimes, collect, freePort, type Server } from './procs.js';

export const DISTRIBUTION_BIN = '/usr/bin/docker-registry';

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

export const distributionVersion = (): string => {
  try {
    return execFileSync(DISTRIBUTION_BIN, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
};

/**
 * Starts Debian's `docker-registry` (CNCF distribution) as its own process: filesystem storage
 * in `workDir/storage`, deletes enabled, the in-memory blob-descriptor cache of the stock config,
 * access log off and log level warn (reef runs with LOG_LEVEL=warn, so neither logs requests).
 * `port`: a fixed port (a storage whose image references name `127.0.0.1:<port>` is reused), else a free one.
 */
export const startDistribution = async (workDir: string, fixedPort?: number): Promise<Server> => {
  const port = fixedPort ?? (await freePort());
  mkdirSync(join(workDir, 'storage'), { recursive: true });
  const conf = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(workDir, 'storage')}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:${port}
  headers:
    X-Content-Type-Options: [nosniff]
`;
  const confPath = join(workDir, 'config.yml');
  writeFileSync(confPath, conf);
  // OTEL/other env of the bench is irrelevant to it; keep the environment as is but unset any
  // REGISTRY_* override that would change the config under test.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')));
  const child = spawn(DISTRIBUTION_BIN, ['serve', confPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collect(child);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`docker-registry exited early (code ${code}):\n${output()}`));
    child.once('exit', onExit);
    const tick = async () => {
      if (await canConnect(port)) {
        child.off('exit', onExit);
        resolve();
      } else if (Date.now() - started > 30_000) {
        child.off('exit', onExit);
        reject(new Error(`docker-registry did not start within 30 s:\n${output()}`));
      } else setTimeout(tick, 50);
    };
    void tick();
  });
  return { name: 'distribution', pid: child.pid!, url: `http://127.0.0.1:${port}`, child, output };
};

/**
 * CPU time the whole machine spent busy (user, nice, system, irq, softirq, steal; iowait counts
 * as idle), in ms, from /proc/stat. Minus what the server and client used, it shows how much
 * other work ran meanwhile.
 */
export const machineBusyMs = (): number => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return ((user + nice + system + irq + softirq + steal) * 1000) / 100; // USER_HZ is 100 on Linux
};

/** Resident set size of a live process in bytes (VmRSS from /proc/<pid>/status); NaN if gone. */
export const rssBytes = (pid: number): number => {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
};

/** Samples VmRSS of `pid` every `everyMs` until stopped; returns the peak and the sample count. */
export const sampleRss = (pid: number, everyMs = 100) => {
  let peak = rssBytes(pid);
  let samples = 1;
  const timer = setInterval(() => {
    const v = rssBytes(pid);
    samples++;
    if (v > peak || Number.isNaN(peak)) peak = v;
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      const v = rssBytes(pid);
      if (v > peak) peak = v;
      return { peakBytes: peak, samples: samples + 1 };
    },
  };
};

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** user+system CPU of the tool (children times reported by bash `times`), ms. */
  cpuMs: number;
}

let unshareOk: boolean | undefined;
/** Whether this process may make private mount namespaces (root with CAP_SYS_ADMIN). */
export const canUnshareMounts = (): boolean => {
  if (unshareOk === undefined) {
    try {
      execFileSync('unshare', ['--mount', '--propagation', 'private', 'true'], { stdio: 'ignore' });
      unshareOk = true;
    } catch {
      unshareOk = false;
    }
  }
  return unshareOk;
};

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A private skopeo environment in `dir`: own policy, registries.conf, auth file, HOME and tmp dir, and a var-lib to bind over /var/lib. */
export const skopeoSandbox = (dir: string) => {
  const varLib = join(dir, 'var-lib');
  const tmp = join(dir, 'tmp');
  const home = join(dir, 'home');
  for (const d of [varLib, tmp, home]) mkdirSync(d, { recursive: true });
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const registriesConf = join(dir, 'registries.conf');
  writeFileSync(registriesConf, 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n');
  const authFile = join(dir, 'auth.json');
  writeFileSync(authFile, JSON.stringify({ auths: {} }));
  return {
    env: { ...process.env, HOME: home, TMPDIR: tmp, REGISTRY_AUTH_FILE: authFile, CONTAINERS_REGISTRIES_CONF: registriesConf, XDG_RUNTIME_DIR: tmp },
    policy,
    tmp,
    varLib,
  };
};

/**
 * Runs skopeo with a private, empty /var/lib (as test/helpers/containers.ts does: `unshare -m`
 * and a bind mount), so its blob-info cache in /var/lib/containers/cache starts empty on every
 * call: no "blob already known there" skip and no cross-repository mount shortcut. Own policy,
 * registries.conf, auth file, HOME and tmp dir in a fresh directory under `scratch`, removed after.
 */
export const skopeo = (scratch: string, args: string[], timeoutMs = 30 * 60_000): Promise<ToolRun> => {
  const dir = mkdtempSync(join(scratch, 'skopeo-'));
  const { env, policy, tmp, varLib } = skopeoSandbox(dir);
  const cmd = ['skopeo', '--policy', policy, '--tmpdir', tmp, ...args].map(q).join(' ');
  const inner = canUnshareMounts()
    ? `unshare --mount --propagation private sh -c 'mount --bind "$0" /var/lib && exec "$@"' ${q(varLib)} ${cmd}`
    : cmd;
  // `times` prints the shell's and then its children's user/system times.
  const script = `${inner}; rc=$?; times >&3; exit $rc`;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('bash', ['-c', script], {
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let times = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (times += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, stdout, stderr, wallMs, cpuMs: childrenCpuMsFromTimes(times) });
    });
  });
};
