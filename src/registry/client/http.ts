import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
/** One keep-alive agent per CA given, and one that verifies nothing (a process talks to a few registries). */
const tlsAgents = new Map<string, https.Agent>();

/**
 * The HTTPS agent: the system's trust store, or only `ca` (PEM) when given; hostnames are checked
 * either way. `tlsVerify: false` checks nothing (the user asked for it: --tls-verify=false).
 */
const httpsAgent = (ca: string | undefined, tlsVerify: boolean): https.Agent => {
  if (ca === undefined && tlsVerify) return agents.https;
  const key = tlsVerify ? `ca:${ca}` : 'insecure';
  const known = tlsAgents.get(key);
  if (known) return known;
  const agent = new https.Agent(tlsVerify ? { keepAlive: true, ca } : { keepAlive: true, rejectUnauthorized: false });
  tlsAgents.set(key, agent);
  return agent;
};

export interface RawRequestInit {
  method: string;
  headers?: Record<string, string>;
  body?: Readable | Buffer;
  /** Idle time (no bytes either way) after which the request fails. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** See httpsAgent. */
  ca?: string;
  tlsVerify?: boolean;
}

/** One HTTP request with a streamed body and a streamed answer (node:http, keep-alive). */
export const rawRequest = (url: string, init: RawRequestInit): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, { method: init.method, headers: init.headers, agent: u.protocol === 'https:' ? httpsAgent(init.ca, init.tlsVerify ?? true) : agents.http, signal: init.signal }, (res) =>
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
