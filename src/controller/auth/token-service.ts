import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { conflict, notFound } from '../../core/errors.js';
import { parseDuration } from '../../core/durations.js';
import { parseWith } from '../../core/validate.js';
import { type Principal, ROLES, type Role } from './roles.js';

export interface TokenRecord {
  name: string;
  role: Role;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
}

export interface TokenStore {
  insert(rec: TokenRecord & { hash: string }): boolean;
  list(): TokenRecord[];
  byHash(hash: string): (TokenRecord & { hash: string }) | undefined;
  byName(name: string): (TokenRecord & { hash: string }) | undefined;
  delete(name: string): boolean;
  touch(name: string, at: number): void;
}

const TOKEN_PREFIX = 'reef_';
/** Last-use times are written at most this often per token, not at every request. */
const TOUCH_EVERY_MS = 60_000;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export const tokenRequestSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, dots, dashes or underscores, starting with a letter or digit'),
  role: z.enum(ROLES),
  expires: z
    .string()
    .refine((t) => (parseDuration(t) ?? 0) > 0, 'must be a duration such as 12h, 30d or 90d')
    .optional(),
});
export type TokenRequest = z.input<typeof tokenRequestSchema>;

export type TokenCheck = { ok: true; principal: Principal } | { ok: false; problem: 'unknown' | 'expired' };

/**
 * API tokens: random, shown once, stored as SHA-256, compared in constant time. A token is
 * `reef_` and 43 base64url characters (256 random bits), so a stolen database gives nothing to
 * log in with, and the hash needs no salt or slow function: nobody can guess 256 bits.
 */
export const createTokenService = (deps: { store: TokenStore; now: () => number }) => {
  const { store, now } = deps;
  const view = (r: TokenRecord): TokenRecord => ({ name: r.name, role: r.role, createdAt: r.createdAt, expiresAt: r.expiresAt, lastUsedAt: r.lastUsedAt });

  const create = (input: unknown): { token: string; record: TokenRecord } => {
    const req = parseWith(tokenRequestSchema, input, 'token');
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const at = now();
    const record: TokenRecord = { name: req.name, role: req.role, createdAt: at, expiresAt: req.expires ? at + parseDuration(req.expires)! : null, lastUsedAt: null };
    if (!store.insert({ ...record, hash: sha256(token).toString('hex') })) throw conflict(`a token named ${JSON.stringify(req.name)} exists; revoke it first or choose another name`);
    return { token, record };
  };

  const accept = (row: TokenRecord & { hash: string }, presented: Buffer): TokenCheck => {
    // The row was found by this very hash (or by name); the comparison is still made in constant time.
    if (!timingSafeEqual(Buffer.from(row.hash, 'hex'), presented)) return { ok: false, problem: 'unknown' };
    const at = now();
    if (row.expiresAt !== null && row.expiresAt <= at) return { ok: false, problem: 'expired' };
    if (row.lastUsedAt === null || at - row.lastUsedAt >= TOUCH_EVERY_MS) store.touch(row.name, at);
    return { ok: true, principal: { name: row.name, role: row.role, via: 'token' } };
  };

  return {
    create,
    list: (): TokenRecord[] => store.list().map(view),
    revoke(name: string): void {
      if (!store.delete(name)) throw notFound('token', name);
    },
    /** A bearer token: looked up by its hash (any length, any bytes: hashing first makes the cost the same). */
    verify(token: string): TokenCheck {
      const presented = sha256(token);
      const row = store.byHash(presented.toString('hex'));
      return row ? accept(row, presented) : { ok: false, problem: 'unknown' };
    },
    /**
     * A web UI session (auth/ui-session.ts): the token named `name` must still be stored with this
     * hash and unexpired, so revoking (or replacing) the token ends every session made with it.
     */
    verifyStored(name: string, hashHex: string): TokenCheck {
      const row = store.byName(name);
      const presented = /^[0-9a-f]{64}$/.test(hashHex) ? Buffer.from(hashHex, 'hex') : Buffer.alloc(32);
      if (!row) return { ok: false, problem: 'unknown' };
      return accept(row, presented);
    },
    /** The stored hash of a token (what a UI session carries instead of the token itself). */
    hashOf: (token: string): string => sha256(token).toString('hex'),
    /** A registry login: user name = token name, password = token. */
    verifyNamed(name: string, token: string): TokenCheck {
      const presented = sha256(token);
      const row = store.byName(name);
      if (!row) {
        timingSafeEqual(presented, presented);
        return { ok: false, problem: 'unknown' };
      }
      return accept(row, presented);
    },
    hasRole: (role: Role): boolean => store.list().some((t) => t.role === role && (t.expiresAt === null || t.expiresAt > now())),
  };
};
export type TokenService = ReturnType<typeof createTokenService>;
