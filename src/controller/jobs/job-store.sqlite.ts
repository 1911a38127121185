import { and, asc, desc, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { machineMacs, machines } from '../machines/machine.tables.js';
import { jobEvents, jobs } from './job.tables.js';
import { macInUse } from '../machines/machine-service.js';
import type { Recipe } from '../../recipes/recipe-normalize.js';
import type { Job, JobStore, StoredJobEvent } from './job-model.js';
import { ACTIVE_STATUSES, JOB_STATUSES, type JobStatus } from './job.schema.js';
import { activeConflict } from './job-service.js';

type JobRow = typeof jobs.$inferSelect;
const toJob = (r: JobRow): Job => ({ ...r, recipe: r.recipe as Recipe });
const FINISHED: JobStatus[] = ['succeeded', 'failed', 'canceled'];

const isActiveConflict = (err: unknown) =>
  err instanceof Error && /UNIQUE constraint failed: jobs\.serial/.test(err.message);

export const createSqliteJobStore = (db: Db): JobStore => ({
  create(job, machine, event) {
    try {
      db.transaction((tx) => {
        tx.insert(machines)
          .values({ serial: machine.serial, labels: {}, createdAt: job.createdAt, updatedAt: job.createdAt })
          .onConflictDoNothing()
          .run();
        for (const mac of machine.macs) {
          const owner = tx.select({ serial: machineMacs.serial }).from(machineMacs).where(eq(machineMacs.mac, mac)).get();
          if (owner && owner.serial !== machine.serial) throw macInUse(mac, owner.serial);
          if (!owner) tx.insert(machineMacs).values({ mac, serial: machine.serial }).run();
        }
        tx.insert(jobs).values(job).run();
        tx.insert(jobEvents).values({ ...event, jobId: job.id }).run();
      });
    } catch (err) {
      if (isActiveConflict(err)) {
        const active = db.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.serial, job.serial), inArray(jobs.status, [...ACTIVE_STATUSES]))).get();
        throw activeConflict(job.serial, active?.id ?? 'unknown');
      }
      throw err;
    }
  },
  get: (id) => {
    const row = db.select().from(jobs).where(eq(jobs.id, id)).get();
    return row ? toJob(row) : undefined;
  },
  exists: (id) => db.select({ id: jobs.id }).from(jobs).where(eq(jobs.id, id)).get() !== undefined,
  list: (f) => {
    const where = and(
      f.status ? eq(jobs.status, f.status) : undefined,
      f.serial ? eq(jobs.serial, f.serial) : undefined,
      f.before ? lt(jobs.id, f.before) : undefined,
    );
    return db.select().from(jobs).where(where).orderBy(desc(jobs.id)).limit(f.limit).all().map(toJob);
  },
  events: (id, page) =>
    db
      .select()
      .from(jobEvents)
      .where(and(eq(jobEvents.jobId, id), page.after !== undefined ? gt(jobEvents.id, page.after) : undefined))
      .orderBy(asc(jobEvents.id))
      .limit(page.limit)
      .all()
      .map(({ jobId: _job, ...e }) => e as StoredJobEvent),
  lastEvents: (id, n) =>
    db
      .select()
      .from(jobEvents)
      .where(eq(jobEvents.jobId, id))
      .orderBy(desc(jobEvents.id))
      .limit(n)
      .all()
      .reverse()
      .map(({ jobId: _job, ...e }) => e as StoredJobEvent),
  eventCount: (id) => db.select({ n: sql<number>`count(*)` }).from(jobEvents).where(eq(jobEvents.jobId, id)).get()!.n,
  findActive: (serial) => {
    const row = db.select().from(jobs).where(and(eq(jobs.serial, serial), inArray(jobs.status, [...ACTIVE_STATUSES]))).get();
    return row ? toJob(row) : undefined;
  },
  staleActive: (before) =>
    db
      .select()
      .from(jobs)
      .where(and(inArray(jobs.status, [...ACTIVE_STATUSES]), lt(jobs.updatedAt, before)))
      .all()
      .map(toJob),
  hasDelivery: (jobId, deliveryId) =>
    db.select({ id: jobEvents.id }).from(jobEvents).where(and(eq(jobEvents.jobId, jobId), eq(jobEvents.deliveryId, deliveryId))).get() !== undefined,
  record: (jobId, event, patch) =>
    db.transaction((tx) => {
      if (event) tx.insert(jobEvents).values({ ...event, jobId }).run();
      tx.update(jobs).set(patch).where(eq(jobs.id, jobId)).run();
    }),
  countByStatus: () => {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (const r of db.select({ status: jobs.status, n: sql<number>`count(*)` }).from(jobs).groupBy(jobs.status).all()) {
      counts[r.status] = r.n;
    }
    return counts;
  },
  mediaExpired: (before) =>
    db
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(inArray(jobs.status, FINISHED), isNull(jobs.mediaRemovedAt), lt(jobs.finishedAt, before)))
      .all()
      .map((r) => r.id),
  markMediaRemoved: (ids, now) => {
    if (ids.length > 0) db.update(jobs).set({ mediaRemovedAt: now }).where(inArray(jobs.id, ids)).run();
  },
});
