import type { Job, StoredJobEvent } from './job-model.js';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export const eventView = (e: StoredJobEvent) => ({
  event_id: e.id,
  time: iso(e.time),
  level: e.level,
  step: e.step,
  message: e.message,
  bytes_done: e.bytesDone,
  bytes_total: e.bytesTotal,
  delivery_id: e.deliveryId,
  source: e.source,
});

export const jobView = (j: Job, taskIsoUrl: string) => ({
  job_id: j.id,
  status: j.status,
  server_serial: j.serial,
  recipe_name: j.recipeName,
  task_target: j.recipe.task_target,
  task_iso_url: taskIsoUrl,
  created_at: iso(j.createdAt),
  updated_at: iso(j.updatedAt),
  started_at: iso(j.startedAt),
  finished_at: iso(j.finishedAt),
  step: j.step,
  progress: j.bytesDone === null && j.bytesTotal === null ? null : { bytes_done: j.bytesDone, bytes_total: j.bytesTotal },
  failed_step: j.failedStep,
  reason: j.reason,
  media_removed_at: iso(j.mediaRemovedAt),
  recipe: j.recipe,
});
export type JobView = ReturnType<typeof jobView>;
