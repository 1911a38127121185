import type { MiddlewareHandler } from 'hono';
import type { RegistryConfig } from '../config.js';
import type { AppEnv } from '../../http/env.js';
import { RegistryError } from '../core/errors.js';
import { createCredentialCheck, CredentialsUnavailable } from './credentials.js';
import { createFailureLimiter } from './failure-limiter.js';

const parseBasic = (header: string | undefined): { user: string; pass: string } | undefined => {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { user: text.slice(0, colon), pass: text.slice(colon + 1) };
};

/**
 * /v2 authentication: none, basic (one user from settings) or htpasswd (bcrypt). Optional
 * anonymous pull (GET/HEAD) with authenticated push and delete. A burst of wrong credentials
 * from one address is answered 429 with Retry-After before any password is checked.
 * Credentials are never logged.
 */
export const registryAuth = (auth: RegistryConfig['auth']): MiddlewareHandler<AppEnv> => {
  if (auth.mode === 'none') return async (_c, next) => next();
  const check = createCredentialCheck(auth);
  // Per user from an address, so one misconfigured agent behind a site's NAT or a reverse proxy
  // does not lock out the others; and per address, looser, so guessing across names is slowed too.
  const perUser = createFailureLimiter({ max: 10, windowMs: 60_000 });
  const perAddress = createFailureLimiter({ max: 100, windowMs: 60_000 });
  return async (c, next) => {
    const reading = c.req.method === 'GET' || c.req.method === 'HEAD';
    const creds = parseBasic(c.req.header('authorization'));
    if (!creds) {
      if (reading && auth.anonymousPull) return next();
      throw new RegistryError('UNAUTHORIZED', 'authentication required');
    }
    const address = c.env?.incoming?.socket?.remoteAddress ?? 'unknown';
    let ok: boolean;
    try {
      // A credential verified lately passes at once, whatever others from the same address did.
      if (check.cached(creds.user, creds.pass)) return next();
    } catch (err) {
      if (!(err instanceof CredentialsUnavailable)) throw err;
    }
    const userKey = `${address}\0${creds.user}`;
    const wait = Math.max(perUser.retryAfter(userKey), perAddress.retryAfter(address));
    if (wait > 0) {
      throw new RegistryError('TOOMANYREQUESTS', `too many failed logins from this address; retry in ${wait} s`, { headers: { 'Retry-After': String(wait) } });
    }
    try {
      ok = await check(creds.user, creds.pass);
    } catch (err) {
      if (!(err instanceof CredentialsUnavailable)) throw err;
      c.get('log')?.error({ err: err.message }, 'registry auth: htpasswd file unreadable; every login is refused');
      throw new RegistryError('UNAVAILABLE', 'registry logins are unavailable: the server cannot read its password file; see the server log');
    }
    if (ok) return next();
    perUser.fail(userKey);
    perAddress.fail(address);
    throw new RegistryError('UNAUTHORIZED', 'wrong user name or password');
  };
};
