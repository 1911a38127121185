/**
 * A plain HTTP proxy in front of a test registry (127.0.0.1, port 0) that logs every request and
 * can misbehave on purpose: answer 503/429, cut a blob transfer half way, or delay answers. The
 * pre-cache tests use it to count the blob GETs a run makes and to prove retries and resumes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'pass' | 'drop-half' | { status: number } | { delayMs: number };

export interface ProxyRequest {
  method: string;
  path: string;
  range?: string;
  fault: Fault;
}

export interface TestProxy {
  /** host:port to give clients. */
  host: string;
  log: ProxyRequest[];
  /** Decides what to do with each request (default: pass). */
  decide: (method: string, path: string) => Fault;
  /** Digests of blobs fetched with GET, in order. */
  blobGets(): string[];
  close(): Promise<void>;
}

export const startProxy = async (target: string): Promise<TestProxy> => {
  const up = new URL(target);
  const log: ProxyRequest[] = [];
  const proxy: TestProxy = {
    host: '',
    log,
    decide: () => 'pass',
    blobGets: () => log.filter((r) => r.method === 'GET' && /\/blobs\/sha256:/.test(r.path) && !(typeof r.fault === 'object' && 'status' in r.fault)).map((r) => r.path.slice(r.path.lastIndexOf('/') + 1)),
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, fault: Fault) => {
    const upstream = http.request({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      if (fault !== 'drop-half') return void ur.pipe(res);
      const limit = Math.floor(Number(ur.headers['content-length'] ?? 0) / 2);
      let sent = 0;
      ur.on('data', (chunk: Buffer) => {
        if (sent >= limit) return;
        const part = chunk.subarray(0, limit - sent);
        sent += part.length;
        res.write(part);
        if (sent >= limit) {
          ur.destroy();
          res.socket?.destroy();
        }
      });
    });
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  };
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const fault = proxy.decide(method, path);
    log.push({ method, path, fault, ...(req.headers.range ? { range: req.headers.range } : {}) });
    if (typeof fault === 'object' && 'status' in fault) {
      req.resume();
      res.writeHead(fault.status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: fault.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected by the test proxy' }] }));
      return;
    }
    if (typeof fault === 'object') return void setTimeout(() => forward(req, res, 'pass'), fault.delayMs);
    forward(req, res, fault);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  proxy.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
};
