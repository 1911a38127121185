import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import type { MiddlewareHandler } from 'hono';
import type { RegistryConfig } from '../config.js';
import type { AppEnv } from '../../http/env.js';
import { RegistryError } from '../core/errors.js';

const sha = (s: string) => createHash('sha256').update(s).digest();
const same = (a: string, b: string) => timingSafeEqual(sha(a), sha(b));
const CACHE_MS = 5 * 60_000;

const parseBasic = (header: string | undefined): { user: string; pass: string } | undefined => {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { user: text.slice(0, colon), pass: text.slice(colon + 1) };
};

/** htpasswd entries (bcrypt, as `htpasswd -B` writes them), re-read when the file changes. */
const htpasswd = (file: string) => {
  let mtime = -1;
  let users = new Map<string, string>();
  return (): Map<string, string> => {
    const st = statSync(file);
    if (st.mtimeMs !== mtime) {
      users = new Map();
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) users.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
      }
      mtime = st.mtimeMs;
    }
    return users;
  };
};

/**
 * /v2 authentication: none, basic (one user from settings) or htpasswd (bcrypt). Optional
 * anonymous pull (GET/HEAD) with authenticated push and delete. bcrypt is slow on purpose, so a
 * verified credential is remembered (as a hash) for a few minutes. Credentials are never logged.
 */
export const registryAuth = (auth: RegistryConfig['auth']): MiddlewareHandler<AppEnv> => {
  if (auth.mode === 'none') return async (_c, next) => next();
  const verified = new Map<string, number>();
  const users = auth.mode === 'htpasswd' ? htpasswd(auth.file) : undefined;
  const check = async (user: string, pass: string): Promise<boolean> => {
    const key = sha(`${user}\0${pass}`).toString('hex');
    const until = verified.get(key);
    if (until && until > Date.now()) return true;
    let ok: boolean;
    if (auth.mode === 'basic') ok = same(user, auth.username) && same(pass, auth.password);
    else {
      const hash = users!().get(user);
      ok = !!hash && /^\$2[aby]\$/.test(hash) && (await bcrypt.compare(pass, hash.replace(/^\$2y\$/, '$2b$')));
    }
    if (ok) verified.set(key, Date.now() + CACHE_MS);
    return ok;
  };
  return async (c, next) => {
    const reading = c.req.method === 'GET' || c.req.method === 'HEAD';
    const creds = parseBasic(c.req.header('authorization'));
    if (creds && (await check(creds.user, creds.pass))) return next();
    if (!creds && reading && auth.anonymousPull) return next();
    throw new RegistryError('UNAUTHORIZED', creds ? 'wrong user name or password' : 'authentication required');
  };
};
