import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { apiErrorResponse, DISK_FULL_MESSAGE } from '../../http/errors.js';
import { isDiskFull } from '../../lib/atomic-file.js';
import type { AppEnv } from '../../http/env.js';
import { jsonAnswer } from '../../http/json-answer.js';
import { RegistryError } from '../core/errors.js';

const body = (code: string, message: string, detail: unknown) => ({ errors: [{ code, message, detail }] });

/** onError of /v2: the OCI error envelope, with the status from the descriptor table. */
export const registryErrorHandler = (err: Error, c: Context<AppEnv>): Response => {
  if (err instanceof RegistryError) {
    for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
    if (err.code === 'UNAUTHORIZED') c.header('WWW-Authenticate', 'Basic realm="reef"');
    return jsonAnswer(c, body(err.code, err.message, err.detail), err.status as ContentfulStatusCode);
  }
  if (isDiskFull(err)) {
    c.get('log')?.error({ err: (err as Error).message }, 'registry: no space left');
    return jsonAnswer(c, body('STORAGE_FULL', DISK_FULL_MESSAGE, null), 507);
  }
  c.get('log')?.error({ err }, 'registry: unhandled error');
  return jsonAnswer(c, body('UNKNOWN', 'internal error; see the server log', { request_id: c.get('requestId') }), 500);
};

/** For reef's JSON surfaces that host registry work (/admin, registry auth): same status, reef's envelope. */
export const registryErrorAsApiError = (err: Error, c: Context<AppEnv>): Response | undefined => {
  if (!(err instanceof RegistryError)) return undefined;
  if (err.code === 'UNAUTHORIZED') c.header('WWW-Authenticate', 'Basic realm="reef"');
  return apiErrorResponse(c, err.status as ContentfulStatusCode, err.code, err.message);
};
