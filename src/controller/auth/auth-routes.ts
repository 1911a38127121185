import { Hono } from 'hono';
import { readDocument } from '../../http/body.js';
import type { AppEnv } from '../../http/env.js';
import type { AuditLog } from './audit.js';
import type { TokenRecord, TokenService } from './token-service.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
export const tokenView = (t: TokenRecord) => ({ name: t.name, role: t.role, created_at: iso(t.createdAt), expires_at: iso(t.expiresAt), last_used_at: iso(t.lastUsedAt) });

/** /api/v1/tokens (admins): list, create (the token is in this answer and nowhere else, ever), revoke. */
export const createTokenRoutes = (tokens: TokenService, maxBody: number) =>
  new Hono<AppEnv>()
    .get('/', (c) => c.json({ items: tokens.list().map(tokenView) }))
    .post('/', async (c) => {
      const { token, record } = tokens.create(await readDocument(c, maxBody));
      c.header('Location', `/api/v1/tokens/${encodeURIComponent(record.name)}`);
      c.header('Cache-Control', 'no-store');
      return c.json({ ...tokenView(record), token }, 201);
    })
    .delete('/:name', (c) => {
      tokens.revoke(c.req.param('name'));
      return c.body(null, 204);
    });

/** /api/v1/audit (admins): newest first; ?actor=, ?since=, ?before=<id>, ?limit=. */
export const createAuditRoutes = (audit: AuditLog) => new Hono<AppEnv>().get('/', (c) => c.json(audit.list(c.req.query())));
