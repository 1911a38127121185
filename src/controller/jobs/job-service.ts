import { formatDuration } from '../../core/durations.js';
import { DomainError, fieldError, notFound, unauthorized } from '../../core/errors.js';
import type { MachineService } from '../machines/machine-service.js';
import type { Recipe } from '../../recipes/recipe-normalize.js';
import { validateRecipe } from '../../recipes/validate-recipe.js';
import type { RecipeService } from '../recipes/recipe-service.js';
import { parseWith } from '../../core/validate.js';
import { JOB_ID, type JobTokens, newJobId, safeEqual } from './ids.js';
import type { Job, JobEvent, JobPatch, JobStore } from './job-model.js';
import { ACTIVE_STATUSES, type JobEventInput, jobCreateSchema, jobEventSchema, jobEventsQuerySchema, jobListQuerySchema, shoalWebhookSchema } from './job.schema.js';
import { eventView, jobView } from './job-view.js';

/** Where task ISOs go; the file-system adapter writes them atomically. */
export interface TaskMedia {
  write(jobId: string, iso: Uint8Array): Promise<void>;
  remove(jobId: string): Promise<void>;
}

export interface TaskIsoInput {
  job: Job;
  token: string;
  controllerUrl: string;
  /** PEM of the controller's site CA: the task ISO carries it as ca.crt, task.json its fingerprint. */
  caPem?: string;
}

export interface JobServiceDeps {
  store: JobStore;
  machines: MachineService;
  recipes: RecipeService;
  media: TaskMedia;
  buildTaskIso: (input: TaskIsoInput) => Uint8Array;
  /** The task ISO's files by name, for agents that fetch their task over HTTP. */
  taskFiles: (input: TaskIsoInput) => { name: string; data: Uint8Array }[];
  tokens: JobTokens;
  taskIsoUrl: (jobId: string) => string;
  publicUrl: string;
  webhookSecret: string | undefined;
  /** Events one job keeps (REEF_JOB_MAX_EVENTS). Past it, progress reports still update the job but add no event; a final status always does. */
  maxEventsPerJob: number;
  now: () => number;
  /** The controller's site CA (PEM), asked for each task built: it may be made after start. None: tasks carry no CA. */
  ca?: () => string | undefined;
}

/** `event_stored: false`: the job holds maxEventsPerJob events; the report moved the job on, its event was not kept. */
export type ReportOutcome = { ok: true; idempotent?: true; status: Job['status']; event_stored?: false };

/** The events a job view carries: the latest ones; the rest are at /api/v1/jobs/{id}/events. */
export const EVENTS_IN_VIEW = 100;

const isActive = (j: Job) => ACTIVE_STATUSES.includes(j.status);

export const createJobService = (deps: JobServiceDeps) => {
  const { store, now } = deps;
  const view = (j: Job) => jobView(j, deps.taskIsoUrl(j.id));
  /** What a task (ISO or fetched) is built from. */
  const taskInput = (job: Job, token: string): TaskIsoInput => {
    const caPem = deps.ca?.();
    return { job, token, controllerUrl: deps.publicUrl, ...(caPem ? { caPem } : {}) };
  };

  const mustGet = (id: string): Job => {
    const job = JOB_ID.test(id) ? store.get(id) : undefined;
    if (!job) throw notFound('job', id);
    return job;
  };

  const resolveRecipe = (body: { recipe?: unknown; recipe_name?: string | undefined }): { recipe: Recipe; name: string | null } => {
    if (body.recipe_name !== undefined) {
      const found = deps.recipes.find(body.recipe_name);
      if (!found) throw fieldError('recipe_name', `no recipe named ${JSON.stringify(body.recipe_name)}`, 'job');
      return { recipe: found.recipe, name: found.name };
    }
    return { recipe: validateRecipe(body.recipe, 'recipe').recipe, name: null };
  };

  /** Applies one report from the machine to the job; all reads and the write happen synchronously. */
  const apply = (job: Job, input: JobEventInput, source: JobEvent['source']): ReportOutcome => {
    if (input.delivery_id && store.hasDelivery(job.id, input.delivery_id)) {
      return { ok: true, idempotent: true, status: job.status };
    }
    if (!isActive(job)) {
      throw new DomainError('CONFLICT', `job ${job.id} is already ${job.status}; no further reports are taken`);
    }
    const t = now();
    const patch: JobPatch = { updatedAt: t };
    if (job.status === 'queued') {
      patch.status = 'provisioning';
      patch.startedAt = t;
    }
    if (input.step) patch.step = input.step;
    if (input.bytes_done !== undefined) patch.bytesDone = input.bytes_done;
    if (input.bytes_total !== undefined) patch.bytesTotal = input.bytes_total;
    let message = input.message ?? '';
    let level = input.level;
    if (input.status) {
      patch.status = input.status;
      patch.finishedAt = t;
      if (input.status === 'failed') {
        patch.failedStep = input.failed_step ?? input.step ?? job.step;
        patch.reason = input.reason ?? null;
        level = 'error';
        message ||= `failed at ${patch.failedStep ?? 'an unknown step'}${input.reason ? `: ${input.reason}` : ''}`;
      } else {
        message ||= 'provisioning succeeded';
      }
    }
    // Bounded: an agent cannot grow one job without end; the final report is always kept.
    const keep = input.status !== undefined || store.eventCount(job.id) < deps.maxEventsPerJob;
    store.record(
      job.id,
      keep ? {
        time: t,
        level,
        step: input.step ?? input.failed_step ?? null,
        message: message || (input.step ? `step ${input.step}` : 'progress'),
        bytesDone: input.bytes_done ?? null,
        bytesTotal: input.bytes_total ?? null,
        deliveryId: input.delivery_id ?? null,
        source,
      } : null,
      patch,
    );
    return keep ? { ok: true, status: patch.status ?? job.status } : { ok: true, status: patch.status ?? job.status, event_stored: false };
  };

  return {
    async create(body: unknown) {
      const input = parseWith(jobCreateSchema, body, 'job');
      const resolved = resolveRecipe(input);
      // The job may say what the machine does after the install, whatever its recipe says.
      const recipe = input.after ? { ...resolved.recipe, after: input.after } : resolved.recipe;
      const { name } = resolved;
      let serial = input.server_serial;
      if (!serial && input.mac) {
        const machine = deps.machines.lookup({ mac: input.mac });
        if (!machine) throw fieldError('mac', `no machine has MAC ${input.mac}; give server_serial to register it`, 'job');
        serial = machine.serial;
      }
      const t = now();
      const job: Job = {
        id: newJobId(t),
        serial: serial!,
        recipeName: name,
        recipe,
        status: 'queued',
        step: null,
        bytesDone: null,
        bytesTotal: null,
        failedStep: null,
        reason: null,
        createdAt: t,
        updatedAt: t,
        startedAt: null,
        finishedAt: null,
        mediaRemovedAt: null,
      };
      const active = store.findActive(job.serial);
      if (active) throw activeConflict(job.serial, active.id);
      const iso = deps.buildTaskIso(taskInput(job, deps.tokens.issue(job.id)));
      // The ISO is in place before the job row commits, so a committed job always has its ISO.
      await deps.media.write(job.id, iso);
      try {
        store.create(job, { serial: job.serial, macs: input.mac ? [input.mac] : [] }, {
          time: t,
          level: 'info',
          step: null,
          message: `job queued for ${job.serial} (${recipe.task_target}${name ? `, recipe ${name}` : ''})`,
          bytesDone: null,
          bytesTotal: null,
          deliveryId: null,
          source: 'controller',
        });
      } catch (err) {
        await deps.media.remove(job.id).catch(() => {});
        throw err;
      }
      return view(job);
    },

    get(id: string) {
      const job = mustGet(id);
      return { ...view(job), events_total: store.eventCount(job.id), events: store.lastEvents(job.id, EVENTS_IN_VIEW).map(eventView) };
    },

    /** A page of the job's events, oldest first; next_cursor is null on the last page. */
    events(id: string, query: Record<string, string>) {
      const job = mustGet(id);
      const q = parseWith(jobEventsQuerySchema, query, 'query');
      const items = store.events(job.id, { after: q.cursor, limit: q.limit + 1 });
      const page = items.slice(0, q.limit);
      return { items: page.map(eventView), next_cursor: items.length > q.limit ? String(page[page.length - 1]!.id) : null };
    },

    list(query: Record<string, string>) {
      const q = parseWith(jobListQuerySchema, query, 'query');
      const items = store.list({ status: q.status, serial: q.serial, limit: q.limit + 1, before: q.cursor });
      const page = items.slice(0, q.limit);
      return { items: page.map(view), next_cursor: items.length > q.limit ? page[page.length - 1]!.id : null };
    },

    cancel(id: string) {
      const job = mustGet(id);
      if (!isActive(job)) throw new DomainError('CONFLICT', `job ${id} is already ${job.status}`);
      const t = now();
      store.record(
        id,
        { time: t, level: 'warn', step: null, message: 'canceled by operator', bytesDone: null, bytesTotal: null, deliveryId: null, source: 'operator' },
        { status: 'canceled', finishedAt: t, updatedAt: t },
      );
      return view(store.get(id)!);
    },

    /** Checks the job's bearer token (404 for an unknown job, 401 for a wrong token). */
    authenticate(id: string, bearer: string | undefined): Job {
      const job = mustGet(id);
      if (!deps.tokens.verify(id, bearer)) throw unauthorized(`missing or wrong bearer token for job ${id}`);
      return job;
    },

    /** The task ISO's files as text, for an agent booted with reef.job= and reef.token= on its command line. */
    task(id: string, bearer: string | undefined) {
      const job = this.authenticate(id, bearer);
      const files: Record<string, string> = {};
      for (const f of deps.taskFiles(taskInput(job, bearer!))) files[f.name] = Buffer.from(f.data).toString('utf8');
      return { job_id: job.id, status: job.status, files };
    },

    /** Fails active jobs that have had no report for `timeoutMs` (REEF_JOB_TIMEOUT), with that reason. */
    expireSilent(timeoutMs: number): string[] {
      const t = now();
      const stale = store.staleActive(t - timeoutMs);
      for (const job of stale) {
        const reason = `no report from the machine for ${formatDuration(timeoutMs)} (REEF_JOB_TIMEOUT); last step ${job.step ?? 'none'}`;
        store.record(
          job.id,
          { time: t, level: 'error', step: job.step, message: `timed out: ${reason}`, bytesDone: null, bytesTotal: null, deliveryId: null, source: 'controller' },
          { status: 'failed', failedStep: job.step ?? 'timeout', reason, finishedAt: t, updatedAt: t },
        );
      }
      return stale.map((j) => j.id);
    },

    /** The maintenance OS callback, authenticated by the job's bearer token. */
    report(id: string, bearer: string | undefined, body: unknown): ReportOutcome {
      const job = this.authenticate(id, bearer);
      return apply(job, parseWith(jobEventSchema, body, 'event'), 'agent');
    },

    /** Shoal's POST /api/v1/status-webhook/{serial}, authenticated by X-Webhook-Secret. */
    webhook(serial: string, secret: string | undefined, body: unknown): ReportOutcome {
      const job = store.findActive(serial);
      const byShared = !!deps.webhookSecret && !!secret && safeEqual(secret, deps.webhookSecret);
      const byToken = !!job && deps.tokens.verify(job.id, secret);
      if (!byShared && !byToken) throw unauthorized('missing or wrong X-Webhook-Secret');
      const input = parseWith(shoalWebhookSchema, body, 'webhook');
      if (!job) throw notFound('active job for machine', serial);
      const failed = input.status === 'failed';
      return apply(
        job,
        {
          level: failed ? 'error' : 'info',
          status: failed ? 'failed' : 'succeeded',
          delivery_id: input.delivery_id,
          failed_step: failed ? (input.failed_step ?? 'unknown') : undefined,
          step: failed ? input.failed_step : 'webhook-success',
          message: failed
            ? `webhook reported failure at step ${input.failed_step ?? 'unknown'}`
            : `webhook reported success${input.task_target ? ` (${input.task_target})` : ''}`,
        },
        'webhook',
      );
    },

    countByStatus: () => store.countByStatus(),
  };
};

export const activeConflict = (serial: string, jobId: string) =>
  new DomainError('CONFLICT', `machine ${serial} already has an active job ${jobId}; cancel it or wait for it to finish`, [
    { path: 'server_serial', message: `active job ${jobId}` },
  ]);

export type JobService = ReturnType<typeof createJobService>;
