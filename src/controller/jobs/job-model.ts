import type { Recipe } from '../../recipes/recipe-normalize.js';
import type { JobStatus } from './job.schema.js';

export interface Job {
  id: string;
  serial: string;
  recipeName: string | null;
  recipe: Recipe;
  status: JobStatus;
  step: string | null;
  bytesDone: number | null;
  bytesTotal: number | null;
  failedStep: string | null;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  mediaRemovedAt: number | null;
}

export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

export interface JobEvent {
  time: number;
  level: EventLevel;
  step: string | null;
  message: string;
  bytesDone: number | null;
  bytesTotal: number | null;
  deliveryId: string | null;
  source: 'agent' | 'controller' | 'webhook' | 'operator';
}

/** An event as stored: with the id that orders a job's timeline and pages it. */
export interface StoredJobEvent extends JobEvent {
  id: number;
}

export type JobPatch = Partial<Pick<Job, 'status' | 'step' | 'bytesDone' | 'bytesTotal' | 'failedStep' | 'reason' | 'startedAt' | 'finishedAt' | 'updatedAt'>>;

export interface JobFilter {
  status?: JobStatus;
  serial?: string;
  limit: number;
  /** Only jobs whose id sorts before this one (newest first). */
  before?: string;
}

/** Persistence for jobs and their events; the SQLite adapter implements it with transactions. */
export interface JobStore {
  /** Registers the machine when unknown, then inserts the job; throws CONFLICT when the machine has an active job. */
  create(job: Job, machine: { serial: string; macs: string[] }, event: JobEvent): void;
  get(id: string): Job | undefined;
  list(filter: JobFilter): Job[];
  /** The job's events in order, after event id `after` (exclusive), at most `limit`. */
  events(id: string, page: { after?: number; limit: number }): StoredJobEvent[];
  /** The job's last `n` events, in order. */
  lastEvents(id: string, n: number): StoredJobEvent[];
  eventCount(id: string): number;
  findActive(serial: string): Job | undefined;
  /** Active jobs last updated before `before`. */
  staleActive(before: number): Job[];
  hasDelivery(jobId: string, deliveryId: string): boolean;
  /** Appends the event (unless null) and applies the patch in one transaction. */
  record(jobId: string, event: JobEvent | null, patch: JobPatch): void;
  countByStatus(): Record<JobStatus, number>;
  /** Finished jobs whose media is still on disk and that finished before `before`. */
  mediaExpired(before: number): string[];
  markMediaRemoved(ids: string[], now: number): void;
  exists(id: string): boolean;
}
