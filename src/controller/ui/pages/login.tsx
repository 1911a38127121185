import { Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../../../http/env.js';
import { DomainError } from '../../../core/errors.js';
import { sourceAddress } from '../../auth/access.js';
import { sessionCookieOptions, UI_COOKIE } from '../../auth/ui-session.js';
import { renderPage } from '../layout.js';
import { Csrf, FieldErrors } from '../parts.js';
import type { UiDeps } from '../ui-deps.js';

/** Only paths under /ui are followed after sign-in (never another site). */
const safeNext = (next: unknown): string => (typeof next === 'string' && /^\/ui(\/[A-Za-z0-9/_.?=&%-]*)?$/.test(next) && !next.startsWith('//') ? next : '/ui');

const LoginForm = (p: { csrf: string; next: string; error?: string }) => (
  <form method="post" action="/ui/login">
    <Csrf token={p.csrf} />
    <input type="hidden" name="next" value={p.next} />
    <label for="token">API token</label>
    <input
      type="password"
      id="token"
      name="token"
      autocomplete="current-password"
      required
      size={60}
      aria-invalid={p.error ? 'true' : undefined}
      aria-describedby={p.error ? 'token-error' : 'token-help'}
    />
    <FieldErrors id="token" messages={p.error ? [p.error] : []} />
    <p class="muted" id="token-help">
      A token made with <code>reef token create --name NAME --role viewer|operator|admin</code>. The first admin token is in{' '}
      <code>&lt;data dir&gt;/admin.token</code>.
    </p>
    <button type="submit">Sign in</button>
  </form>
);

export const loginRoutes = (d: UiDeps) =>
  new Hono<AppEnv>()
    .get('/login', (c) => renderPage(c, d.assets, 'Sign in', <LoginForm csrf={c.get('uiCsrf') ?? ''} next={safeNext(c.req.query('next'))} />, { anonymous: true }))
    .post('/login', async (c) => {
      const form = await c.req.parseBody();
      const next = safeNext(form.next);
      const token = typeof form.token === 'string' ? form.token.trim() : '';
      const result = token ? d.sessions.login(token) : { ok: false as const, problem: 'unknown' as const };
      if (!result.ok) {
        // As for bearer tokens: a good token always passes; wrong ones are counted per address.
        const source = sourceAddress(c);
        const wait = d.failures.retryAfter(source);
        if (wait > 0) throw new DomainError('TOO_MANY_REQUESTS', `too many failed sign-ins from ${source}; try again in ${wait} s`, [], { retryAfter: wait });
        if (token) d.failures.fail(source);
        const error = !token ? 'token: enter an API token' : result.problem === 'expired' ? 'token: this token has expired' : 'token: this token is not valid';
        c.get('log')?.warn({ problem: token ? result.problem : 'empty' }, 'web UI sign-in refused');
        return renderPage(c, d.assets, 'Sign in', <LoginForm csrf={c.get('uiCsrf') ?? ''} next={next} error={error} />, { status: 401, anonymous: true });
      }
      setCookie(c, UI_COOKIE, result.cookie, sessionCookieOptions(c.req.url, d.sessions.ttlMs));
      return c.redirect(next, 303);
    })
    .post('/logout', (c) => {
      deleteCookie(c, UI_COOKIE, { path: '/ui' });
      return c.redirect('/ui/login', 303);
    });
