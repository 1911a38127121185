import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { machines } from '../machines/machine.tables.js';

/** Jobs and their event timelines. Times are integer milliseconds since the epoch. */
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
