import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../../http/env.js';
import type { ErrorBody } from '../../http/errors.js';
import type { UiAssets } from './assets.js';
import { renderPage } from './layout.js';

/**
 * The web UI's errors as pages, not JSON. Which status and message an error gets is the API's one
 * mapping (`apiErrors`, the handler the JSON routes use); this only presents it: signed-out page
 * views go to the sign-in form (and come back), every other error is a page that says what went
 * wrong, never a stack trace.
 */
export const createUiErrorHandler = (assets: UiAssets, apiErrors: (err: Error, c: Context<AppEnv>) => Response) => async (err: Error, c: Context<AppEnv>): Promise<Response> => {
  const mapped = apiErrors(err, c);
  const status = mapped.status as ContentfulStatusCode;
  const message = ((await mapped.json()) as ErrorBody).error.message;
  const retryAfter = mapped.headers.get('retry-after');
  if (retryAfter) c.header('Retry-After', retryAfter);
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
