import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DomainError } from '../core/errors.js';
import { isDiskFull } from '../lib/atomic-file.js';
import type { AppEnv } from './env.js';
import { jsonAnswer } from './json-answer.js';
import { STATUS_OF } from './status.js';

export interface ErrorBody {
  error: { code: string; message: string; details: { path: string; message: string }[] };
  request_id: string;
}

/** An error in reef's JSON envelope (`{"error":{code,message,details},"request_id"}`). */
export const apiErrorResponse = (
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  details: ErrorBody['error']['details'] = [],
): Response => jsonAnswer(c, { error: { code, message, details }, request_id: c.get('requestId') ?? '' } satisfies ErrorBody, status);

/** What an operator can do about a full disk, with reef's own API. */
export const DISK_FULL_MESSAGE = 'no space left under the data directory; nothing was changed. Free space: delete tags (DELETE /v2/<repo>/manifests/<tag>) and run POST /admin/gc, or remove finished jobs\' media';

/** Maps the errors of one area into reef's envelope, or returns undefined to leave them to the next. */
export type ApiErrorMapper = (err: Error, c: Context<AppEnv>) => Response | undefined;

/**
 * onError for reef's JSON surfaces (/api/v1, /media, /boot, admin): every error leaves as JSON,
 * never a stack trace. Domain errors map through the one status table; `mappers` add the error
 * types of areas the surface hosts (the registry's, for example), tried first.
 */
export const createApiErrorHandler =
  (...mappers: ApiErrorMapper[]) =>
  (err: Error, c: Context<AppEnv>): Response => {
    for (const map of mappers) {
      const res = map(err, c);
      if (res) return res;
    }
    if (err instanceof DomainError) {
      const status = STATUS_OF[err.code];
      if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="reef"');
      if (err.retryAfter !== undefined) c.header('Retry-After', String(err.retryAfter));
      return apiErrorResponse(c, status, err.code, err.message, err.details);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      return apiErrorResponse(c, status, status === 401 ? 'UNAUTHORIZED' : 'HTTP_ERROR', err.message || 'request failed');
    }
    if (isDiskFull(err)) {
      c.get('log')?.error({ err: (err as Error).message }, 'no space left under the data directory');
      return apiErrorResponse(c, 507, 'STORAGE_FULL', DISK_FULL_MESSAGE);
    }
    c.get('log')?.error({ err }, 'unhandled error');
    return apiErrorResponse(c, 500, 'INTERNAL', 'internal error; see the server log with this request_id');
  };

export const apiNotFound = (c: Context<AppEnv>): Response => apiErrorResponse(c, 404, 'NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`);
