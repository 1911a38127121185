import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../../controller/http/env.js';
import { RegistryError } from '../core/errors.js';

const body = (code: string, message: string, detail: unknown) => ({ errors: [{ code, message, detail }] });

/** onError of /v2: the OCI error envelope, with the status from the descriptor table. */
export const registryErrorHandler = (err: Error, c: Context<AppEnv>): Response => {
  if (err instanceof RegistryError) {
    for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
    if (err.code === 'UNAUTHORIZED') c.header('WWW-Authenticate', 'Basic realm="reef"');
    return c.json(body(err.code, err.message, err.detail), err.status as ContentfulStatusCode);
  }
  c.get('log')?.error({ err }, 'registry: unhandled error');
  return c.json(body('UNKNOWN', 'internal error; see the server log', { request_id: c.get('requestId') }), 500);
};
