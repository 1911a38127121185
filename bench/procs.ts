import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import { freePort } from '../test/helpers/child-server.js';
import { join } from 'node:path';

/** A server process the benchmark started (and alone may stop). */
export interface Server {
  name: string;
  pid: number;
  url: string;
  child: ChildProcess;
  /** The command line it was started with (for the report). */
  command?: string[];
  /** What the process wrote to stdout/stderr (kept for error reports). */
  output: () => string;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A TCP port free on 127.0.0.1 at the time of asking: the tests' helper (the bench already uses their fixtures). */
export { freePort };

/** User + system CPU time of a live process, in ms (from /proc/<pid>/stat). */
export const cpuMs = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
};

/**
 * The children's user + system CPU, in ms, from what bash's `times` printed (two lines: the
 * shell's user and system time, then its children's, each like `0m1.234s`).
 */
export const childrenCpuMsFromTimes = (timesOutput: string): number => {
  const t = [...timesOutput.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => (Number(m[1]) * 60 + Number(m[2])) * 1000);
  return (t[2] ?? 0) + (t[3] ?? 0);
};

/** Keeps the last ~32-64 KiB of a child's stdout and stderr, for error messages. */
export const collect = (child: ChildProcess): (() => string) => {
  let out = '';
  const add = (b: Buffer) => {
    out += b.toString('utf8');
    if (out.length > 64 * 1024) out = out.slice(-32 * 1024);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => out;
};

const waitFor = (child: ChildProcess, output: () => string, ready: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) =>
  new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const onExit = (code: number | null) => reject(new Error(`${what} exited early (code ${code}):\n${output()}`));
    child.once('exit', onExit);
    const tick = async () => {
      if (await ready()) {
        child.off('exit', onExit);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        child.off('exit', onExit);
        reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${output()}`));
      } else setTimeout(tick, 50);
    };
    void tick();
  });

/** The node flags of package.json's `start` script (`node <flags> dist/cli.js serve`): the bench runs reef as npm start does. */
const startScriptNodeFlags = (repoRoot: string): string[] => {
  const start = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '';
  const m = /^node\s+(.*?)\s*dist\/cli\.js serve$/.exec(start.trim());
  if (!m) throw new Error(`package.json start script is not "node [flags] dist/cli.js serve": ${start}`);
  return m[1] ? m[1].split(/\s+/) : [];
};

/**
 * Starts the built server (`node <flags> dist/cli.js serve`, what `npm start` runs) in its own process
 * and waits for "reef listening on". Running from source through tsx halves the /media
 * throughput, so the benchmark builds first and measures what operators run.
 */
export const startReefProcess = async (repoRoot: string, dataDir: string, nodeArgs: string[] = [], env: Record<string, string> = {}): Promise<Server> => {
  const port = await freePort();
  const args = [...startScriptNodeFlags(repoRoot), ...nodeArgs, 'dist/cli.js', 'serve'];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, REEF_LISTEN: `127.0.0.1:${port}`, REEF_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collect(child);
  await waitFor(child, output, () => output().includes('reef listening on '), 'reef');
  return { name: 'reef', pid: child.pid!, url: `http://127.0.0.1:${port}`, child, output, command: ['node', ...args] };
};

/** Starts Debian's nginx (single process, sendfile on) serving `root` on a free port. */
export const startNginx = async (workDir: string, root: string): Promise<Server> => {
  const port = await freePort();
  await mkdir(join(workDir, 'logs'), { recursive: true });
  const conf = `daemon off;
master_process off;
worker_processes 1;
pid ${workDir}/nginx.pid;
error_log ${workDir}/logs/error.log warn;
events { worker_connections 256; }
http {
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  client_body_temp_path ${workDir}/client_body;
  proxy_temp_path ${workDir}/proxy;
  fastcgi_temp_path ${workDir}/fastcgi;
  uwsgi_temp_path ${workDir}/uwsgi;
  scgi_temp_path ${workDir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`;
  const confPath = join(workDir, 'nginx.conf');
  writeFileSync(confPath, conf);
  const child = spawn('/usr/sbin/nginx', ['-p', workDir, '-e', join(workDir, 'logs', 'error.log'), '-c', confPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collect(child);
  const url = `http://127.0.0.1:${port}`;
  const canConnect = () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
  await waitFor(child, output, canConnect, 'nginx');
  return { name: 'nginx', pid: child.pid!, url, child, output };
};

/** Stops a server the benchmark started: SIGTERM by PID, SIGKILL after `graceMs`. */
export const stopServer = (srv: Server, graceMs = 5000): Promise<void> =>
  new Promise((resolve) => {
    if (srv.child.exitCode !== null || srv.child.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      try {
        process.kill(srv.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs);
    srv.child.once('exit', () => (clearTimeout(timer), resolve()));
    try {
      process.kill(srv.pid, 'SIGTERM');
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
