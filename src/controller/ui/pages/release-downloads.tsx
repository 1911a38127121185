import type { Child } from 'hono/jsx';
import { Bytes, Table, Time } from '../parts.js';
import { iso, seconds } from './release-parts.js';
import type { TabInput } from './release-tabs.js';

/** Downloads and bytes per release (and artifact, when the rows name one). */
const Totals = (p: { caption: string; rows: { version: string; artifact?: string; downloads: number; bytes: number }[] }) => {
  const byArtifact = p.rows.some((r) => r.artifact !== undefined);
  return (
    <Table caption={p.caption} head={['Release', ...(byArtifact ? ['Artifact'] : []), 'Downloads', 'Bytes']} empty={!p.rows.length} emptyText="no downloads yet">
      {p.rows.map((v) => (
        <tr>
          <td>{v.version}</td>
          {byArtifact ? <td>{v.artifact}</td> : null}
          <td>{v.downloads}</td>
          <td>
            <Bytes n={v.bytes} />
          </td>
        </tr>
      ))}
    </Table>
  );
};

/** Client Downloads: FastRegistry's Overview (totals), Performance (rates) and History (each transfer). */
export const downloads = (t: TabInput): Child => {
  const totals = t.r.service.downloadTotals();
  const records = t.r.service.downloads({ limit: 500 });
  const all = totals.by_version.reduce((s, v) => ({ n: s.n + v.downloads, bytes: s.bytes + v.bytes }), { n: 0, bytes: 0 });
  const perf = new Map<string, { n: number; bytes: number; ms: number }>();
  for (const d of records) {
    const k = `${d.version} ${d.artifact}`;
    const p = perf.get(k) ?? { n: 0, bytes: 0, ms: 0 };
    perf.set(k, { n: p.n + 1, bytes: p.bytes + d.size, ms: p.ms + d.durationMs });
  }
  return (
    <>
      <h3>Overview</h3>
      <div class="cards">
        <section class="card" aria-labelledby="h-dl-n">
          <h4 id="h-dl-n">Downloads</h4>
          <p class="big" data-testid="downloads-total">
            {all.n}
          </p>
        </section>
        <section class="card" aria-labelledby="h-dl-b">
          <h4 id="h-dl-b">Bytes sent</h4>
          <p class="big">
            <Bytes n={all.bytes} />
          </p>
        </section>
      </div>
      <Totals caption="Totals by version" rows={totals.by_version} />
      <Totals caption="Totals by artifact" rows={totals.by_artifact} />
      <h3>Performance</h3>
      <Table caption="Average transfer rate by artifact (the last 500 downloads)" head={['Release and artifact', 'Downloads', 'Average time', 'Average rate']} empty={!perf.size} emptyText="no downloads yet">
        {[...perf].map(([k, p]) => (
          <tr>
            <td>{k}</td>
            <td>{p.n}</td>
            <td>{seconds(p.ms / p.n)}</td>
            <td>
              <Bytes n={p.ms > 0 ? Math.round((p.bytes * 1000) / p.ms) : null} />
              /s
            </td>
          </tr>
        ))}
      </Table>
      <h3>History</h3>
      <Table caption="The last 500 downloads, newest first" head={['Time', 'Release', 'Artifact', 'Client', 'User agent', 'Size', 'Took', 'Status', 'Range']} empty={!records.length} emptyText="no downloads yet">
        {records.map((d) => (
          <tr>
            <td>
              <Time at={iso(d.time)} />
            </td>
            <td>{d.version}</td>
            <td>{d.artifact}</td>
            <td>{d.clientIp}</td>
            <td>{d.userAgent || '—'}</td>
            <td>
              <Bytes n={d.size} />
            </td>
            <td>{seconds(d.durationMs)}</td>
            <td>{d.status}</td>
            <td>{d.range ?? '—'}</td>
          </tr>
        ))}
      </Table>
    </>
  );
};
