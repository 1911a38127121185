import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { apiErrorResponse, DISK_FULL_MESSAGE } from '../../http/errors.js';
import { isDiskFull } from '../../lib/atomic-file.js';
import type { AppEnv } from '../../http/env.js';
import { RegistryError } from '../core/errors.js';

/**
 * A JSON answer with its Content-Length said outright. A HEAD answer carries no body, so the
 * server cannot count one: without the header, Node's HTTP client (reef's own, in every mirror
 * and clone) does not reuse the connection, and a fresh one per `HEAD blob` → 404 cost a TCP
 * connection for every blob pushed.
 */
export const jsonAnswer = (c: Context<AppEnv>, value: unknown, status: ContentfulStatusCode, headers: Record<string, string> = {}): Response => {
  const text = JSON.stringify(value);
  return c.body(text, status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
};

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
