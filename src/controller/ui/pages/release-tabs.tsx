import { Bytes, Csrf, SelectField, Status, Table, Time } from '../parts.js';
import type { UiCloneProgress, UiDownload, UiRelease, UiReleaseEvent } from '../ui-deps.js';

export const TABS = [
  ['browse', 'Browse'],
  ['news', 'News'],
  ['cloning', 'Cloning'],
  ['events', 'Events'],
  ['downloads', 'Client Downloads'],
  ['log', 'Log'],
] as const;
export type Tab = (typeof TABS)[number][0];
export const SEVERITIES = ['info', 'warning', 'error', 'success'] as const;

export const TabNav = (p: { current: Tab }) => (
  <nav class="tabs" aria-label="Release views">
    {TABS.map(([key, label]) => (
      <a href={`/ui/releases?tab=${key}`} class={key === p.current ? 'button' : 'button secondary'} aria-current={key === p.current ? 'page' : undefined}>
        {label}
      </a>
    ))}
  </nav>
);

/** Releases by major.minor ("4.14"), newest first; clone and extract for operators. */
export const Browse = (p: { releases: UiRelease[]; csrf: string; canWrite: boolean }) => {
  const groups = new Map<string, UiRelease[]>();
  for (const r of p.releases) {
    const minor = /^\d+\.\d+/.exec(r.version)?.[0] ?? 'other';
    groups.set(minor, [...(groups.get(minor) ?? []), r]);
  }
  const action = (r: UiRelease) => {
    if (!p.canWrite) return null;
    const verb = r.state === 'available' || r.state === 'failed' ? 'clone' : r.state === 'cloned' ? 'extract' : undefined;
    if (!verb) return null;
    return (
      <form method="post" action={`/ui/releases/${verb}`} class="inline">
        <Csrf token={p.csrf} />
        <input type="hidden" name="version" value={r.tag} />
        <button type="submit" class="secondary" aria-label={`${verb === 'clone' ? 'Clone' : 'Extract'} ${r.tag}`}>
          {verb === 'clone' ? 'Clone' : 'Extract'}
        </button>
      </form>
    );
  };
  if (!p.releases.length) return <p class="muted">No releases discovered yet.</p>;
  return (
    <>
      {[...groups].map(([minor, list]) => (
        <section aria-labelledby={`h-${minor}`}>
          <h2 id={`h-${minor}`}>{minor}</h2>
          <Table caption={`Releases ${minor}`} head={['Release', 'State', 'Discovered', 'Cloned', 'Size', 'Artifacts', '']}>
            {list.map((r) => (
              <tr>
                <td>{r.tag}</td>
                <td>
                  <Status s={r.state} />
                  {r.error ? <span class="s-failed"> {r.error}</span> : null}
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
                <td>{r.artifacts.map((a) => a.name).join(', ') || '—'}</td>
                <td>{action(r)}</td>
              </tr>
            ))}
          </Table>
        </section>
      ))}
    </>
  );
};

/** Clones running now, their counters (refreshed in place every 2 s). */
export const Cloning = (p: { progress: UiCloneProgress[] }) => (
  <div id="cloning" hx-get="/ui/releases?tab=cloning" hx-trigger="every 2s" hx-select="#cloning" hx-swap="outerHTML">
    <Table caption="Clones in progress" head={['Release', 'Phase', 'Blobs', 'Bytes', 'Components', 'Now']} empty={!p.progress.length} emptyText="no clone is running">
      {p.progress.map((x) => (
        <tr>
          <td>{x.version}</td>
          <td>{x.phase}</td>
          <td data-testid={`blobs-${x.version}`}>
            {x.synced_blobs} / {x.total_blobs}
          </td>
          <td data-testid={`bytes-${x.version}`}>
            <Bytes n={x.synced_bytes} /> / <Bytes n={x.total_bytes} /> ({x.percent_done} %)
          </td>
          <td>
            {x.mirrored_components} / {x.total_components}
          </td>
          <td>{x.current_component ?? '—'}</td>
        </tr>
      ))}
    </Table>
  </div>
);

const details = (d: unknown) => (d && typeof d === 'object' && Object.keys(d).length ? JSON.stringify(d) : '');

export const Events = (p: { events: UiReleaseEvent[]; severity: string | undefined; caption: string }) => (
  <Table caption={p.caption} head={['When', 'Severity', 'Type', 'Release', 'Details']} empty={!p.events.length} emptyText="no events">
    {p.events.map((e) => (
      <tr>
        <td>
          <Time at={e.time} />
        </td>
        <td>
          <span class={`s-${e.severity === 'warning' ? 'warn' : e.severity === 'success' ? 'ok' : e.severity}`}>{e.severity}</span>
        </td>
        <td>{e.type}</td>
        <td>{e.version ?? '—'}</td>
        <td>
          <code>{details(e.details)}</code>
        </td>
      </tr>
    ))}
  </Table>
);

export const SeverityFilter = (p: { current: string | undefined }) => (
  <form method="get" action="/ui/releases" class="filters" aria-label="Filter events">
    <input type="hidden" name="tab" value="events" />
    <SelectField id="severity" label="Severity" options={SEVERITIES} current={p.current} />
    <button type="submit">Filter</button>
  </form>
);

export const Downloads = (p: { downloads: UiDownload[] }) => {
  const bytes = p.downloads.reduce((n, d) => n + d.size, 0);
  const seconds = p.downloads.reduce((n, d) => n + d.duration, 0);
  return (
    <>
      <div class="cards">
        <section class="card" aria-labelledby="h-dl-count">
          <h2 id="h-dl-count">Downloads</h2>
          <p class="big">{p.downloads.length}</p>
        </section>
        <section class="card" aria-labelledby="h-dl-bytes">
          <h2 id="h-dl-bytes">Served</h2>
          <p class="big">
            <Bytes n={bytes} />
          </p>
        </section>
        <section class="card" aria-labelledby="h-dl-rate">
          <h2 id="h-dl-rate">Mean rate</h2>
          <p class="big">{seconds > 0 ? <Bytes n={Math.round(bytes / seconds)} /> : '—'}/s</p>
        </section>
      </div>
      <Table caption="Client downloads, newest first" head={['When', 'Release', 'Artifact', 'Client', 'Size', 'Seconds']} empty={!p.downloads.length} emptyText="no downloads yet">
        {p.downloads.map((d) => (
          <tr>
            <td>
              <Time at={d.time} />
            </td>
            <td>{d.version}</td>
            <td>{d.artifact}</td>
            <td>{d.client_ip}</td>
            <td>
              <Bytes n={d.size} />
            </td>
            <td>{d.duration.toFixed(1)}</td>
          </tr>
        ))}
      </Table>
    </>
  );
};

/** The agent ISO form: a ready release, install-config.yaml and agent-config.yaml pasted or read from files (ui.js). */
export const AgentIsoForm = (p: { ready: UiRelease[]; csrf: string }) =>
  p.ready.length ? (
    <section aria-labelledby="h-iso">
      <h2 id="h-iso">Agent ISO</h2>
      <form method="post" action="/ui/releases/iso">
        <Csrf token={p.csrf} />
        <label for="iso-version">Release</label>
        <select id="iso-version" name="version">
          {p.ready.map((r) => (
            <option value={r.tag}>{r.tag}</option>
          ))}
        </select>
        <label for="install-config">install-config.yaml</label>
        <input type="file" accept=".yaml,.yml" data-fill="install-config" aria-label="Read install-config.yaml from a file" />
        <textarea id="install-config" name="install_config" required spellcheck={false}></textarea>
        <label for="agent-config">agent-config.yaml</label>
        <input type="file" accept=".yaml,.yml" data-fill="agent-config" aria-label="Read agent-config.yaml from a file" />
        <textarea id="agent-config" name="agent_config" required spellcheck={false}></textarea>
        <p>
          <button type="submit">Make the agent ISO</button>
        </p>
      </form>
    </section>
  ) : null;
