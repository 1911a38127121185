import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
/** One keep-alive agent per CA given (a process talks to one or two registries). */
const caAgents = new Map<string, https.Agent>();

/** The HTTPS agent: the system's trust store, or only `ca` (PEM) when given; hostnames are checked either way. */
const httpsAgent = (ca: string | undefined): https.Agent => {
  if (ca === undefined) return agents.https;
  const known = caAgents.get(ca);
  if (known) return known;
  const agent = new https.Agent({ keepAlive: true, ca });
  caAgents.set(ca, agent);
  return agent;
};

/** One HTTP request with a streamed body and a streamed answer (node:http, keep-alive). `ca`: see httpsAgent. */
export const rawRequest = (
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: Readable | Buffer; timeoutMs?: number; signal?: AbortSignal; ca?: string },
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, { method: init.method, headers: init.headers, agent: u.protocol === 'https:' ? httpsAgent(init.ca) : agents.http, signal: init.signal }, (res) =>
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
    );
    req.on('error', reject);
    if (init.timeoutMs) req.setTimeout(init.timeoutMs, () => req.destroy(new Error(`timeout after ${init.timeoutMs} ms`)));
    if (!init.body) req.end();
    else if (Buffer.isBuffer(init.body)) req.end(init.body);
    else {
      init.body.on('error', (err) => req.destroy(err));
      init.body.pipe(req);
    }
  });

export const readAll = async (body: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};
