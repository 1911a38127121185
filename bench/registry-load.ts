import { createHash } from 'node:crypto';
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import { keepAliveAgent, percentile, request } from './http-load.js';
import { cpuMs, type Server } from './procs.js';

export interface TimedLoadResult {
  requests: number;
  concurrency: number;
  /** Measured time (sum of the slices), ms. */
  wallMs: number;
  slices: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers that were not 200 with the expected Docker-Content-Digest (0 = transport error). */
  unexpected: Record<string, number>;
  unexpectedCount: number;
  /** CPU used by this (client) process and by the server during the measured time, in ms. */
  clientCpuMs: number;
  serverCpuMs: number;
}

export interface GetTarget {
  srv: Server;
  path: string;
  headers: Record<string, string>;
  /** The Docker-Content-Digest every answer must carry, and the sha256 of every body. */
  digest: string;
}

interface Slice {
  latencies: number[];
  unexpected: Record<string, number>;
  wallMs: number;
  clientCpuMs: number;
  serverCpuMs: number;
}

/** Bodies already shown to hash to a target's digest; later ones are compared byte for byte (cheaper for the shared CPU). */
const verified = new WeakMap<GetTarget, Buffer>();
const bodyMatches = (t: GetTarget, body: Buffer): boolean => {
  const known = verified.get(t);
  if (known) return known.equals(body);
  if (`sha256:${createHash('sha256').update(body).digest('hex')}` !== t.digest) return false;
  verified.set(t, Buffer.from(body));
  return true;
};

/** One timed slice: `concurrency` workers on `agent` (connections already open) for `durationMs`. */
const slice = async (t: GetTarget, agent: http.Agent, concurrency: number, durationMs: number): Promise<Slice> => {
  const latencies: number[] = [];
  const unexpected: Record<string, number> = {};
  const serverCpu0 = cpuMs(t.srv.pid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      let key = '200';
      try {
        const a = await request(t.srv.url, { method: 'GET', path: t.path }, agent, t.headers);
        if (a.status !== 200) key = String(a.status);
        else if (a.headers['docker-content-digest'] !== t.digest) key = '200-wrong-digest';
        else if (!bodyMatches(t, a.body)) key = '200-wrong-body';
      } catch {
        key = '0';
      }
      latencies.push(performance.now() - start);
      if (key !== '200') unexpected[key] = (unexpected[key] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { latencies, unexpected, wallMs, clientCpuMs: (cpu.user + cpu.system) / 1000, serverCpuMs: cpuMs(t.srv.pid) - serverCpu0 };
};

/**
 * GET load against several servers in alternating slices (A for `sliceMs`, then B, …, repeated
 * until each had `durationMs`), so background load on a shared machine hits all of them alike.
 * Each server has its own keep-alive agent with `concurrency` sockets, opened before timing; an
 * answer counts as expected when it is 200 with the expected Docker-Content-Digest.
 */
export const alternatingGetLoad = async (
  targets: GetTarget[],
  concurrency: number,
  durationMs: number,
  sliceMs = 1000,
): Promise<TimedLoadResult[]> => {
  const agents = targets.map(() => keepAliveAgent(concurrency));
  const slices: Slice[][] = targets.map(() => []);
  try {
    await Promise.all(
      targets.flatMap((t, i) => Array.from({ length: concurrency }, () => request(t.srv.url, { method: 'GET', path: t.path }, agents[i], t.headers))),
    );
    const rounds = Math.max(1, Math.round(durationMs / sliceMs));
    for (let r = 0; r < rounds; r++) {
      const order = targets.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) slices[i]!.push(await slice(targets[i]!, agents[i]!, concurrency, durationMs / rounds));
    }
  } finally {
    for (const a of agents) a.destroy();
  }
  return slices.map((ss) => {
    const sorted = ss.flatMap((s) => s.latencies).sort((a, b) => a - b);
    const unexpected: Record<string, number> = {};
    for (const s of ss) for (const [k, v] of Object.entries(s.unexpected)) unexpected[k] = (unexpected[k] ?? 0) + v;
    const wallMs = ss.reduce((a, s) => a + s.wallMs, 0);
    return {
      requests: sorted.length,
      concurrency,
      wallMs,
      slices: ss.length,
      perSecond: (sorted.length * 1000) / wallMs,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted[sorted.length - 1] ?? Number.NaN,
      unexpected,
      unexpectedCount: Object.values(unexpected).reduce((a, b) => a + b, 0),
      clientCpuMs: ss.reduce((a, s) => a + s.clientCpuMs, 0),
      serverCpuMs: ss.reduce((a, s) => a + s.serverCpuMs, 0),
    };
  });
};
