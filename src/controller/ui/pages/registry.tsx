import { Hono } from 'hono';
import type { AppEnv } from '../../../http/env.js';
import { DomainError } from '../../../core/errors.js';
import type { GcReport } from '../../../registry/gc.js';
import { renderFragment, renderPage, viewerOf } from '../layout.js';
import { Bytes, Csrf, KeyValues, Table, Time } from '../parts.js';
import type { UiDeps } from '../ui-deps.js';

/** Repositories and tags listed per page (the registry's own pagination). */
const PAGE = 100;

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  artifactType?: string;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

const need = (d: UiDeps) => {
  if (!d.registry) throw new DomainError('NOT_FOUND', 'the embedded registry is off on this reef (ENABLE_REGISTRY=false)');
  return d.registry;
};

const tagsHref = (repo: string) => `/ui/registry/tags?${new URLSearchParams({ repo })}`;
const manifestHref = (repo: string, ref: string) => `/ui/registry/manifest?${new URLSearchParams({ repo, ref })}`;

export const GcNumbers = (p: { report: GcReport }) => (
  <div id="gc-result" role="status">
    <h3>{p.report.dry_run ? 'Dry run: what GC would remove' : 'GC removed'}</h3>
    <KeyValues
      rows={[
        ['Blobs', <span data-testid="gc-blobs">{p.report.blobs_deleted}</span>],
        ['Bytes freed', <span data-testid="gc-bytes">{p.report.bytes_freed}</span>],
        ['Manifests', <span data-testid="gc-manifests">{p.report.manifests_deleted}</span>],
        ['Uploads', p.report.uploads_deleted],
        ['Repositories', p.report.repositories_deleted],
        ['Took', `${p.report.duration_seconds.toFixed(3)} s`],
      ]}
    />
  </div>
);

const DescriptorRows = (p: { repo: string; items: Descriptor[]; link: boolean }) => (
  <>
    {p.items.map((x) => (
      <tr>
        <td>{p.link && x.digest ? <a href={manifestHref(p.repo, x.digest)}><code>{x.digest}</code></a> : <code>{x.digest ?? '—'}</code>}</td>
        <td>{x.artifactType ?? x.mediaType ?? '—'}</td>
        <td>{x.platform ? `${x.platform.os ?? ''}/${x.platform.architecture ?? ''}${x.platform.variant ? `/${x.platform.variant}` : ''}` : '—'}</td>
        <td>
          <Bytes n={x.size} />
        </td>
      </tr>
    ))}
  </>
);

export const registryRoutes = (d: UiDeps) =>
  new Hono<AppEnv>()
    .get('/registry', (c) => {
      const r = need(d);
      const page = r.service.catalog(String(PAGE), c.req.query('last') || undefined);
      const stats = r.stats();
      const gc = r.lastGc();
      const v = viewerOf(c);
      return renderPage(
        c,
        d.assets,
        'Registry',
        <>
          <div class="cards">
            <section class="card" aria-labelledby="h-used">
              <h2 id="h-used">Storage used</h2>
              <p class="big">
                <Bytes n={stats.bytes} />
              </p>
              <p class="muted">{stats.count} blobs</p>
            </section>
            <section class="card" aria-labelledby="h-lastgc">
              <h2 id="h-lastgc">Last GC</h2>
              {gc ? (
                <p>
                  <Time at={gc.finished_at} />: {gc.blobs_deleted} blobs, <Bytes n={gc.bytes_freed} />
                </p>
              ) : (
                <p class="muted">none since reef started</p>
              )}
            </section>
          </div>
          <h2>Garbage collection</h2>
          {v.canWrite ? (
            <form method="post" action="/ui/registry/gc" hx-post="/ui/registry/gc" hx-target="#gc-result" hx-swap="outerHTML">
              <Csrf token={v.csrf} />
              <button type="submit" name="dry_run" value="true" class="secondary">
                Dry run
              </button>{' '}
              <button type="submit" name="dry_run" value="false" class="danger">
                Run GC now
              </button>
            </form>
          ) : (
            <p class="muted">Running GC needs the operator role.</p>
          )}
          <div id="gc-result"></div>
          <Table caption="Repositories" head={['Repository']} empty={!page.items.length} emptyText="the registry holds no repositories">
            {page.items.map((repo) => (
              <tr>
                <td>
                  <a href={tagsHref(repo)}>{repo}</a>
                </td>
              </tr>
            ))}
          </Table>
          {page.next ? (
            <p>
              <a href={`/ui/registry?${new URLSearchParams({ last: page.next })}`}>More repositories</a>
            </p>
          ) : null}
        </>,
      );
    })
    .get('/registry/tags', (c) => {
      const r = need(d);
      const repo = c.req.query('repo') ?? '';
      const page = r.service.tags(repo, String(PAGE), c.req.query('last') || undefined);
      return renderPage(
        c,
        d.assets,
        `Repository ${repo}`,
        <>
          <p>
            <a href="/ui/registry">All repositories</a>
          </p>
          <Table caption={`Tags of ${repo}`} head={['Tag']} empty={!page.items.length} emptyText="no tags">
            {page.items.map((tag) => (
              <tr>
                <td>
                  <a href={manifestHref(repo, tag)}>{tag}</a>
                </td>
              </tr>
            ))}
          </Table>
          {page.next ? (
            <p>
              <a href={`/ui/registry/tags?${new URLSearchParams({ repo, last: page.next })}`}>More tags</a>
            </p>
          ) : null}
        </>,
      );
    })
    .get('/registry/manifest', async (c) => {
      const r = need(d);
      const repo = c.req.query('repo') ?? '';
      const ref = c.req.query('ref') ?? '';
      const { row, bytes } = await r.service.manifest(repo, ref);
      const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[]; subject?: Descriptor };
      const referrers = r.service.referrers(repo, row.digest, undefined).manifests as Descriptor[];
      return renderPage(
        c,
        d.assets,
        `${repo}:${ref}`,
        <>
          <p>
            <a href={tagsHref(repo)}>Tags of {repo}</a>
          </p>
          <KeyValues
            rows={[
              ['Digest', <code>{row.digest}</code>],
              ['Media type', row.mediaType],
              ['Artifact type', row.artifactType ?? '—'],
              ['Size', <Bytes n={row.size} />],
              ['Subject', row.subject ? <a href={manifestHref(repo, row.subject)}><code>{row.subject}</code></a> : '—'],
              ['Pushed', <Time at={new Date(row.createdAt).toISOString()} />],
            ]}
          />
          {doc.manifests ? (
            <>
              <h2>Manifests of this index</h2>
              <Table caption="Child manifests" head={['Digest', 'Media type', 'Platform', 'Size']}>
                <DescriptorRows repo={repo} items={doc.manifests} link />
              </Table>
            </>
          ) : (
            <>
              <h2>Layers</h2>
              <Table caption="Config and layers" head={['Digest', 'Media type', 'Platform', 'Size']} empty={!doc.config && !doc.layers?.length}>
                <DescriptorRows repo={repo} items={[...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]} link={false} />
              </Table>
            </>
          )}
          <h2>Referrers</h2>
          <Table caption="Manifests whose subject is this one" head={['Digest', 'Artifact type', 'Platform', 'Size']} empty={!referrers.length} emptyText="no referrers">
            <DescriptorRows repo={repo} items={referrers} link />
          </Table>
        </>,
      );
    })
    .post('/registry/gc', async (c) => {
      const form = await c.req.parseBody();
      const report = await need(d).runGc(form.dry_run !== 'false');
      const numbers = <GcNumbers report={report} />;
      if (c.req.header('hx-request')) return renderFragment(c, numbers);
      return renderPage(c, d.assets, 'Registry GC', numbers);
    });
