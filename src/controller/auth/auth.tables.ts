import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * API tokens. Only the SHA-256 of a token is stored; the token itself is shown once, when it is
 * made. Times are integer milliseconds since the epoch.
 */
export const apiTokens = sqliteTable('api_tokens', {
  name: text('name').primaryKey(),
  role: text('role', { enum: ['viewer', 'operator', 'admin'] }).notNull(),
  /** Lowercase hex SHA-256 of the whole token. */
  hash: text('hash').notNull().unique(),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at'),
  lastUsedAt: integer('last_used_at'),
});

/** Every change made through the API or the registry: who, from where, what, and how it ended. */
export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    requestId: text('request_id').notNull(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    /** The token's name, `local` (loopback under REEF_API_AUTH=local), or `anonymous`. */
    actor: text('actor').notNull(),
    role: text('role'),
    source: text('source').notNull(),
    status: integer('status').notNull(),
    /** What was changed, e.g. `job:J-…`, `recipe:ubuntu`, `manifest:tools/x@sha256:…`. */
    object: text('object'),
  },
  (t) => [index('audit_events_at').on(t.at), index('audit_events_actor').on(t.actor)],
);
