import { and, desc, eq, gte, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import type { ReleaseArchitecture } from '../../releases/release-config.js';
import type { ReleaseStore } from '../../releases/release-store.js';
import type { ClonePhase, Release, ReleaseEventType, Severity } from '../../releases/release.js';
import { releaseDownloads, releaseEvents, releaseProgress, releases } from './release.tables.js';

type Row = typeof releases.$inferSelect;
const toRelease = (r: Row): Release => ({ ...r, architecture: r.architecture as ReleaseArchitecture, artifacts: r.artifacts ?? [], verify: r.verify ?? null });

export const createSqliteReleaseStore = (db: Db): ReleaseStore => ({
  list: (state) =>
    db
      .select()
      .from(releases)
      .where(state ? eq(releases.state, state) : undefined)
      .all()
      .map(toRelease),
  get: (tag) => {
    const row = db.select().from(releases).where(eq(releases.tag, tag)).get();
    return row ? toRelease(row) : undefined;
  },
  addAvailable: (r) =>
    db
      .insert(releases)
      .values({ ...r, state: 'available', artifacts: [] })
      .onConflictDoNothing()
      .run().changes === 1,
  update: (tag, patch) => {
    db.update(releases).set(patch).where(eq(releases.tag, tag)).run();
  },
  progress: (tag) => {
    const row = db.select().from(releaseProgress).where(eq(releaseProgress.tag, tag)).get();
    if (!row) return undefined;
    const { tag: _tag, ...p } = row;
    return { ...p, phase: p.phase as ClonePhase };
  },
  setProgress: (tag, p) => {
    if (!p) {
      db.delete(releaseProgress).where(eq(releaseProgress.tag, tag)).run();
      return;
    }
    db.insert(releaseProgress).values({ tag, ...p }).onConflictDoUpdate({ target: releaseProgress.tag, set: p }).run();
  },
  addEvent: (e) => {
    const row = db.insert(releaseEvents).values(e).returning().get();
    return { ...row, type: row.type as ReleaseEventType, severity: row.severity as Severity };
  },
  events: (f) =>
    db
      .select()
      .from(releaseEvents)
      .where(
        and(
          f.type ? eq(releaseEvents.type, f.type) : undefined,
          f.severity ? eq(releaseEvents.severity, f.severity) : undefined,
          f.version ? eq(releaseEvents.version, f.version) : undefined,
          f.since !== undefined ? gte(releaseEvents.time, f.since) : undefined,
        ),
      )
      .orderBy(desc(releaseEvents.id))
      .limit(f.limit)
      .all()
      .map((row) => ({ ...row, type: row.type as ReleaseEventType, severity: row.severity as Severity })),
  addDownload: (d) => {
    db.insert(releaseDownloads).values(d).run();
  },
  downloads: (f) =>
    db
      .select()
      .from(releaseDownloads)
      .where(f.version ? eq(releaseDownloads.version, f.version) : undefined)
      .orderBy(desc(releaseDownloads.id))
      .limit(f.limit)
      .all()
      .map(({ id: _id, ...d }) => d),
  downloadTotals: () => {
    const downloads = sql<number>`count(*)`.mapWith(Number);
    const bytes = sql<number>`coalesce(sum(${releaseDownloads.size}), 0)`.mapWith(Number);
    return {
      by_version: db.select({ version: releaseDownloads.version, downloads, bytes }).from(releaseDownloads).groupBy(releaseDownloads.version).orderBy(releaseDownloads.version).all(),
      by_artifact: db
        .select({ version: releaseDownloads.version, artifact: releaseDownloads.artifact, downloads, bytes })
        .from(releaseDownloads)
        .groupBy(releaseDownloads.version, releaseDownloads.artifact)
        .orderBy(releaseDownloads.version, releaseDownloads.artifact)
        .all(),
    };
  },
});
