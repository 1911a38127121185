import { and, desc, eq, gte, lt, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../../db/client.js';
import { parseWith } from '../../core/validate.js';
import { auditEvents } from './auth.tables.js';

export type AuditEntry = Omit<typeof auditEvents.$inferInsert, 'id'>;
export type AuditRecord = typeof auditEvents.$inferSelect;

export const auditQuerySchema = z.strictObject({
  actor: z.string().min(1).optional(),
  /** ISO time or epoch milliseconds. */
  since: z
    .string()
    .refine((t) => !Number.isNaN(/^\d+$/.test(t) ? Number(t) : Date.parse(t)), 'must be an ISO 8601 time or epoch milliseconds')
    .optional(),
  /** Entries older than this id (paging backwards). */
  before: z.string().regex(/^\d+$/, 'must be an audit entry id').optional(),
  limit: z.string().regex(/^\d+$/, 'must be a number').optional(),
});

const auditView = (r: AuditRecord) => ({
  id: r.id,
  at: new Date(r.at).toISOString(),
  request_id: r.requestId,
  actor: r.actor,
  role: r.role,
  source: r.source,
  method: r.method,
  path: r.path,
  object: r.object,
  status: r.status,
});
export type AuditView = ReturnType<typeof auditView>;

/** The audit log in SQLite (and, by the caller, as JSON lines in the server log). */
export const createAuditLog = (db: Db) => ({
  append(entry: AuditEntry): void {
    db.insert(auditEvents).values(entry).run();
  },
  list(query: Record<string, string>): { items: AuditView[] } {
    const q = parseWith(auditQuerySchema, query, 'query');
    const where: SQL[] = [];
    if (q.actor) where.push(eq(auditEvents.actor, q.actor));
    if (q.since) where.push(gte(auditEvents.at, /^\d+$/.test(q.since) ? Number(q.since) : Date.parse(q.since)));
    if (q.before) where.push(lt(auditEvents.id, Number(q.before)));
    const limit = Math.min(1000, Math.max(1, Number(q.limit ?? 100)));
    const rows = db.select().from(auditEvents).where(and(...where)).orderBy(desc(auditEvents.id)).limit(limit).all();
    return { items: rows.map(auditView) };
  },
});
export type AuditLog = ReturnType<typeof createAuditLog>;

const decoded = (segment: string) => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/** What a change touched, from its path (and the Location of what it created): `recipe:ubuntu`, `manifest:tools/x@latest`. */
export const auditObject = (path: string, location: string | undefined): string | null => {
  const v2 = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
  if (v2) return `${v2[2] === 'manifests' ? 'manifest' : 'blob'}:${v2[1]}@${v2[3]}`;
  // The web UI's changes (/ui/recipes/x, /ui/jobs/<id>/cancel) name their objects as the API's do.
  const api = /^\/(?:api\/v1|ui)\/([a-z-]+)(?:\/([^/?]+))?(?:\/([^/?]+))?/.exec(location ?? path) ?? /^\/(?:api\/v1|ui)\/([a-z-]+)(?:\/([^/?]+))?/.exec(path);
  if (api) {
    const kind = api[1]!.replace(/s$/, '');
    return api[2] ? `${kind}:${decoded(api[2])}` : kind;
  }
  const admin = /^\/admin\/(.+)$/.exec(path);
  return admin ? `registry:${admin[1]}` : null;
};
