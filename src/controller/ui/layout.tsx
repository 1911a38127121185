import type { Child } from 'hono/jsx';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../../http/env.js';
import { roleAllows, type Role } from '../auth/roles.js';
import type { UiAssets } from './assets.js';
import { Csrf } from './parts.js';

/** Who is looking and what they may do: what a page offers follows from it. */
export interface Viewer {
  name: string;
  role: Role;
  csrf: string;
  /** Operators and admins change things; a viewer is offered no write control. */
  canWrite: boolean;
  isAdmin: boolean;
  /** Signed in with a token (offers "sign out"), not loopback under REEF_API_AUTH=local. */
  signedIn: boolean;
}

export const viewerOf = (c: Context<AppEnv>): Viewer => {
  const p = c.get('principal');
  const role = (p?.role ?? 'viewer') as Role;
  const name = p?.name ?? 'anonymous';
  return { name, role, csrf: c.get('uiCsrf') ?? '', canWrite: roleAllows(role, 'operator'), isAdmin: role === 'admin', signedIn: name !== 'local' && name !== 'anonymous' };
};

const NAV: [string, string, boolean?][] = [
  ['/ui', 'Overview'],
  ['/ui/jobs', 'Jobs'],
  ['/ui/machines', 'Machines'],
  ['/ui/recipes', 'Recipes'],
  ['/ui/registry', 'Registry'],
  ['/ui/releases', 'Releases'],
  ['/ui/mirror', 'Mirror runs'],
  ['/ui/isos', 'ISOs'],
  ['/ui/prestage', 'Pre-staging'],
  ['/ui/audit', 'Audit', true],
];

const current = (path: string, href: string) => (href === '/ui' ? path === '/ui' : path === href || path.startsWith(`${href}/`));

/** The content security policy of every page: nothing but reef's own scripts and styles. */
export const UI_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const Page = (p: { title: string; path: string; viewer: Viewer | undefined; assets: UiAssets; children: Child }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}' />
      <title>{`${p.title} · reef`}</title>
      <link rel="icon" href="data:," />
      <link rel="stylesheet" href={p.assets.url('ui.css')} />
      <script src={p.assets.url('htmx.min.js')} defer></script>
      <script src={p.assets.url('ui.js')} defer></script>
    </head>
    <body hx-headers={p.viewer ? JSON.stringify({ 'X-CSRF-Token': p.viewer.csrf }) : undefined}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/ui">
          reef
        </a>
        {p.viewer ? (
          <nav class="main" aria-label="Main">
            <ul>
              {NAV.filter(([, , admin]) => !admin || p.viewer!.isAdmin).map(([href, label]) => (
                <li>
                  <a href={href} aria-current={current(p.path, href) ? 'page' : undefined}>
                    {label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        {p.viewer ? (
          <div class="who">
            <span>
              {p.viewer.name} ({p.viewer.role})
            </span>
            {p.viewer.signedIn ? (
              <form method="post" action="/ui/logout" class="inline">
                <Csrf token={p.viewer.csrf} />
                <button type="submit">Sign out</button>
              </form>
            ) : null}
          </div>
        ) : null}
      </header>
      <main id="main" tabindex={-1}>
        <h1>{p.title}</h1>
        {p.children}
      </main>
    </body>
  </html>
);

/** Answers with a whole page (doctype, CSP and all). */
export const renderPage = async (c: Context<AppEnv>, assets: UiAssets, title: string, body: Child, opts: { status?: ContentfulStatusCode; anonymous?: boolean } = {}) => {
  const viewer = opts.anonymous ? undefined : viewerOf(c);
  const page = (
    <Page title={title} path={c.req.path} viewer={viewer} assets={assets}>
      {body}
    </Page>
  );
  c.header('Content-Security-Policy', UI_CSP);
  c.header('Cache-Control', 'no-store');
  return c.html(`<!doctype html>${await page.toString()}`, opts.status ?? 200);
};

/** Answers an htmx request with a fragment (no page around it). */
export const renderFragment = async (c: Context<AppEnv>, body: Child) => {
  c.header('Cache-Control', 'no-store');
  return c.html(await (<>{body}</>).toString());
};
