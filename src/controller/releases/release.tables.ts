import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { Artifact, VerifyReport } from '../../releases/release.js';

/** Releases by tag (`4.21.0-x86_64`), FastRegistry's fields. Times are integer milliseconds. */
export const releases = sqliteTable(
  'releases',
  {
    tag: text('tag').primaryKey(),
    version: text('version').notNull(),
    architecture: text('architecture').notNull(),
    state: text('state', { enum: ['available', 'cloning', 'cloned', 'extracting', 'ready', 'failed'] }).notNull(),
    upstreamDigest: text('upstream_digest'),
    discoveredAt: integer('discovered_at').notNull(),
    clonedAt: integer('cloned_at'),
    verifiedAt: integer('verified_at'),
    size: integer('size'),
    error: text('error'),
    artifacts: text('artifacts', { mode: 'json' }).$type<Artifact[]>().notNull(),
    verify: text('verify', { mode: 'json' }).$type<VerifyReport>(),
  },
  (t) => [index('releases_state').on(t.state)],
);

/** The last progress of a release's clone (kept after it ends, so status shows how it went). */
export const releaseProgress = sqliteTable('release_progress', {
  tag: text('tag')
    .primaryKey()
    .references(() => releases.tag, { onDelete: 'cascade' }),
  phase: text('phase').notNull(),
  totalBlobs: integer('total_blobs').notNull(),
  syncedBlobs: integer('synced_blobs').notNull(),
  totalBytes: integer('total_bytes').notNull(),
  syncedBytes: integer('synced_bytes').notNull(),
  totalComponents: integer('total_components').notNull(),
  mirroredComponents: integer('mirrored_components').notNull(),
  currentComponent: text('current_component').notNull(),
});

/** The timeline: discovery runs, clones, failures, downloads. */
export const releaseEvents = sqliteTable(
  'release_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    time: integer('time').notNull(),
    type: text('type').notNull(),
    severity: text('severity').notNull(),
    version: text('version').notNull(),
    details: text('details', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index('release_events_time').on(t.time), index('release_events_version').on(t.version)],
);

/** One record per transfer of a /files download (a Range GET included). */
export const releaseDownloads = sqliteTable(
  'release_downloads',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    time: integer('time').notNull(),
    version: text('version').notNull(),
    artifact: text('artifact').notNull(),
    clientIp: text('client_ip').notNull(),
    userAgent: text('user_agent').notNull(),
    size: integer('size').notNull(),
    durationMs: integer('duration_ms').notNull(),
    status: integer('status').notNull(),
    range: text('range'),
  },
  (t) => [index('release_downloads_time').on(t.time), index('release_downloads_version').on(t.version)],
);
