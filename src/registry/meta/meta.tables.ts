import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** The embedded OCI registry's metadata (DESIGN §3). Blob bytes live on disk, addressed by digest. Times are integer milliseconds since the epoch. */
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
