import { execFile, execFileSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, readSync, closeSync, renameSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { request } from './http-load.js';
import { childrenCpuMsFromTimes, cpuMs, type Server } from './procs.js';

export const GIB = 1024 * 1024 * 1024;

/** Creates a 1 GiB file of random data at `path` unless one of that size is already there. */
export const ensureBigFile = (path: string): { created: boolean; ms: number } => {
  if (existsSync(path) && statSync(path).size === GIB) return { created: false, ms: 0 };
  const t0 = performance.now();
  const tmp = `${path}.tmp`;
  execFileSync('sh', ['-c', `head -c 1G /dev/urandom > '${tmp}'`]);
  renameSync(tmp, path);
  return { created: true, ms: performance.now() - t0 };
};

const sh = (script: string): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], { maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });

export interface CurlRun {
  target: string;
  mbPerS: number;
  seconds: number;
  bytes: number;
  status: number;
  curlExit: number;
  /** CPU used by curl (user+sys, ms) and by the server process during the run. */
  curlCpuMs: number;
  serverCpuMs: number;
}

/** One `curl -o /dev/null` GET, with curl's speed/time and the CPU of curl and of the server. */
export const curlOnce = async (srv: Server, path: string): Promise<CurlRun> => {
  const before = cpuMs(srv.pid);
  const out = await sh(`curl -sS -o /dev/null -w '%{speed_download} %{time_total} %{size_download} %{http_code} %{exitcode}\\n' '${srv.url}${path}'; times`);
  const serverCpuMs = cpuMs(srv.pid) - before;
  const [line, ...rest] = out.trim().split('\n');
  const [speed, time, size, code, exit] = line!.split(' ').map(Number);
  return {
    target: srv.name,
    mbPerS: speed! / 1e6,
    seconds: time!,
    bytes: size!,
    status: code!,
    curlExit: exit!,
    curlCpuMs: childrenCpuMsFromTimes(rest.join(' ')),
    serverCpuMs,
  };
};

export interface ParallelRun {
  target: string;
  clients: number;
  aggregateMBps: number;
  seconds: number;
  bytes: number;
  statuses: number[];
  serverCpuMs: number;
}

/** `clients` concurrent curls of the same URL; aggregate throughput over the wall time. */
export const curlParallel = async (srv: Server, path: string, clients: number): Promise<ParallelRun> => {
  const before = cpuMs(srv.pid);
  const t0 = performance.now();
  const outs = await Promise.all(
    Array.from({ length: clients }, () => sh(`curl -sS -o /dev/null -w '%{size_download} %{http_code}' '${srv.url}${path}' || true`)),
  );
  const seconds = (performance.now() - t0) / 1000;
  const serverCpuMs = cpuMs(srv.pid) - before;
  const parsed = outs.map((o) => o.trim().split(' ').map(Number));
  const bytes = parsed.reduce((a, p) => a + (p[0] ?? 0), 0);
  return { target: srv.name, clients, aggregateMBps: bytes / seconds / 1e6, seconds, bytes, statuses: parsed.map((p) => p[1] ?? 0), serverCpuMs };
};

export const sha256File = async (path: string): Promise<string> => (await sh(`sha256sum '${path}'`)).split(' ')[0]!;

export interface FullCheck {
  target: string;
  status: number;
  contentLength: number;
  sha256: string;
  curlExit: number;
  ok: boolean;
}

/** GETs the whole file through `sha256sum`, keeping the response headers, and compares to the source. */
export const checkFull = async (srv: Server, path: string, headerFile: string, wantSha: string): Promise<FullCheck> => {
  const out = await sh(`curl -sS -D '${headerFile}' '${srv.url}${path}' | sha256sum; echo "curl-exit \${PIPESTATUS[0]}"`);
  const sha = out.split(' ')[0]!;
  const curlExit = Number(/curl-exit (\d+)/.exec(out)?.[1] ?? -1);
  const head = existsSync(headerFile) ? readFileSync(headerFile, 'utf8') : '';
  const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(head)?.[1] ?? 0);
  const contentLength = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? -1);
  return { target: srv.name, status, contentLength, sha256: sha, curlExit, ok: curlExit === 0 && status === 200 && contentLength === GIB && sha === wantSha };
};

export interface RangeCheck {
  target: string;
  status: number;
  contentRange: string;
  contentLength: string;
  bytesMatchFile: boolean;
  ok: boolean;
}

/** `Range: bytes=100-199` must give 206, `bytes 100-199/<size>` and the file's bytes 100..199. */
export const checkRange = async (srv: Server, path: string, source: string): Promise<RangeCheck> => {
  const ans = await request(srv.url, { method: 'GET', path }, undefined, { range: 'bytes=100-199' });
  const want = Buffer.alloc(100);
  const fd = openSync(source, 'r');
  try {
    readSync(fd, want, 0, 100, 100);
  } finally {
    closeSync(fd);
  }
  const contentRange = String(ans.headers['content-range'] ?? '');
  const contentLength = String(ans.headers['content-length'] ?? '');
  const bytesMatchFile = ans.body.equals(want);
  return {
    target: srv.name,
    status: ans.status,
    contentRange,
    contentLength,
    bytesMatchFile,
    ok: ans.status === 206 && contentRange === `bytes 100-199/${GIB}` && contentLength === '100' && bytesMatchFile,
  };
};
