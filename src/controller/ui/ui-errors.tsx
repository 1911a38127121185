import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DomainError } from '../../core/errors.js';
import type { AppEnv } from '../../http/env.js';
import { STATUS_OF } from '../../http/status.js';
import { isDiskFull } from '../../lib/atomic-file.js';
import { RegistryError } from '../../registry/core/errors.js';
import type { UiAssets } from './assets.js';
import { renderPage } from './layout.js';


/**
 * The web UI's one error mapping: pages, not JSON. Signed-out page views go to the sign-in form
 * (and come back); every other error is a page that says what went wrong, never a stack trace.
 */
export const createUiErrorHandler = (assets: UiAssets) => async (err: Error, c: Context<AppEnv>): Promise<Response> => {
  let status: ContentfulStatusCode = 500;
  let message = 'internal error; see the server log with this request id';
  if (err instanceof DomainError) {
    status = STATUS_OF[err.code];
    message = err.message;
    if (err.retryAfter !== undefined) c.header('Retry-After', String(err.retryAfter));
  } else if (err instanceof RegistryError) {
    status = err.status as ContentfulStatusCode;
    message = err.message;
  } else if (isDiskFull(err)) {
    status = 507;
    message = 'no space left under the data directory; nothing was changed';
  } else {
    c.get('log')?.error({ err }, 'unhandled error in the web UI');
  }
  if (status === 401 && (c.req.method === 'GET' || c.req.method === 'HEAD') && !c.req.header('hx-request')) {
    return c.redirect(`/ui/login?${new URLSearchParams({ next: c.req.path })}`, 303);
  }
  const title = status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : status === 401 ? 'Sign in needed' : status === 429 ? 'Too many tries' : status >= 500 ? 'Something went wrong' : 'That did not work';
  return renderPage(
    c,
    assets,
    title,
    <>
      <p role="alert">{message}</p>
      <p class="muted">Request id: {c.get('requestId') ?? '—'}</p>
      <p>
        <a href="/ui">Back to the overview</a>
      </p>
    </>,
    { status, anonymous: status === 401 },
  );
};
