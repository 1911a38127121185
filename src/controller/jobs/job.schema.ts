import { z } from 'zod';
import { macSchema, serialSchema } from '../machines/machine.schema.js';
import { AFTER_INSTALL, recipeNameSchema } from '../../recipes/recipe.schema.js';

export const JOB_STATUSES = ['queued', 'provisioning', 'succeeded', 'failed', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const ACTIVE_STATUSES: readonly JobStatus[] = ['queued', 'provisioning'];
export const EVENT_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export const jobCreateSchema = z
  .strictObject({
    server_serial: serialSchema.optional(),
    mac: macSchema.optional(),
    recipe: z.unknown().optional(),
    recipe_name: recipeNameSchema.optional(),
    /** Overrides the recipe's `after` for this job. */
    after: z.enum(AFTER_INSTALL).optional(),
  })
  .superRefine((v, ctx) => {
    if (!v.server_serial && !v.mac) ctx.addIssue({ code: 'custom', path: ['server_serial'], message: 'give server_serial or mac' });
    if ((v.recipe === undefined) === (v.recipe_name === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['recipe'], message: 'give exactly one of recipe (inline) or recipe_name' });
    }
  });

const count = z.number().int('must be an integer').min(0, 'must not be negative').max(Number.MAX_SAFE_INTEGER);

export const jobEventSchema = z
  .strictObject({
    delivery_id: z.string().min(1).max(128).optional(),
    step: z.string().min(1).max(128).optional(),
    level: z.enum(EVENT_LEVELS).default('info'),
    message: z.string().max(16 * 1024).optional(),
    bytes_done: count.optional(),
    bytes_total: count.optional(),
    status: z.enum(['succeeded', 'failed']).optional(),
    failed_step: z.string().min(1).max(128).optional(),
    reason: z.string().max(16 * 1024).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.status === 'failed' && !v.failed_step && !v.reason) {
      ctx.addIssue({ code: 'custom', path: ['failed_step'], message: 'a failed status needs failed_step or reason' });
    }
    if (v.status !== 'failed' && (v.failed_step || v.reason)) {
      ctx.addIssue({ code: 'custom', path: [v.failed_step ? 'failed_step' : 'reason'], message: 'only with status "failed"' });
    }
    if (!v.status && !v.step && !v.message && v.bytes_done === undefined) {
      ctx.addIssue({ code: 'custom', path: ['message'], message: 'an event needs a step, message, progress or final status' });
    }
    if (v.bytes_done !== undefined && v.bytes_total !== undefined && v.bytes_done > v.bytes_total) {
      ctx.addIssue({ code: 'custom', path: ['bytes_done'], message: 'bytes_done exceeds bytes_total' });
    }
  });
export type JobEventInput = z.output<typeof jobEventSchema>;

/** Shoal's dispatcher webhook body (docs/provisioner/webhook_contract.md). */
export const shoalWebhookSchema = z.strictObject({
  status: z.enum(['success', 'failed']),
  delivery_id: z.string().min(1).max(128).optional(),
  failed_step: z.string().min(1).max(128).optional(),
  task_target: z.string().max(128).optional(),
  started_at: z.string().max(64).optional(),
  finished_at: z.string().max(64).optional(),
  dispatcher_version: z.string().max(64).optional(),
  schema_id: z.string().max(64).optional(),
});

export const jobListQuerySchema = z.strictObject({
  status: z.enum(JOB_STATUSES).optional(),
  serial: serialSchema.optional(),
  limit: z
    .string()
    .regex(/^\d+$/, 'limit must be a whole number')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 500, 'limit must be between 1 and 500')
    .default(50),
  cursor: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'cursor must be a next_cursor value from a previous page').optional(),
});
export type JobListQuery = z.output<typeof jobListQuerySchema>;

/** GET /api/v1/jobs/{id}/events: oldest first, `cursor` = the last event_id already read. */
export const jobEventsQuerySchema = z.strictObject({
  limit: z
    .string()
    .regex(/^\d+$/, 'limit must be a whole number')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 1000, 'limit must be between 1 and 1000')
    .default(200),
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, 'cursor must be a next_cursor value from a previous page')
    .transform(Number)
    .optional(),
});
