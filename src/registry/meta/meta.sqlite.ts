import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type Database from 'better-sqlite3';
import type { Db } from '../../db/client.js';
import { regBlobs, regManifestRefs, regManifests, regRepoBlobs, regTags, regUploads } from './meta.tables.js';
import { RegistryError } from '../core/errors.js';
import type { GcPlan, ManifestRow, RegistryMeta } from './meta.js';

const LIVE_MANIFESTS = `
WITH RECURSIVE live(repo, digest) AS (
  SELECT repo, digest FROM reg_tags
  UNION SELECT repo, digest FROM reg_manifests WHERE created_at > @cutoff
  UNION SELECT r.repo, r.child FROM reg_manifest_refs r JOIN live l ON r.repo = l.repo AND r.parent = l.digest WHERE r.kind = 'manifest'
  UNION SELECT m.repo, m.digest FROM reg_manifests m JOIN live l ON m.repo = l.repo AND m.subject = l.digest
)`;

/** A reg_manifests row as SQLite returns it (column names, annotations as JSON text). */
interface RawManifestRow {
  repo: string;
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  subject: string | null;
  annotations: string | null;
  created_at: number;
}

const fromRaw = (r: RawManifestRow): ManifestRow => ({
  repo: r.repo,
  digest: r.digest,
  mediaType: r.media_type,
  size: r.size,
  artifactType: r.artifact_type,
  subject: r.subject,
  annotations: r.annotations === null ? null : (JSON.parse(r.annotations) as Record<string, string>),
  createdAt: r.created_at,
});

export const createSqliteRegistryMeta = (db: Db, sqlite: Database.Database): RegistryMeta => {
  const gcQueries = {
    deadManifests: sqlite.prepare(`${LIVE_MANIFESTS}
      SELECT m.repo, m.digest FROM reg_manifests m WHERE NOT EXISTS (SELECT 1 FROM live l WHERE l.repo = m.repo AND l.digest = m.digest)`),
    deadBlobs: sqlite.prepare(`${LIVE_MANIFESTS},
      live_blobs(digest) AS (
        SELECT digest FROM live
        UNION SELECT r.child FROM reg_manifest_refs r JOIN live l ON r.repo = l.repo AND r.parent = l.digest WHERE r.kind = 'blob'
      )
      SELECT b.digest, b.size FROM reg_blobs b WHERE b.created_at <= @cutoff AND b.digest NOT IN (SELECT digest FROM live_blobs)`),
    staleLinks: sqlite.prepare(`${LIVE_MANIFESTS},
      live_links(repo, digest) AS (
        SELECT repo, digest FROM live
        UNION SELECT r.repo, r.child FROM reg_manifest_refs r JOIN live l ON r.repo = l.repo AND r.parent = l.digest WHERE r.kind = 'blob'
      )
      SELECT rb.repo, rb.digest FROM reg_repo_blobs rb JOIN reg_blobs b ON b.digest = rb.digest
      WHERE b.created_at <= @cutoff AND NOT EXISTS (SELECT 1 FROM live_links ll WHERE ll.repo = rb.repo AND ll.digest = rb.digest)`),
    repos: sqlite.prepare(`SELECT repo FROM reg_manifests UNION SELECT repo FROM reg_repo_blobs UNION SELECT repo FROM reg_uploads`),
    // Per-row deletes of a sweep, prepared once (drizzle built and prepared each of them: 1.6 s of a 100,000-blob GC).
    deleteRefs: sqlite.prepare<[string, string]>('DELETE FROM reg_manifest_refs WHERE repo = ? AND parent = ?'),
    deleteManifest: sqlite.prepare<[string, string]>('DELETE FROM reg_manifests WHERE repo = ? AND digest = ?'),
    deleteLink: sqlite.prepare<[string, string]>('DELETE FROM reg_repo_blobs WHERE repo = ? AND digest = ?'),
  };
  const repoCount = () => gcQueries.repos.all().length;
  // The lookups behind every manifest and blob GET/HEAD, prepared once: building the query
  // through drizzle and preparing it on each call was a third of reef's CPU under manifest GET load.
  const hot = {
    tag: sqlite.prepare<[string, string], string>('SELECT digest FROM reg_tags WHERE repo = ? AND tag = ?').pluck(),
    manifest: sqlite.prepare<[string, string], RawManifestRow>(
      'SELECT repo, digest, media_type, size, artifact_type, subject, annotations, created_at FROM reg_manifests WHERE repo = ? AND digest = ?',
    ),
    blob: sqlite.prepare<[string], { size: number }>('SELECT size FROM reg_blobs WHERE digest = ?'),
    repoHasBlob: sqlite.prepare<[string, string], number>('SELECT 1 FROM reg_repo_blobs WHERE repo = ? AND digest = ?').pluck(),
    allBlobs: sqlite.prepare<[], { digest: string; size: number }>('SELECT digest, size FROM reg_blobs ORDER BY digest'),
    knowsDigest: sqlite.prepare<[string, string], number>('SELECT 1 FROM reg_blobs WHERE digest = ? UNION ALL SELECT 1 FROM reg_manifests WHERE digest = ? LIMIT 1').pluck(),
  };

  const toRow = (r: typeof regManifests.$inferSelect): ManifestRow => r;

  return {
    blob: (digest) => hot.blob.get(digest),
    knowsDigest: (digest) => hot.knowsDigest.get(digest, digest) !== undefined,
    // A snapshot: iterating a statement would hold the connection while the scrub awaits its reads.
    allBlobs: () => hot.allBlobs.all(),
    repoHasBlob: (repo, digest) => hot.repoHasBlob.get(repo, digest) !== undefined,
    linkBlob: (repo, digest, size, now) =>
      db.transaction((tx) => {
        tx.insert(regBlobs).values({ digest, size, createdAt: now }).onConflictDoUpdate({ target: regBlobs.digest, set: { createdAt: now } }).run();
        tx.insert(regRepoBlobs).values({ repo, digest }).onConflictDoNothing().run();
      }),
    unlinkBlob: (repo, digest) => db.delete(regRepoBlobs).where(and(eq(regRepoBlobs.repo, repo), eq(regRepoBlobs.digest, digest))).run().changes > 0,
    putManifest: (m, parsed, tags) =>
      db.transaction((tx) => {
        // Checked inside the transaction that inserts: a GC sweep (also one transaction) either
        // ran before (the blob row is gone and this PUT fails) or runs after (the blob is marked).
        // (The prepared lookups run on the same connection, so inside this transaction.)
        // A blob counts only when this repository holds it (pushed or mounted here), as a pull of it
        // would need: otherwise whoever may push to one repository could read any other's blobs by
        // naming their digests in a manifest.
        const missingBlobs = parsed.blobs.filter((d) => !hot.blob.get(d) || hot.repoHasBlob.get(m.repo, d) === undefined);
        const missingChildren = parsed.manifests.filter((d) => !hot.manifest.get(m.repo, d));
        if (missingBlobs.length || missingChildren.length) {
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references unknown ${missingBlobs.length ? 'blobs' : 'manifests'}: ${[...missingBlobs, ...missingChildren].join(', ')}`, {
            detail: { blobs: missingBlobs, manifests: missingChildren },
          });
        }
        tx.insert(regBlobs).values({ digest: m.digest, size: m.size, createdAt: m.createdAt }).onConflictDoUpdate({ target: regBlobs.digest, set: { createdAt: m.createdAt } }).run();
        tx.insert(regRepoBlobs).values({ repo: m.repo, digest: m.digest }).onConflictDoNothing().run();
        tx.insert(regManifests).values(m).onConflictDoUpdate({ target: [regManifests.repo, regManifests.digest], set: { createdAt: m.createdAt } }).run();
        for (const child of parsed.blobs) {
          tx.insert(regManifestRefs).values({ repo: m.repo, parent: m.digest, child, kind: 'blob' }).onConflictDoNothing().run();
          tx.insert(regRepoBlobs).values({ repo: m.repo, digest: child }).onConflictDoNothing().run();
        }
        for (const child of parsed.manifests) {
          tx.insert(regManifestRefs).values({ repo: m.repo, parent: m.digest, child, kind: 'manifest' }).onConflictDoNothing().run();
        }
        for (const tag of tags) {
          tx.insert(regTags).values({ repo: m.repo, tag, digest: m.digest, updatedAt: m.createdAt })
            .onConflictDoUpdate({ target: [regTags.repo, regTags.tag], set: { digest: m.digest, updatedAt: m.createdAt } }).run();
        }
      }),
    manifest: (repo, digest) => {
      const r = hot.manifest.get(repo, digest);
      return r ? fromRaw(r) : undefined;
    },
    tag: (repo, tag) => hot.tag.get(repo, tag),
    deleteTag: (repo, tag) => db.delete(regTags).where(and(eq(regTags.repo, repo), eq(regTags.tag, tag))).run().changes > 0,
    deleteManifest: (repo, digest) =>
      db.transaction((tx) => {
        tx.delete(regTags).where(and(eq(regTags.repo, repo), eq(regTags.digest, digest))).run();
        tx.delete(regManifestRefs).where(and(eq(regManifestRefs.repo, repo), eq(regManifestRefs.parent, digest))).run();
        return tx.delete(regManifests).where(and(eq(regManifests.repo, repo), eq(regManifests.digest, digest))).run().changes > 0;
      }),
    repoExists: (repo) =>
      !!sqlite.prepare('SELECT 1 FROM reg_manifests WHERE repo = ? UNION SELECT 1 FROM reg_repo_blobs WHERE repo = ? UNION SELECT 1 FROM reg_tags WHERE repo = ? LIMIT 1').get(repo, repo, repo),
    tags: (repo, n, last) =>
      db.select({ tag: regTags.tag }).from(regTags)
        .where(and(eq(regTags.repo, repo), last !== undefined ? gt(regTags.tag, last) : undefined))
        .orderBy(asc(regTags.tag)).limit(n).all().map((r) => r.tag),
    referrers: (repo, subject) => db.select().from(regManifests).where(and(eq(regManifests.repo, repo), eq(regManifests.subject, subject))).orderBy(asc(regManifests.createdAt)).all().map(toRow),
    catalog: (n, last) =>
      (sqlite.prepare('SELECT repo FROM (SELECT repo FROM reg_manifests UNION SELECT repo FROM reg_repo_blobs) WHERE repo > ? ORDER BY repo LIMIT ?').all(last ?? '', n) as { repo: string }[]).map((r) => r.repo),
    createUpload: (id, repo, now) => void db.insert(regUploads).values({ id, repo, createdAt: now, updatedAt: now }).run(),
    upload: (id) => db.select().from(regUploads).where(eq(regUploads.id, id)).get(),
    touchUpload: (id, now) => void db.update(regUploads).set({ updatedAt: now }).where(eq(regUploads.id, id)).run(),
    deleteUpload: (id) => void db.delete(regUploads).where(eq(regUploads.id, id)).run(),
    taggedManifests: () =>
      db.select({ repo: regTags.repo, tag: regTags.tag, digest: regTags.digest, mediaType: regManifests.mediaType, size: regManifests.size })
        .from(regTags).innerJoin(regManifests, and(eq(regManifests.repo, regTags.repo), eq(regManifests.digest, regTags.digest)))
        .orderBy(asc(regTags.repo), asc(regTags.tag)).all(),
    collect: (now, graceMs, uploadExpiryMs, dryRun): GcPlan => {
      const run = () => {
        const cutoff = now - graceMs;
        const reposBefore = repoCount();
        const deadManifests = gcQueries.deadManifests.all({ cutoff }) as { repo: string; digest: string }[];
        if (!dryRun) {
          for (const m of deadManifests) {
            gcQueries.deleteRefs.run(m.repo, m.digest);
            gcQueries.deleteManifest.run(m.repo, m.digest);
          }
        }
        // With dead manifests gone (or, in a dry run, still present but unmarked), the blob query
        // sees exactly what the sweep removes.
        const blobs = gcQueries.deadBlobs.all({ cutoff }) as { digest: string; size: number }[];
        const uploads = db.select({ id: regUploads.id }).from(regUploads).where(sql`${regUploads.updatedAt} <= ${now - uploadExpiryMs}`).all().map((u) => u.id);
        if (!dryRun) {
          const digests = blobs.map((b) => b.digest);
          for (let i = 0; i < digests.length; i += 500) {
            const part = digests.slice(i, i + 500);
            db.delete(regRepoBlobs).where(inArray(regRepoBlobs.digest, part)).run();
            db.delete(regBlobs).where(inArray(regBlobs.digest, part)).run();
          }
          for (const l of gcQueries.staleLinks.all({ cutoff }) as { repo: string; digest: string }[]) gcQueries.deleteLink.run(l.repo, l.digest);
        }
        return { blobs, manifests: deadManifests.length, uploads, repositories: dryRun ? 0 : reposBefore - repoCount() };
      };
      return dryRun ? run() : db.transaction(() => run());
    },
    stats: () => {
      const r = sqlite.prepare('SELECT coalesce(sum(size), 0) AS bytes, count(*) AS count FROM reg_blobs').get() as { bytes: number; count: number };
      return r;
    },
  };
};
