import { Hono } from 'hono';
import type { AppEnv } from '../../../http/env.js';
import { renderPage, viewerOf } from '../layout.js';
import { Bytes, Csrf, Notice, Status, Table, Time } from '../parts.js';
import type { UiDeps } from '../ui-deps.js';

/** Machines, mirror runs, ISOs and the audit: pages that list what a service returns. */
export const listRoutes = (d: UiDeps) =>
  new Hono<AppEnv>()
    .get('/machines', (c) => {
      const items = d.machines.list();
      return renderPage(
        c,
        d.assets,
        'Machines',
        <Table caption={`${items.length} machines`} head={['Serial', 'MACs', 'Labels', 'Jobs', 'Registered']} empty={!items.length} emptyText="no machines yet">
          {items.map((m) => (
            <tr>
              <td>{m.serial}</td>
              <td>{m.macs.join(', ') || '—'}</td>
              <td>
                {Object.entries(m.labels)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', ') || '—'}
              </td>
              <td>
                <a href={`/ui/jobs?${new URLSearchParams({ serial: m.serial })}`}>jobs</a>
              </td>
              <td>
                <Time at={m.created_at} />
              </td>
            </tr>
          ))}
        </Table>,
      );
    })
    .get('/mirror', (c) => {
      const v = viewerOf(c);
      const runs = d.mirrorSync?.list().items ?? [];
      return renderPage(
        c,
        d.assets,
        'Mirror runs',
        <>
          <Notice text={c.req.query('started') ? 'A mirror run has started.' : undefined} />
          {!d.mirrorSync ? <p class="muted">No mirror sync is configured on this reef (REEF_MIRROR_ISC).</p> : null}
          {d.mirrorSync && v.canWrite ? (
            <form method="post" action="/ui/mirror/runs">
              <Csrf token={v.csrf} />
              <button type="submit">Run a mirror sync now</button>
            </form>
          ) : null}
          <Table caption="Runs, newest first" head={['Run', 'State', 'Trigger', 'Started', 'Finished', 'Images', 'Bytes', 'Failures']} empty={!runs.length} emptyText="no runs yet">
            {runs.map((r) => (
              <tr>
                <td>{r.id}</td>
                <td>
                  <Status s={r.state} />
                </td>
                <td>{r.trigger}</td>
                <td>
                  <Time at={r.started_at} />
                </td>
                <td>
                  <Time at={r.finished_at} />
                </td>
                <td>{r.images ?? '—'}</td>
                <td>
                  <Bytes n={r.bytes} />
                </td>
                <td>{r.error ?? (r.failed.map((f) => `${f.ref}: ${f.error}`).join('; ') || '—')}</td>
              </tr>
            ))}
          </Table>
        </>,
      );
    })
    .post('/mirror/runs', (c) => {
      if (!d.mirrorSync) return c.redirect('/ui/mirror', 303);
      d.mirrorSync.start('api');
      return c.redirect('/ui/mirror?started=1', 303);
    })
    .get('/isos', async (c) => {
      const bases = (await d.isos.listBases()).items;
      const generated = (await d.isos.listGenerated(100)).items;
      return renderPage(
        c,
        d.assets,
        'ISOs',
        <>
          <Table caption="Base live ISOs" head={['Name', 'Size', 'Updated']} empty={!bases.length} emptyText="no base ISOs (PUT /api/v1/isos/bases/NAME)">
            {bases.map((b) => (
              <tr>
                <td>{b.name}</td>
                <td>
                  <Bytes n={b.size} />
                </td>
                <td>
                  <Time at={b.updated_at} />
                </td>
              </tr>
            ))}
          </Table>
          <h2>Generated ISOs</h2>
          <Table caption="The newest 100 generated ISOs and their sanboot scripts" head={['ISO', 'Sanboot script', 'Size', 'Made']} empty={!generated.length} emptyText="no generated ISOs (POST /api/v1/isos)">
            {generated.map((g) => (
              <tr>
                <td>
                  <a href={g.url}>{g.id}.iso</a>
                </td>
                <td>
                  <a href={g.boot_url}>boot.ipxe?iso={g.id}</a>
                </td>
                <td>
                  <Bytes n={g.size} />
                </td>
                <td>
                  <Time at={g.created_at} />
                </td>
              </tr>
            ))}
          </Table>
        </>,
      );
    })
    .get('/audit', (c) => {
      const items = d.audit.list({ limit: '200' }).items;
      return renderPage(
        c,
        d.assets,
        'Audit',
        <Table caption="The last 200 changes, newest first" head={['When', 'Who', 'Role', 'From', 'Request', 'Object', 'Status']} empty={!items.length} emptyText="no changes recorded">
          {items.map((a) => (
            <tr>
              <td>
                <Time at={a.at} />
              </td>
              <td>{a.actor}</td>
              <td>{a.role ?? '—'}</td>
              <td>{a.source}</td>
              <td>
                <code>
                  {a.method} {a.path}
                </code>
              </td>
              <td>{a.object ?? '—'}</td>
              <td>{a.status}</td>
            </tr>
          ))}
        </Table>,
      );
    });
