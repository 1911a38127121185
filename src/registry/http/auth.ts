import type { MiddlewareHandler } from 'hono';
import type { RegistryConfig } from '../config.js';
import type { AppEnv } from '../../http/env.js';
import { RegistryError } from '../core/errors.js';
import { createCredentialCheck, CredentialsUnavailable } from './credentials.js';
import { createFailureLimiter } from '../../lib/failure-limiter.js';

const parseBasic = (header: string | undefined): { user: string; pass: string } | undefined => {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { user: text.slice(0, colon), pass: text.slice(colon + 1) };
};

/** Checks an API token used as a registry login (REGISTRY_AUTH_MODE=token); the server supplies it. */
export type RegistryTokenCheck = (name: string, token: string) => { role: 'viewer' | 'operator' | 'admin' } | undefined;

/** Decides one login: true, false, or a role for token logins. */
type Verify = (user: string, pass: string) => Promise<boolean | { role: string }>;
type Cached = (user: string, pass: string) => boolean | { role: string };

const loginChecks = (auth: Exclude<RegistryConfig['auth'], { mode: 'none' }>, verifyToken: RegistryTokenCheck | undefined): { verify: Verify; cached: Cached } => {
  if (auth.mode === 'token') {
    if (!verifyToken) throw new Error('REGISTRY_AUTH_MODE=token needs the API token store');
    // Tokens are SHA-256 compared, cheap: no cache needed, and a revoked token stops at once.
    const check = (user: string, pass: string) => verifyToken(user, pass) ?? false;
    return { verify: async (u, p) => check(u, p), cached: () => false };
  }
  const check = createCredentialCheck(auth);
  return { verify: check, cached: check.cached };
};

const WRITE_ROLES = new Set(['operator', 'admin']);

/**
 * /v2 authentication: none, basic (one user from settings), htpasswd (bcrypt) or token (reef's
 * API tokens, push and delete needing `operator`). Optional anonymous pull (GET/HEAD) with
 * authenticated push and delete. A burst of wrong credentials from one address is answered 429
 * with Retry-After before any password is checked. Credentials are never logged.
 */
export const registryAuth = (auth: RegistryConfig['auth'], opts: { verifyToken?: RegistryTokenCheck } = {}): MiddlewareHandler<AppEnv> => {
  if (auth.mode === 'none') return async (_c, next) => next();
  const check = loginChecks(auth, opts.verifyToken);
  // Per user from an address, so one misconfigured agent behind a site's NAT or a reverse proxy
  // does not lock out the others; and per address, looser, so guessing across names is slowed too.
  const perUser = createFailureLimiter({ max: 10, windowMs: 60_000 });
  const perAddress = createFailureLimiter({ max: 100, windowMs: 60_000 });
  return async (c, next) => {
    const reading = c.req.method === 'GET' || c.req.method === 'HEAD';
    const given = parseBasic(c.req.header('authorization'));
    // Clients that have no credentials answer a Basic challenge with an empty pair ("Basic Og==").
    const creds = given && (given.user !== '' || given.pass !== '') ? given : undefined;
    if (!creds) {
      // The version check (/v2/) always challenges: skopeo and podman send credentials only to a
      // registry that asked for them there, so an open /v2/ would make every push anonymous.
      if (reading && auth.anonymousPull && c.req.path !== '/v2' && c.req.path !== '/v2/') return next();
      throw new RegistryError('UNAUTHORIZED', 'authentication required');
    }
    const admit = (result: boolean | { role: string }) => {
      const role = typeof result === 'object' ? result.role : undefined;
      c.set('principal', { name: creds.user, ...(role ? { role } : {}) });
      if (role && !reading && !WRITE_ROLES.has(role)) throw new RegistryError('DENIED', `token ${JSON.stringify(creds.user)} has the role ${role}; push and delete need operator`);
      return next();
    };
    const address = c.env?.incoming?.socket?.remoteAddress ?? 'unknown';
    try {
      // A credential verified lately passes at once, whatever others from the same address did.
      const hit = check.cached(creds.user, creds.pass);
      if (hit) return admit(hit);
    } catch (err) {
      if (!(err instanceof CredentialsUnavailable)) throw err;
    }
    const userKey = `${address}\0${creds.user}`;
    const wait = Math.max(perUser.retryAfter(userKey), perAddress.retryAfter(address));
    if (wait > 0) {
      throw new RegistryError('TOOMANYREQUESTS', `too many failed logins from this address; retry in ${wait} s`, { headers: { 'Retry-After': String(wait) } });
    }
    let result: boolean | { role: string };
    try {
      result = await check.verify(creds.user, creds.pass);
    } catch (err) {
      if (!(err instanceof CredentialsUnavailable)) throw err;
      c.get('log')?.error({ err: err.message }, 'registry auth: htpasswd file unreadable; every login is refused');
      throw new RegistryError('UNAVAILABLE', 'registry logins are unavailable: the server cannot read its password file; see the server log');
    }
    if (result) return admit(result);
    perUser.fail(userKey);
    perAddress.fail(address);
    throw new RegistryError('UNAUTHORIZED', auth.mode === 'token' ? 'wrong token name or token' : 'wrong user name or password');
  };
};
