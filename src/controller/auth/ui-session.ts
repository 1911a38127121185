import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Principal } from './roles.js';
import type { TokenService } from './token-service.js';

/** The web UI's session cookie: HttpOnly, SameSite=Strict, path /ui. */
export const UI_COOKIE = 'reef_ui';
/** Where a form carries its CSRF token; htmx requests send it as the X-CSRF-Token header. */
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** How the session cookie is set: HttpOnly, SameSite=Strict, only for /ui, Secure over TLS. */
export const sessionCookieOptions = (requestUrl: string, ttlMs: number) =>
  ({ path: '/ui', httpOnly: true, sameSite: 'Strict', secure: new URL(requestUrl).protocol === 'https:', maxAge: Math.floor(ttlMs / 1000) }) as const;

/**
 * What the cookie holds, signed with the UI key: the token's name and stored hash (never the
 * token), a random nonce the CSRF token derives from, and an expiry. A cookie without a name is
 * a visitor's (the login page, or loopback under REEF_API_AUTH=local): it carries only the nonce.
 */
const payloadSchema = z.strictObject({
  n: z.string().max(64).optional(),
  h: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  s: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  e: z.number().int(),
});
type Payload = z.infer<typeof payloadSchema>;

export interface UiSession {
  /** Set when the cookie names a token that is still stored, with the same hash, unexpired. */
  principal?: Principal;
  /** The CSRF token every form and htmx request of this session must send back. */
  csrf: string;
}

export type UiLogin = { ok: true; cookie: string; principal: Principal } | { ok: false; problem: 'unknown' | 'expired' };

/**
 * Stateless UI sessions: nothing is stored server-side. Each request re-checks the token the
 * cookie names against the token store, so a revoked or expired token ends its sessions at once.
 */
export const createUiSessions = (d: { key: Buffer; tokens: TokenService; now: () => number; ttlMs: number }) => {
  const mac = (purpose: string, text: string) => createHmac('sha256', d.key).update(`${purpose}\n${text}`).digest();
  const sameMac = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

  const seal = (p: Payload): string => {
    const body = Buffer.from(JSON.stringify(p), 'utf8').toString('base64url');
    return `${body}.${mac('session', body).toString('base64url')}`;
  };

  const unseal = (cookie: string | undefined): Payload | undefined => {
    if (!cookie || cookie.length > 1024) return undefined;
    const [body, sig, extra] = cookie.split('.');
    if (!body || !sig || extra !== undefined) return undefined;
    if (!sameMac(Buffer.from(sig, 'base64url'), mac('session', body))) return undefined;
    try {
      const p = payloadSchema.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
      return p.e > d.now() ? p : undefined;
    } catch {
      return undefined;
    }
  };

  const csrfOf = (nonce: string) => mac('csrf', nonce).toString('base64url');
  const nonce = () => randomBytes(16).toString('base64url');
  const expiry = () => d.now() + d.ttlMs;

  return {
    ttlMs: d.ttlMs,
    /** A session for a token presented at the login form. */
    login(token: string): UiLogin {
      const check = d.tokens.verify(token);
      if (!check.ok) return check;
      const cookie = seal({ n: check.principal.name, h: d.tokens.hashOf(token), s: nonce(), e: expiry() });
      return { ok: true, cookie, principal: check.principal };
    },
    /** A visitor's cookie: no one signed in, a CSRF nonce for the login form (and for loopback under local). */
    visitor: (): string => seal({ s: nonce(), e: expiry() }),
    /** The session a cookie carries, or undefined when it is missing, forged or past its expiry. */
    read(cookie: string | undefined): UiSession | undefined {
      const p = unseal(cookie);
      if (!p) return undefined;
      const session: UiSession = { csrf: csrfOf(p.s) };
      if (p.n !== undefined && p.h !== undefined) {
        const check = d.tokens.verifyStored(p.n, p.h);
        if (check.ok) session.principal = check.principal;
      }
      return session;
    },
    /** Whether `presented` is this session's CSRF token (constant time). */
    csrfMatches(session: UiSession | undefined, presented: string | undefined): boolean {
      if (!session || !presented) return false;
      return sameMac(Buffer.from(presented, 'utf8'), Buffer.from(session.csrf, 'utf8'));
    },
  };
};
export type UiSessions = ReturnType<typeof createUiSessions>;
