import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { Logger } from 'pino';
import { DomainError, fieldError, forbidden, unauthorized } from '../../core/errors.js';
import type { AppEnv } from '../../http/env.js';
import { STATUS_OF } from '../../http/status.js';
import { createFailureLimiter, type FailureLimiter } from '../../lib/failure-limiter.js';
import { type AuditLog, auditObject } from './audit.js';
import { type Principal, type Role, roleAllows } from './roles.js';
import { createRuleLookup, type RouteRule } from './route-rules.js';
import type { TokenService } from './token-service.js';
import { CSRF_FIELD, CSRF_HEADER, sessionCookieOptions, UI_COOKIE, type UiSession, type UiSessions } from './ui-session.js';

export type ApiAuthMode = 'token' | 'local' | 'none';

export interface AccessDeps {
  mode: ApiAuthMode;
  tokens: TokenService;
  audit: AuditLog;
  log: Logger;
  now: () => number;
  /** REEF_METRICS_AUTH: whether /metrics needs a viewer token. */
  metricsNeedToken: boolean;
  /** Failed token checks one address may make per minute before it is answered 429 (REEF_AUTH_FAILURES). */
  failuresPerMinute: number;
  /** The web UI's sessions: /ui routes are signed in by cookie, not by bearer token. */
  ui?: UiSessions;
  /** Failed token checks per address, shared with the web UI's sign-in form (else the gate's own). */
  failures?: FailureLimiter;
  /** The largest web UI form body (REEF_MAX_BODY): read whole, so bounded before it is read. */
  maxFormBytes?: number;
}

export const isLoopback = (address: string | undefined): boolean =>
  !!address && (address === '::1' || /^127\./.test(address) || /^::ffff:127\./i.test(address));

export const sourceAddress = (c: Context<AppEnv>): string => c.env?.incoming?.socket?.remoteAddress ?? 'unknown';

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Registry writes worth an audit line: a manifest put or deleted, a blob deleted (not every upload chunk). */
const registryChange = (method: string, path: string) => (method === 'PUT' && /\/manifests\/[^/]+$/.test(path)) || (method === 'DELETE' && /\/(manifests|blobs)\/[^/]+$/.test(path));

/**
 * A request a browser sent because some page asked it to (a link, an <img>, a form posted from
 * another site or another port of this host): Sec-Fetch-Site says so, or an Origin that is not
 * this host. Local mode trusts loopback, not every web page a browser on the controller opens.
 */
const madeByAnotherPage = (c: Context<AppEnv>): boolean => {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = c.req.header('origin');
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== c.req.header('host');
  } catch {
    return true; // "null" (a sandboxed frame, a file:// page) or garbage
  }
};

const bearerOf = (header: string | undefined): string | undefined => /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];

/**
 * The one gate in front of every route: finds the route's rule in the route table, demands and
 * checks a token where the rule names a role, refuses what the boot listener must not serve,
 * limits failed token checks per address, and writes every change to the audit log.
 * Tokens never reach a log line, an error message or the audit: only their names do.
 */
export const createAccessGate = (d: AccessDeps): MiddlewareHandler<AppEnv> => {
  const lookup = createRuleLookup();
  const failures = d.failures ?? createFailureLimiter({ max: d.failuresPerMinute, windowMs: 60_000 });

  const needed = (rule: RouteRule): Role | undefined => {
    if (rule === 'viewer' || rule === 'operator' || rule === 'admin') return rule;
    if (rule === 'metrics' && d.metricsNeedToken) return 'viewer';
    return undefined;
  };

  /** Who a request is without a token: everyone under REEF_API_AUTH=none, loopback under local; else nobody. */
  const implicitPrincipal = (source: string): Principal | undefined =>
    d.mode === 'none' ? { name: 'anonymous', role: 'admin', via: 'none' } : d.mode === 'local' && isLoopback(source) ? { name: 'local', role: 'admin', via: 'local' } : undefined;

  const authenticate = (c: Context<AppEnv>, need: Role, source: string, change: boolean): Principal => {
    const token = bearerOf(c.req.header('authorization'));
    const implicit = implicitPrincipal(source);
    let principal: Principal;
    if (token !== undefined) {
      // A good token always passes; only wrong ones are counted and, past the limit, answered 429
      // (so a burst of wrong tokens from a shared address, a proxy say, locks nobody out).
      const check = d.tokens.verify(token);
      if (!check.ok) {
        const wait = failures.retryAfter(source);
        if (wait > 0) throw new DomainError('TOO_MANY_REQUESTS', `too many failed token checks from ${source}; retry in ${wait} s`, [], { retryAfter: wait });
        failures.fail(source);
        d.log.warn({ source, method: c.req.method, path: c.req.path, problem: check.problem }, 'API token refused');
        throw unauthorized(check.problem === 'expired' ? 'the API token has expired' : 'the API token is not valid');
      }
      principal = check.principal;
    } else if (implicit) {
      if (implicit.via === 'local' && change && madeByAnotherPage(c)) {
        d.log.warn({ source, method: c.req.method, path: c.req.path, origin: c.req.header('origin'), site: c.req.header('sec-fetch-site') }, 'a change another web page asked a local browser to make was refused');
        throw unauthorized(`${c.req.method} ${c.req.path} came from a web page (Origin/Sec-Fetch-Site), not straight from this machine: REEF_API_AUTH=local trusts loopback clients such as curl and reef's CLI, not pages a browser opens; send an API token`);
      }
      principal = implicit;
    } else {
      throw unauthorized(`${c.req.method} ${c.req.path} needs an API token (Authorization: Bearer <token>; make one with: reef token create --name NAME --role ${need})`);
    }
    c.set('principal', { name: principal.name, role: principal.role });
    if (!roleAllows(principal.role, need)) throw forbidden(`token ${JSON.stringify(principal.name)} has the role ${principal.role}; ${c.req.method} ${c.req.path} needs ${need}`);
    return principal;
  };

  /** The CSRF token a UI change sends: the X-CSRF-Token header (htmx) or the form's _csrf field. */
  const presentedCsrf = async (c: Context<AppEnv>): Promise<string | undefined> => {
    const header = c.req.header(CSRF_HEADER);
    if (header) return header;
    const type = c.req.header('content-type') ?? '';
    if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) return undefined;
    // Hono keeps the parsed form, so the route reads it again for free.
    const form = await c.req.parseBody();
    const value = form[CSRF_FIELD];
    return typeof value === 'string' ? value : undefined;
  };

  /**
   * A /ui route: the session cookie names the token (re-checked against the store at each
   * request); loopback under REEF_API_AUTH=local, and everyone under none, need no sign-in. Every
   * change must carry the session's CSRF token: SameSite=Strict alone does not stop a page on
   * the controller's own host, and local mode trusts that host.
   */
  const uiAuthenticate = async (c: Context<AppEnv>, rule: RouteRule, source: string) => {
    const ui = d.ui!;
    let session: UiSession | undefined = ui.read(getCookie(c, UI_COOKIE));
    if (!session) {
      const cookie = ui.visitor();
      session = ui.read(cookie)!;
      setCookie(c, UI_COOKIE, cookie, sessionCookieOptions(c.req.url, ui.ttlMs));
    }
    c.set('uiCsrf', session.csrf);
    const need = needed(rule);
    const principal: Principal | undefined = session.principal ?? implicitPrincipal(source);
    // Set before the CSRF check, so a refused forgery is audited under the session it rode on.
    if (principal) c.set('principal', { name: principal.name, role: principal.role });
    const change = c.req.method !== 'GET' && c.req.method !== 'HEAD';
    if (change) {
      // Forms are read whole (here for the CSRF field, then by the route): bounded by their declared length.
      const length = Number(c.req.header('content-length'));
      if (!Number.isSafeInteger(length)) throw fieldError('Content-Length', 'a web UI form must say its length');
      const limit = d.maxFormBytes ?? 1024 * 1024;
      if (length > limit) throw new DomainError('PAYLOAD_TOO_LARGE', `body: larger than the ${limit}-byte limit`, [{ path: 'body', message: `larger than ${limit} bytes` }]);
    }
    if (change && !ui.csrfMatches(session, await presentedCsrf(c))) {
      d.log.warn({ source, method: c.req.method, path: c.req.path }, 'web UI change refused: missing or wrong CSRF token');
      throw forbidden('this form is stale or was not sent by reef\'s own page (missing or wrong CSRF token); reload the page and try again');
    }
    if (!need) return;
    if (!principal) throw unauthorized(`sign in to see ${c.req.path}`);
    if (!roleAllows(principal.role, need)) throw forbidden(`${JSON.stringify(principal.name)} has the role ${principal.role}; this needs ${need}`);
  };

  return async (c, next) => {
    const decl = lookup(c.req.method, c.req.path);
    // First of all: the plain-HTTP boot listener serves boot paths and nothing else (the web UI neither).
    if (c.env?.listener === 'boot' && !decl?.boot) {
      throw new DomainError('NOT_FOUND', `this plain-HTTP listener serves only boot scripts and media; use the TLS listener for ${c.req.path}`);
    }
    if (decl?.ui && d.ui) {
      const source = sourceAddress(c);
      const audited = CHANGES.has(c.req.method) && needed(decl.rule) !== undefined;
      try {
        await uiAuthenticate(c, decl.rule, source);
      } catch (err) {
        if (audited && err instanceof DomainError) record(c, decl.rule, source, STATUS_OF[err.code]);
        throw err;
      }
      await next();
      if (audited) record(c, decl.rule, source, c.get('sentStatus') ?? c.res.status);
      return;
    }
    const rule: RouteRule = decl?.rule ?? 'admin';
    const source = sourceAddress(c);
    const need = needed(rule);
    const change = CHANGES.has(c.req.method) || decl?.change === true;
    const audited = change && (need !== undefined || (rule === 'registry' && registryChange(c.req.method, c.req.path)));
    if (!audited) {
      if (need) authenticate(c, need, source, false);
      return next();
    }
    try {
      if (need) authenticate(c, need, source, true);
    } catch (err) {
      // Known but not allowed (403) is recorded; unknown (401, 429) is a failed login, logged above.
      if (err instanceof DomainError) record(c, rule, source, STATUS_OF[err.code]);
      throw err;
    }
    await next();
    record(c, rule, source, c.get('sentStatus') ?? c.res.status);
  };

  function record(c: Context<AppEnv>, rule: RouteRule, source: string, status: number) {
    // REGISTRY_AUTH_MODE=none names nobody, and its pushes are the ones most worth a trace.
    const who = c.get('principal') ?? (rule === 'registry' ? { name: 'anonymous' } : undefined);
    // A request refused before anyone was identified is a failed login, logged above, not a change.
    if (!who) return;
    const entry = {
      at: d.now(),
      requestId: c.get('requestId') ?? '',
      method: c.req.method,
      path: c.req.path,
      actor: who.name,
      role: who.role ?? null,
      source,
      status,
      object: auditObject(c.req.path, c.res.headers.get('location') ?? undefined),
    };
    d.log.info({ audit: entry }, 'audit');
    try {
      d.audit.append(entry);
    } catch (err) {
      d.log.error({ err: (err as Error).message, audit: entry }, 'audit entry not stored in the database');
    }
  }
};
