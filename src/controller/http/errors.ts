import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { RegistryError } from '../../registry/core/errors.js';
import { DomainError } from '../errors.js';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from './env.js';
import { STATUS_OF } from './status.js';

interface ErrorBody {
  error: { code: string; message: string; details: { path: string; message: string }[] };
  request_id: string;
}

const body = (c: Context<AppEnv>, code: string, message: string, details: ErrorBody['error']['details'] = []): ErrorBody => ({
  error: { code, message, details },
  request_id: c.get('requestId') ?? '',
});

/** onError for the controller surfaces: every error leaves as JSON, never a stack trace. */
export const apiErrorHandler = (err: Error, c: Context<AppEnv>): Response => {
  if (err instanceof DomainError) {
    const status = STATUS_OF[err.code];
    if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="reef"');
    return c.json(body(c, err.code, err.message, err.details), status);
  }
  if (err instanceof RegistryError) {
    // Registry auth guarding an admin endpoint: same status, reef's envelope.
    if (err.code === 'UNAUTHORIZED') c.header('WWW-Authenticate', 'Basic realm="reef"');
    return c.json(body(c, err.code, err.message), err.status as ContentfulStatusCode);
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    return c.json(body(c, status === 401 ? 'UNAUTHORIZED' : 'HTTP_ERROR', err.message || 'request failed'), status);
  }
  c.get('log')?.error({ err }, 'unhandled error');
  return c.json(body(c, 'INTERNAL', 'internal error; see the server log with this request_id'), 500);
};

export const apiNotFound = (c: Context<AppEnv>): Response =>
  c.json(body(c, 'NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`), 404);
