/**
 * A token-protected front for a test registry, as quay.io or registry.redhat.io present
 * themselves: requests without a valid Bearer token get 401 with
 * `WWW-Authenticate: Bearer realm="<front>/token",service="test-registry",scope="repository:<name>:<actions>"`;
 * /token issues short-lived tokens for a good Basic user:password only, granting the scopes asked
 * for; authorised requests are forwarded to the registry behind. It logs every request and can
 * answer with a fault (429 + Retry-After, 503) or cut a response after some bytes, once per call
 * (a cut skips answers no longer than its byte count and applies to the next match).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FrontRequest {
  at: number;
  method: string;
  path: string;
  range: string | undefined;
  /** The request's Content-Length and Content-Range, when it gave them. */
  length: number | undefined;
  contentRange: string | undefined;
  /** none, valid, expired (or revoked), unknown. */
  token: 'none' | 'valid' | 'expired' | 'unknown';
  status?: number;
  fault?: string;
}

export interface TokenRequest {
  at: number;
  ok: boolean;
  scopes: string[];
  service: string | null;
}

export type Fault = { status: number; retryAfter?: string } | { cutAfter: number } | { flipByteAt: number };

interface Issued {
  expires: number;
  grants: Map<string, Set<string>>;
}

export interface TokenFront {
  host: string;
  url: string;
  requests: FrontRequest[];
  tokenRequests: TokenRequest[];
  /** Every token value handed out (for "no token in any message"). */
  issued: string[];
  /**
   * The next request matching `match` gets `fault` instead of the answer; for a cut, part of the
   * answer: the first matching answer longer than `cutAfter` bytes.
   */
  inject(match: (method: string, path: string, headers: http.IncomingHttpHeaders) => boolean, fault: Fault): void;
  /** Every token issued so far stops working now (an early expiry the client was not told of). */
  revokeAll(): void;
  close(): Promise<void>;
}

/**
 * Passes `cut` bytes of `from` to `to` (with backpressure), then destroys both: the client sees
 * its connection closed mid-body, as after a network drop.
 */
const cutAfter = (from: http.IncomingMessage, to: http.ServerResponse, cut: number) => {
  let sent = 0;
  from.on('data', (d: Buffer) => {
    const part = d.subarray(0, cut - sent);
    sent += part.length;
    if (sent < cut) {
      if (!to.write(part)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
      return;
    }
    from.pause();
    to.write(part, () => {
      from.destroy();
      to.destroy();
    });
  });
};

/** The repository a /v2 path is about, and for a mount the one mounted from. */
const repoOf = (path: string): string | undefined => /^\/v2\/(.+?)\/(?:blobs|manifests|tags)\//.exec(path)?.[1];

export const startTokenFront = async (o: {
  upstream: string;
  users: Record<string, string>;
  /** How long a token really works. */
  tokenLifeMs: number;
  /** What the token answer says in expires_in (default: the real life, rounded up to a second). */
  announcedExpiresIn?: number;
}): Promise<TokenFront> => {
  const tokens = new Map<string, Issued>();
  const requests: FrontRequest[] = [];
  const tokenRequests: TokenRequest[] = [];
  const issued: string[] = [];
  const faults: { match: (m: string, p: string, h: http.IncomingHttpHeaders) => boolean; fault: Fault }[] = [];
  const upstream = new URL(o.upstream);
  let front = '';

  const issue = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url ?? '/', front);
    const scopes = u.searchParams.getAll('scope');
    const m = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const [user, ...rest] = m ? Buffer.from(m[1]!, 'base64').toString('utf8').split(':') : [];
    const ok = user !== undefined && o.users[user] !== undefined && o.users[user] === rest.join(':');
    tokenRequests.push({ at: Date.now(), ok, scopes, service: u.searchParams.get('service') });
    if (!ok) {
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Basic realm="test-registry"' });
      res.end(JSON.stringify({ details: 'incorrect username or password' }));
      return;
    }
    const grants = new Map<string, Set<string>>();
    for (const s of scopes) {
      const [type, name, actions] = [s.slice(0, s.indexOf(':')), s.slice(s.indexOf(':') + 1, s.lastIndexOf(':')), s.slice(s.lastIndexOf(':') + 1)];
      if (type === 'repository') grants.set(name, new Set([...(grants.get(name) ?? []), ...actions.split(',')]));
    }
    const value = randomBytes(24).toString('base64url');
    tokens.set(value, { expires: Date.now() + o.tokenLifeMs, grants });
    issued.push(value);
    const expiresIn = o.announcedExpiresIn ?? Math.ceil(o.tokenLifeMs / 1000);
    // Every other answer uses the OAuth2 field name, as some token services do.
    const body = issued.length % 2 === 0 ? { access_token: value, expires_in: expiresIn } : { token: value, expires_in: expiresIn, issued_at: new Date().toISOString() };
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    if (path.startsWith('/token')) return issue(req, res);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const known = bearer ? tokens.get(bearer) : undefined;
    const entry: FrontRequest = {
      at: Date.now(),
      method: req.method ?? 'GET',
      path,
      range: req.headers.range,
      length: req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']),
      contentRange: req.headers['content-range'],
      token: !bearer ? 'none' : !known ? 'unknown' : known.expires > Date.now() ? 'valid' : 'expired',
    };
    requests.push(entry);
    const repo = repoOf(new URL(path, front).pathname);
    const needs: [string, string][] = [];
    if (repo) needs.push([repo, req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push']);
    const from = new URL(path, front).searchParams.get('from');
    if (repo && from && req.method === 'POST') needs.push([from, 'pull']);
    const allowed = entry.token === 'valid' && needs.every(([name, action]) => known!.grants.get(name)?.has(action));
    if (!allowed) {
      const scope = repo ? `,scope="repository:${repo}:${needs[0]![1] === 'push' ? 'pull,push' : 'pull'}"` : '';
      entry.status = 401;
      req.resume();
      res.writeHead(401, {
        'Content-Type': 'application/json',
        'WWW-Authenticate': `Bearer realm="${front}/token",service="test-registry"${scope}${entry.token === 'expired' ? ',error="invalid_token"' : ''}`,
      });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] }));
      return;
    }
    const armed = faults.find((f) => f.match(entry.method, path, req.headers));
    const fault = armed?.fault;
    if (fault && 'status' in fault) {
      faults.splice(faults.indexOf(armed!), 1);
      entry.status = fault.status;
      entry.fault = `${fault.status}`;
      req.resume();
      res.writeHead(fault.status, { 'Content-Type': 'application/json', ...(fault.retryAfter ? { 'Retry-After': fault.retryAfter } : {}) });
      res.end(JSON.stringify({ errors: [{ code: fault.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected', detail: null }] }));
      return;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path, headers }, (ures) => {
      entry.status = ures.statusCode;
      // A cut is spent on the first matching answer longer than its byte count (several may be in
      // flight at once); a shorter one passes whole. (Spending it on a short answer used to leave that
      // answer unended: the client, holding every byte Content-Length announced, sent its next request
      // on the same keep-alive connection, which then waited behind it for the client's idle timeout.)
      if (fault && 'cutAfter' in fault && Number(ures.headers['content-length']) > fault.cutAfter && faults.includes(armed!)) {
        faults.splice(faults.indexOf(armed!), 1);
        entry.fault = `cut after ${fault.cutAfter}`;
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        cutAfter(ures, res, fault.cutAfter);
        return;
      }
      if (fault && 'flipByteAt' in fault && Number(ures.headers['content-length']) > fault.flipByteAt && faults.includes(armed!)) {
        // Bad bytes, not a bad connection: the answer is whole, one byte of it altered.
        faults.splice(faults.indexOf(armed!), 1);
        entry.fault = `byte ${fault.flipByteAt} flipped`;
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        let at = 0;
        ures.on('data', (d: Buffer) => {
          if (fault.flipByteAt >= at && fault.flipByteAt < at + d.length) {
            d = Buffer.from(d);
            d[fault.flipByteAt - at] = (d[fault.flipByteAt - at] ?? 0) ^ 0xff;
          }
          at += d.length;
          if (!res.write(d)) {
            ures.pause();
            res.once('drain', () => ures.resume());
          }
        });
        ures.on('end', () => res.end());
        return;
      }
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  front = `http://${host}`;
  return {
    host,
    url: front,
    requests,
    tokenRequests,
    issued,
    inject: (match, fault) => faults.push({ match, fault }),
    revokeAll: () => {
      for (const t of tokens.values()) t.expires = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
};
