import { Hono } from 'hono';
import type { AppEnv } from '../../../http/env.js';
import { renderPage } from '../layout.js';
import { Bytes, Status, Table, Time } from '../parts.js';
import type { UiDeps } from '../ui-deps.js';

/** Releases by major.minor ("4.14"), newest first: FastRegistry's Browse tab. */
const byMinor = (versions: { version: string }[]) => {
  const groups = new Map<string, typeof versions>();
  for (const r of versions) {
    const minor = /^\d+\.\d+/.exec(r.version)?.[0] ?? 'other';
    groups.set(minor, [...(groups.get(minor) ?? []), r]);
  }
  return groups;
};

/** /ui/releases: the releases feature when this reef has one (issue 19), otherwise a page that says so. */
export const releaseRoutes = (d: UiDeps) =>
  new Hono<AppEnv>().get('/releases', async (c) => {
    if (!d.releases) return renderPage(c, d.assets, 'Releases', <p class="muted">Releases are not configured on this reef.</p>);
    const items = await d.releases.list();
    const groups = byMinor(items);
    return renderPage(
      c,
      d.assets,
      'Releases',
      <>
        {items.length === 0 ? <p class="muted">No releases discovered yet.</p> : null}
        {[...groups].map(([minor, list]) => (
          <section aria-labelledby={`h-${minor}`}>
            <h2 id={`h-${minor}`}>{minor}</h2>
            <Table caption={`Releases ${minor}`} head={['Version', 'Architecture', 'State', 'Discovered', 'Cloned', 'Size', 'Error']}>
              {(list as typeof items).map((r) => (
                <tr>
                  <td>{r.version}</td>
                  <td>{r.architecture}</td>
                  <td>
                    <Status s={r.state} />
                  </td>
                  <td>
                    <Time at={r.discovered_at} />
                  </td>
                  <td>
                    <Time at={r.cloned_at} />
                  </td>
                  <td>
                    <Bytes n={r.size} />
                  </td>
                  <td>{r.error ?? '—'}</td>
                </tr>
              ))}
            </Table>
          </section>
        ))}
      </>,
    );
  });
