import { Hono } from 'hono';
import type { AppEnv } from '../../../http/env.js';
import { DomainError, fieldError } from '../../../core/errors.js';
import { renderPage, viewerOf } from '../layout.js';
import { Notice } from '../parts.js';
import type { ReleasesPort, UiDeps } from '../ui-deps.js';
import { AgentIsoForm, Browse, Cloning, Downloads, Events, SEVERITIES, SeverityFilter, type Tab, TabNav, TABS } from './release-tabs.js';

const need = (d: UiDeps): ReleasesPort => {
  if (!d.releases) throw new DomainError('NOT_FOUND', 'releases are not configured on this reef');
  return d.releases;
};

const versionOf = (form: Record<string, unknown>): string => {
  const v = form.version;
  if (typeof v !== 'string' || !/^[A-Za-z0-9._+-]{1,64}$/.test(v)) throw fieldError('version', 'a release such as 4.14.1-x86_64');
  return v;
};

/** /ui/releases: FastRegistry's six views (Browse, News, Cloning, Events, Client Downloads, Log); clone, extract and agent ISOs for operators. */
export const releaseRoutes = (d: UiDeps) =>
  new Hono<AppEnv>()
    .get('/releases', async (c) => {
      if (!d.releases) return renderPage(c, d.assets, 'Releases', <p class="muted">Releases are not configured on this reef.</p>);
      const r = d.releases;
      const v = viewerOf(c);
      const asked = c.req.query('tab');
      const tab: Tab = TABS.some(([k]) => k === asked) ? (asked as Tab) : 'browse';
      const severity = SEVERITIES.find((s) => s === c.req.query('severity'));
      const releases = tab === 'browse' ? r.list() : [];
      const body =
        tab === 'browse' ? (
          <>
            <Browse releases={releases} csrf={v.csrf} canWrite={v.canWrite} />
            {v.canWrite ? <AgentIsoForm ready={releases.filter((x) => x.state === 'ready')} csrf={v.csrf} /> : null}
          </>
        ) : tab === 'news' ? (
          <Events events={r.events({ limit: 500 }).filter((e) => e.type === 'release.discovered').slice(0, 20)} severity={undefined} caption="Newly discovered releases" />
        ) : tab === 'cloning' ? (
          <>
            <Cloning progress={r.cloning()} />
            <h2>Clone history</h2>
            <Events events={r.events({ limit: 500 }).filter((e) => ['clone_start', 'cloned', 'ready', 'failed'].includes(e.type))} severity={undefined} caption="Clones started, finished and failed" />
          </>
        ) : tab === 'events' ? (
          <>
            <SeverityFilter current={severity} />
            <Events events={r.events({ severity, limit: 500 })} severity={severity} caption={severity ? `Events of severity ${severity}` : 'All events'} />
          </>
        ) : tab === 'downloads' ? (
          <Downloads downloads={r.downloads(500)} />
        ) : (
          <pre tabindex={0} aria-label="Release log">
            {r
              .events({ limit: 500 })
              .map((e) => `${e.time ?? ''} ${e.severity.toUpperCase()} ${e.type}${e.version ? ` ${e.version}` : ''}${e.details && Object.keys(e.details as object).length ? ` ${JSON.stringify(e.details)}` : ''}`)
              .join('\n') || 'no entries'}
          </pre>
        );
      return renderPage(
        c,
        d.assets,
        'Releases',
        <>
          <Notice text={c.req.query('done') ?? undefined} />
          <TabNav current={tab} />
          {body}
        </>,
      );
    })
    .post('/releases/clone', async (c) => {
      const version = versionOf(await c.req.parseBody());
      await need(d).clone(version);
      return c.redirect(`/ui/releases?tab=cloning&${new URLSearchParams({ done: `Clone of ${version} started.` })}`, 303);
    })
    .post('/releases/extract', async (c) => {
      const version = versionOf(await c.req.parseBody());
      need(d).extract(version);
      return c.redirect(`/ui/releases?${new URLSearchParams({ done: `Extraction of ${version} started.` })}`, 303);
    })
    .post('/releases/iso', async (c) => {
      const form = await c.req.parseBody();
      const version = versionOf(form);
      const text = (k: string) => (typeof form[k] === 'string' ? (form[k] as string) : '');
      const made = await need(d).createIso(version, { install_config: text('install_config'), agent_config: text('agent_config') });
      return renderPage(
        c,
        d.assets,
        `Agent ISO for ${version}`,
        <p>
          The agent ISO is ready: <a href={made.iso_url}>{made.iso_url}</a>
        </p>,
      );
    });
