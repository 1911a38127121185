import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { certFingerprint } from '../../lib/cert-fingerprint.js';
import { answeredInPlainHttp, untrustedCertificateReason } from '../../lib/tls-errors.js';
import type { Credentials } from './auth-file.js';
import { OciClientError } from './errors.js';
import { rawRequest, readAll, type RawRequestInit, type RawResponse } from './http.js';
import { isLoopback } from './reference.js';
import { createRetrier, parseRetryAfter, type Retrier, type RetryPolicy } from './retry.js';
import { createTokenAuth, type TokenAuth } from './token-auth.js';

export interface TransportOptions {
  /** `host[:port]`. */
  registry: string;
  plainHttp?: boolean;
  /** PEM of the one CA the registry's certificate must be signed by (see ClientOptions.ca). */
  ca?: string;
  /** A file holding that PEM. */
  caFile?: string;
  /** false: HTTPS without checking the certificate at all. Default true. */
  tlsVerify?: boolean;
  credentials?: Credentials;
  retries?: number;
  retryDelayMs?: number;
  /** Idle timeout of a request (default 60 s). */
  timeoutMs?: number;
  onRetry?: RetryPolicy['onRetry'];
}

export interface SendInit {
  method: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** The token scopes the request needs (pullScope / pushScope). */
  scopes: string[];
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface Transport {
  /** `host[:port]` as URLs spell it. */
  readonly registry: string;
  readonly retrier: Retrier;
  readonly auth: TokenAuth;
  url(pathOrUrl: string): string;
  /** A request to the registry with its credentials; a 401 is answered once (fresh token) when the body can be sent again. */
  send(target: string, init: SendInit): Promise<RawResponse>;
  /** A GET that follows redirects (blobs in object storage), dropping the registry's Authorization on another host. */
  getFollowing(target: string, headers: Record<string, string>, scopes: string[], signal?: AbortSignal): Promise<RawResponse>;
  /** The error for a registry answer: its code and message, Retry-After, and the registry named on 401/403. */
  errorFrom(status: number, headers: Record<string, string | string[] | undefined>, body: string, what: string): OciClientError;
  /** Reads the answer's body and throws errorFrom. */
  fail(res: RawResponse, what: string): Promise<never>;
}

export const createTransport = (opts: TransportOptions): Transport => {
  const ca = opts.ca ?? (opts.caFile !== undefined ? readFileSync(opts.caFile, 'utf8') : undefined);
  const tlsVerify = opts.tlsVerify ?? true;
  const scheme = (opts.plainHttp ?? (ca === undefined && tlsVerify && isLoopback(opts.registry))) ? 'http' : 'https';
  const base = `${scheme}://${opts.registry}`;
  const host = new URL(base).host;
  const pinned = ca !== undefined ? `the pinned CA ${certFingerprint(ca, 'the registry CA')}` : undefined;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const retrier = createRetrier({ retries: opts.retries ?? 5, retryDelayMs: opts.retryDelayMs ?? 1000, ...(opts.onRetry ? { onRetry: opts.onRetry } : {}) });

  /** rawRequest with the registry's CA for its own host; a certificate that does not verify becomes a clear OciClientError. */
  const request = async (target: string, init: RawRequestInit): Promise<RawResponse> => {
    const u = new URL(target);
    const own = u.host === host;
    try {
      return await rawRequest(target, { ...init, tlsVerify, ...(own && ca !== undefined ? { ca } : {}) });
    } catch (err) {
      const why = untrustedCertificateReason(err, u.hostname, (own && pinned) || 'a CA this machine trusts');
      if (why) throw new OciClientError(`cannot trust the registry at ${u.origin}: ${why}`, undefined, { cause: err });
      if (u.protocol === 'https:' && answeredInPlainHttp(err)) {
        throw new OciClientError(`the registry at ${u.host} answered in plain HTTP, not HTTPS; if it serves plain HTTP, say so (reef push/pull --plain-http)`, undefined, { cause: err });
      }
      throw err;
    }
  };

  const url = (path: string) => (/^https?:\/\//.test(path) ? path : `${base}${path}`);

  const auth = createTokenAuth({
    registry: host,
    credentials: opts.credentials,
    get: (target, headers) => request(target, { method: 'GET', headers, timeoutMs }),
    retrying: (what, attempt) => retrier.run(what, attempt),
  });

  const send: Transport['send'] = async (target, init) => {
    const u = url(target);
    const own = new URL(u).host === host;
    for (let round = 0; ; round++) {
      const authorization = own ? await auth.headers(init.scopes) : {};
      const res = await request(u, {
        method: init.method,
        headers: { ...authorization, ...init.headers },
        ...(init.body !== undefined ? { body: init.body } : {}),
        timeoutMs: init.timeoutMs ?? timeoutMs,
        ...(init.signal ? { signal: init.signal } : {}),
      });
      if (res.status !== 401 || !own || round > 0) return res;
      let again: boolean;
      try {
        again = await auth.challenged(res.headers['www-authenticate'], init.scopes, authorization);
      } catch (err) {
        res.body.resume();
        throw err;
      }
      if (!again) return res;
      res.body.resume();
      if (init.body !== undefined && !Buffer.isBuffer(init.body)) {
        // A streamed body is gone: the caller's retry sends it again, with the fresh credentials.
        throw new OciClientError(`${init.method} ${new URL(u).pathname} at ${host}: HTTP 401, credentials renewed for the next attempt`, 401, { retryable: true });
      }
    }
  };

  const errorFrom: Transport['errorFrom'] = (status, headers, text, what) => {
    let detail = text.slice(0, 300);
    try {
      const e = JSON.parse(text).errors?.[0];
      if (e) detail = `${e.code}: ${e.message}`;
    } catch {
      // not JSON; keep the text
    }
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(headers['retry-after']) : undefined;
    const at = status === 401 || status === 403 ? ` at ${host}` : '';
    return new OciClientError(`${what}${at}: HTTP ${status} ${detail}`.trimEnd(), status, retryAfterMs !== undefined ? { retryAfterMs } : {});
  };

  return {
    registry: host,
    retrier,
    auth,
    url,
    send,
    errorFrom,
    async fail(res, what) {
      throw errorFrom(res.status, res.headers, (await readAll(res.body)).toString('utf8'), what);
    },
    async getFollowing(first, headers, scopes, signal) {
      let target = url(first);
      for (let hops = 0; ; hops++) {
        const init = { method: 'GET', headers, timeoutMs, ...(signal ? { signal } : {}) };
        const res = new URL(target).host === host ? await send(target, { ...init, scopes }) : await request(target, init);
        const location = res.headers.location;
        if (res.status < 300 || res.status >= 400 || res.status === 304 || !location || hops >= 5) return res;
        res.body.resume();
        target = new URL(String(location), target).toString();
      }
    },
  };
};
