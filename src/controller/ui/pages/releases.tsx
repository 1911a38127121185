import { type Context, Hono } from 'hono';
import { DomainError } from '../../../core/errors.js';
import type { AppEnv } from '../../../http/env.js';
import { InstallerRunError, ReleaseSourceError } from '../../../releases/errors.js';
import { validationIssues } from '../field-issues.js';
import { renderFragment, renderPage, viewerOf } from '../layout.js';
import { Notice } from '../parts.js';
import type { ReleasesPort, UiDeps } from '../ui-deps.js';
import { IsoCreated, type IsoFormState, releaseDetail } from './release-detail.js';
import { RELEASE_TABS, type ReleaseTab, ReleaseTabs, releaseHref } from './release-parts.js';
import { LiveClones, TAB_VIEWS } from './release-tabs.js';

const need = (d: UiDeps): ReleasesPort => {
  if (!d.releases) throw new DomainError('NOT_FOUND', 'release management is off on this reef: set `releases: {enabled: true}` in the REEF_CONFIG file');
  return d.releases;
};

/** What the page says after an action sent the browser back to it (fixed wording, numbers and a tag only). */
const noticeOf = (q: Record<string, string>): string | undefined => {
  switch (q.did) {
    case 'discover':
      return `Discovery found ${Number(q.found) || 0} releases upstream, ${Number(q.new) || 0} new.`;
    case 'clone':
      return `Clone of ${q.v ?? 'the release'} started.`;
    case 'extract':
      return 'Extraction started.';
    case 'reset':
      return `Release reset to ${q.state ?? 'its last good state'}.`;
    case 'verify':
      return 'Verify finished: the report is below.';
    default:
      return undefined;
  }
};

const tabOf = (v: string | undefined): ReleaseTab => RELEASE_TABS.find(([t]) => t === v)?.[0] ?? 'browse';

/** A file field wins over its pasted twin when a file was chosen. */
const textOf = async (form: Record<string, string | File | (string | File)[]>, name: string): Promise<string | undefined> => {
  const file = form[`${name}_file`];
  if (file instanceof File && file.size > 0) return file.text();
  const text = form[name];
  return typeof text === 'string' && text.trim() !== '' ? text : undefined;
};

/**
 * /ui/releases: FastRegistry's six views of release management (Browse, News, Cloning, Events,
 * Client Downloads, Log) and a page per release, over the same service and artifacts the
 * /admin/releases API calls. Changes (operators, CSRF-checked by the access gate) answer with a
 * redirect to the view that shows their effect.
 */
export const releaseRoutes = (d: UiDeps) => {
  const pollMs = Math.max(250, d.streamPollMs);
  const tabPage = (c: Context<AppEnv>, tab: ReleaseTab, opts: { cloneErrors?: string[]; status?: 400 } = {}) => {
    const r = need(d);
    const query = c.req.query();
    const label = RELEASE_TABS.find(([t]) => t === tab)![1];
    return renderPage(
      c,
      d.assets,
      'Releases',
      <>
        <ReleaseTabs current={tab} />
        <Notice text={noticeOf(query)} />
        <section aria-labelledby="h-tab">
          <h2 id="h-tab">{label}</h2>
          {TAB_VIEWS[tab]({ r, viewer: viewerOf(c), query, pollMs, ...(opts.cloneErrors ? { cloneErrors: opts.cloneErrors } : {}) })}
        </section>
      </>,
      opts.status ? { status: opts.status } : {},
    );
  };
  const detailPage = (c: Context<AppEnv>, name: string, isoState?: IsoFormState, status?: 400 | 409 | 500) => {
    const r = need(d);
    const tag = r.service.tagOf(name);
    return renderPage(
      c,
      d.assets,
      `Release ${tag}`,
      <>
        <ReleaseTabs current={undefined} />
        <Notice text={noticeOf(c.req.query())} />
        {releaseDetail(r, viewerOf(c), name, pollMs, isoState)}
      </>,
      status ? { status } : {},
    );
  };
  const back = (c: Context<AppEnv>, tag: string, did: string, extra: Record<string, string> = {}) => c.redirect(`${releaseHref(tag)}?${new URLSearchParams({ did, ...extra })}`, 303);

  return new Hono<AppEnv>()
    .get('/releases', (c) => {
      if (!d.releases) return renderPage(c, d.assets, 'Releases', <p class="muted">Releases are not configured on this reef.</p>);
      return tabPage(c, tabOf(c.req.query('tab')));
    })
    .get('/releases/live', async (c) => {
      const r = need(d);
      const res = await renderFragment(c, <LiveClones r={r} focus={c.req.query('v')} />);
      // 286 tells htmx to stop polling: nothing is cloning or extracting any more (HX-Refresh: and to reload the page).
      const running = r.service.list().some((x) => x.state === 'cloning' || x.state === 'extracting');
      if (running) return res;
      const headers = new Headers(res.headers);
      if (c.req.query('reload')) headers.set('HX-Refresh', 'true');
      return new Response(res.body, { status: 286, headers });
    })
    .post('/releases/discover', async (c) => {
      const found = await need(d).service.discover('api');
      return c.redirect(`/ui/releases?${new URLSearchParams({ tab: 'news', did: 'discover', found: String(found.found), new: String(found.added.length) })}`, 303);
    })
    .post('/releases/clone', async (c) => {
      const form = await c.req.parseBody();
      const version = typeof form.version === 'string' ? form.version.trim() : '';
      try {
        const r = await need(d).service.clone(version);
        return c.redirect(`/ui/releases?${new URLSearchParams({ tab: 'cloning', did: 'clone', v: r.tag })}`, 303);
      } catch (err) {
        // The service's message names the field and shows a good value; a release upstream lacks is named too.
        const missing = err instanceof DomainError && err.code === 'NOT_FOUND' ? `${version}: the upstream has no such release` : undefined;
        if (!validationIssues(err) && !missing) throw err;
        return tabPage(c, 'browse', { cloneErrors: [missing ?? (err as Error).message], status: 400 });
      }
    })
    .get('/releases/:version', (c) => detailPage(c, c.req.param('version')))
    .post('/releases/:version/extract', (c) => {
      const r = need(d).artifacts.extractOne(c.req.param('version'));
      return back(c, r.version, 'extract');
    })
    .post('/releases/:version/reset', async (c) => {
      const r = await need(d).service.reset(c.req.param('version'));
      return back(c, r.tag, 'reset', { state: r.state });
    })
    .post('/releases/:version/verify', async (c) => {
      const r = need(d);
      await r.service.verify(c.req.param('version'));
      return back(c, r.service.tagOf(c.req.param('version')), 'verify');
    })
    .post('/releases/:version/iso', async (c) => {
      const r = need(d);
      const name = c.req.param('version');
      const form = await c.req.parseBody();
      const input = { install_config: (await textOf(form, 'install_config')) ?? '', agent_config: (await textOf(form, 'agent_config')) ?? '' };
      try {
        const made = await r.artifacts.createIso(name, input);
        const tag = r.service.tagOf(name);
        return renderPage(c, d.assets, `Agent ISO of ${tag}`, <IsoCreated tag={tag} {...made} />);
      } catch (err) {
        const issues = validationIssues(err);
        if (issues) return detailPage(c, name, { issues, ...input }, 400);
        if (err instanceof ReleaseSourceError || err instanceof InstallerRunError) return detailPage(c, name, { issues: [], error: err.message, ...input }, err instanceof ReleaseSourceError ? 409 : 500);
        throw err;
      }
    });
};
