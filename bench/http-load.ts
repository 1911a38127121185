import http from 'node:http';
import { performance } from 'node:perf_hooks';

/** One request of a load run: method, path, optional JSON body. */
export interface LoadRequest {
  method: string;
  path: string;
  body?: string;
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface LoadResult {
  requests: number;
  concurrency: number;
  wallMs: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers whose status differs from the expected one, by status (0 = transport error). */
  unexpected: Record<string, number>;
  unexpectedCount: number;
  /** CPU time used by this (client) process during the run, in ms. */
  clientCpuMs: number;
}

/** A keep-alive agent limited to `sockets` connections (one per concurrent worker). */
export const keepAliveAgent = (sockets: number): http.Agent =>
  new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: 'fifo' });

/** Sends one request and buffers the answer (without an agent: a fresh connection, closed after). */
export const request = (base: string, req: LoadRequest, agent?: http.Agent, extraHeaders: Record<string, string> = {}): Promise<HttpAnswer> =>
  new Promise((resolve, reject) => {
    const url = new URL(req.path, base);
    const headers: Record<string, string | number> = { ...extraHeaders };
    if (req.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(req.body);
    }
    const r = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: req.method, headers, agent: agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });

/** Percentile of a sorted array (nearest-rank). */
export const percentile = (sorted: number[], p: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
};

/**
 * Runs `total` requests (request i made by `make(i)`) through `concurrency` workers sharing one
 * keep-alive agent with as many sockets, and measures wall time and per-request latency.
 */
export const runLoad = async (
  base: string,
  total: number,
  concurrency: number,
  make: (i: number) => LoadRequest,
  expectStatus: number,
): Promise<LoadResult> => {
  const agent = keepAliveAgent(concurrency);
  // Open the connections before timing, so the figure is steady-state keep-alive throughput.
  await Promise.all(Array.from({ length: concurrency }, () => request(base, { method: 'GET', path: '/healthz' }, agent)));
  const latencies = new Float64Array(total);
  const unexpected: Record<string, number> = {};
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const start = performance.now();
      let status: number;
      try {
        status = (await request(base, make(i), agent)).status;
      } catch {
        status = 0; // connection error: counted as unexpected
      }
      latencies[i] = performance.now() - start;
      if (status !== expectStatus) unexpected[String(status)] = (unexpected[String(status)] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  return {
    requests: total,
    concurrency,
    wallMs,
    perSecond: (total * 1000) / wallMs,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    unexpected,
    unexpectedCount: Object.values(unexpected).reduce((a, b) => a + b, 0),
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  };
};
