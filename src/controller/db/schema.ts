import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Times are integer milliseconds since the epoch; JSON columns hold normalised documents. */
export const machines = sqliteTable('machines', {
  serial: text('serial').primaryKey(),
  labels: text('labels', { mode: 'json' }).$type<Record<string, string>>().notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const machineMacs = sqliteTable(
  'machine_macs',
  {
    mac: text('mac').primaryKey(),
    serial: text('serial')
      .notNull()
      .references(() => machines.serial, { onDelete: 'cascade' }),
  },
  (t) => [index('machine_macs_serial').on(t.serial)],
);

export const recipes = sqliteTable('recipes', {
  name: text('name').primaryKey(),
  /** The recipe as posted (parsed JSON or YAML), returned to users as they wrote it. */
  source: text('source', { mode: 'json' }).notNull(),
  /** The normalised recipe jobs are built from. */
  recipe: text('recipe', { mode: 'json' }).notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const jobs = sqliteTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    serial: text('serial')
      .notNull()
      .references(() => machines.serial),
    recipeName: text('recipe_name'),
    recipe: text('recipe', { mode: 'json' }).notNull(),
    status: text('status', { enum: ['queued', 'provisioning', 'succeeded', 'failed', 'canceled'] }).notNull(),
    step: text('step'),
    bytesDone: integer('bytes_done'),
    bytesTotal: integer('bytes_total'),
    failedStep: text('failed_step'),
    reason: text('reason'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    startedAt: integer('started_at'),
    finishedAt: integer('finished_at'),
    mediaRemovedAt: integer('media_removed_at'),
  },
  (t) => [
    // At most one active job per machine, enforced by the database itself.
    uniqueIndex('jobs_one_active_per_machine')
      .on(t.serial)
      .where(sql`status in ('queued', 'provisioning')`),
    index('jobs_status_id').on(t.status, t.id),
    index('jobs_serial_id').on(t.serial, t.id),
  ],
);

export const jobEvents = sqliteTable(
  'job_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    jobId: text('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    time: integer('time').notNull(),
    level: text('level', { enum: ['debug', 'info', 'warn', 'error'] }).notNull(),
    step: text('step'),
    message: text('message').notNull(),
    bytesDone: integer('bytes_done'),
    bytesTotal: integer('bytes_total'),
    deliveryId: text('delivery_id'),
    source: text('source').notNull(),
  },
  (t) => [index('job_events_job').on(t.jobId, t.id), uniqueIndex('job_events_delivery').on(t.jobId, t.deliveryId)],
);

// ---- Embedded OCI registry metadata (DESIGN §3). Blob bytes live on disk, addressed by digest.

export const regBlobs = sqliteTable('reg_blobs', {
  digest: text('digest').primaryKey(),
  size: integer('size').notNull(),
  createdAt: integer('created_at').notNull(),
});

export const regRepoBlobs = sqliteTable(
  'reg_repo_blobs',
  {
    repo: text('repo').notNull(),
    digest: text('digest').notNull(),
  },
  (t) => [uniqueIndex('reg_repo_blobs_pk').on(t.repo, t.digest), index('reg_repo_blobs_digest').on(t.digest)],
);

export const regManifests = sqliteTable(
  'reg_manifests',
  {
    repo: text('repo').notNull(),
    digest: text('digest').notNull(),
    mediaType: text('media_type').notNull(),
    size: integer('size').notNull(),
    artifactType: text('artifact_type'),
    subject: text('subject'),
    annotations: text('annotations', { mode: 'json' }).$type<Record<string, string> | null>(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('reg_manifests_pk').on(t.repo, t.digest), index('reg_manifests_subject').on(t.repo, t.subject), index('reg_manifests_digest').on(t.digest)],
);

/** What a manifest needs: blobs (config, layers) and, for an index, child manifests. */
export const regManifestRefs = sqliteTable(
  'reg_manifest_refs',
  {
    repo: text('repo').notNull(),
    parent: text('parent').notNull(),
    child: text('child').notNull(),
    kind: text('kind', { enum: ['blob', 'manifest'] }).notNull(),
  },
  (t) => [uniqueIndex('reg_manifest_refs_pk').on(t.repo, t.parent, t.child, t.kind), index('reg_manifest_refs_child').on(t.child)],
);

export const regTags = sqliteTable(
  'reg_tags',
  {
    repo: text('repo').notNull(),
    tag: text('tag').notNull(),
    digest: text('digest').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('reg_tags_pk').on(t.repo, t.tag), index('reg_tags_digest').on(t.repo, t.digest)],
);

export const regUploads = sqliteTable('reg_uploads', {
  id: text('id').primaryKey(),
  repo: text('repo').notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
