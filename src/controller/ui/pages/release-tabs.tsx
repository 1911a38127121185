import type { Child } from 'hono/jsx';
import { EVENT_TYPES, SEVERITIES, type Release, type ReleaseEvent } from '../../../releases/release.js';
import type { Viewer } from '../layout.js';
import { Bytes, Csrf, FieldErrors, Status, Table, Time } from '../parts.js';
import type { ReleasesPort } from '../ui-deps.js';
import { downloads } from './release-downloads.js';
import { byMinor, CloneCounters, cloneRuns, detailText, iso, ReleaseActions, releaseHref, seconds } from './release-parts.js';

export interface TabInput {
  r: ReleasesPort;
  viewer: Viewer;
  query: Record<string, string>;
  /** Field errors of the clone form (a version that is none). */
  cloneErrors?: string[];
  pollMs: number;
}

/** An event's time and severity cells. */
const EventWhen = (p: { e: ReleaseEvent }) => (
  <>
    <td>
      <Time at={iso(p.e.time)} />
    </td>
    <td>
      <Status s={p.e.severity} />
    </td>
  </>
);

const ReleaseRows = (p: { list: Release[]; viewer: Viewer; when: 'discovered' | 'cloned' }) => (
  <>
    {p.list.map((r) => (
      <tr>
        <td>
          <a href={releaseHref(r.tag)}>{r.version}</a>
        </td>
        <td>{r.architecture}</td>
        <td>
          <Status s={r.state} />
        </td>
        <td>
          <Time at={iso(r.discoveredAt)} />
        </td>
        {p.when === 'cloned' ? (
          <td>
            <Time at={iso(r.clonedAt)} />
          </td>
        ) : null}
        <td>
          <Bytes n={r.size} />
        </td>
        <td>
          <ReleaseActions viewer={p.viewer} r={r} />
        </td>
      </tr>
    ))}
  </>
);

/** Clone any release by version or tag (FastRegistry's users clone what discovery has not listed yet). */
const CloneForm = (p: { viewer: Viewer; errors: string[] }) =>
  p.viewer.canWrite ? (
    <form method="post" action="/ui/releases/clone" class="filters" aria-label="Clone a release">
      <Csrf token={p.viewer.csrf} />
      <div>
        <label for="clone-version">Release version or tag</label>
        <input type="text" id="clone-version" name="version" placeholder="4.21.0-x86_64" required aria-invalid={p.errors.length ? 'true' : undefined} aria-describedby={p.errors.length ? 'clone-version-error' : undefined} />
        <FieldErrors id="clone-version" messages={p.errors} />
      </div>
      <button type="submit">Clone</button>
    </form>
  ) : null;

const DiscoverForm = (p: { viewer: Viewer }) =>
  p.viewer.canWrite ? (
    <form method="post" action="/ui/releases/discover" class="inline">
      <Csrf token={p.viewer.csrf} />
      <button type="submit">Discover releases now</button>
    </form>
  ) : null;

const browse = (t: TabInput): Child => {
  const releases = t.r.service.list();
  return (
    <>
      <p>
        <DiscoverForm viewer={t.viewer} />
      </p>
      <CloneForm viewer={t.viewer} errors={t.cloneErrors ?? []} />
      {releases.length === 0 ? <p class="muted">No releases discovered yet.</p> : null}
      {byMinor(releases).map(([minor, list]) => (
        <section aria-labelledby={`h-${minor}`}>
          <h3 id={`h-${minor}`}>{minor}</h3>
          <Table caption={`Releases ${minor}, newest first`} head={['Version', 'Architecture', 'State', 'Discovered', 'Cloned', 'Size', 'Actions']}>
            <ReleaseRows list={list} viewer={t.viewer} when="cloned" />
          </Table>
        </section>
      ))}
    </>
  );
};

const news = (t: TabInput): Child => {
  const recent = [...t.r.service.list()].sort((a, b) => b.discoveredAt - a.discoveredAt).slice(0, 30);
  const runs = t.r.service.events({ type: 'discovery.run', limit: 10 });
  return (
    <>
      <p>
        <DiscoverForm viewer={t.viewer} />
      </p>
      <Table caption="Recently discovered releases, newest first" head={['Version', 'Architecture', 'State', 'Discovered', 'Size', 'Actions']} empty={!recent.length} emptyText="nothing discovered yet">
        <ReleaseRows list={recent} viewer={t.viewer} when="discovered" />
      </Table>
      <h3>Discovery runs</h3>
      <Table caption="The last 10 discovery runs" head={['Time', 'Result', 'Trigger', 'Found', 'New', 'Error']} empty={!runs.length} emptyText="no discovery has run">
        {runs.map((e) => (
          <tr>
            <EventWhen e={e} />
            <td>{String(e.details.trigger ?? '—')}</td>
            <td>{String(e.details.found ?? '—')}</td>
            <td>{String(e.details.new ?? '—')}</td>
            <td>{String(e.details.error ?? '—')}</td>
          </tr>
        ))}
      </Table>
    </>
  );
};

/** The clones under way (and the one just started, whatever its state now): what the live panel polls. */
export const LiveClones = (p: { r: ReleasesPort; focus: string | undefined }) => {
  const active = p.r.service.list().filter((r) => r.state === 'cloning' || r.state === 'extracting' || r.tag === p.focus);
  if (!active.length) return <p class="muted">No clone is running.</p>;
  return (
    <div class="live-cards">
      {active.map((r) => (
        <CloneCounters r={r} progress={p.r.service.status(r.tag).progress} />
      ))}
    </div>
  );
};

/** `reload`: the page reloads once nothing runs any more (a release's page then shows its new state and artifacts). */
export const liveHref = (focus: string | undefined, reload = false) => {
  const q = new URLSearchParams({ ...(focus ? { v: focus } : {}), ...(reload ? { reload: '1' } : {}) }).toString();
  return `/ui/releases/live${q ? `?${q}` : ''}`;
};

/** The live counters, refreshed in place by htmx (the answer stops the polling once nothing runs). */
export const LivePanel = (p: { r: ReleasesPort; focus: string | undefined; pollMs: number; reload?: boolean }) => (
  <div id="clone-live" hx-get={liveHref(p.focus, p.reload)} hx-trigger={`every ${p.pollMs}ms`} hx-swap="innerHTML">
    <LiveClones r={p.r} focus={p.focus} />
  </div>
);

const cloning = (t: TabInput): Child => {
  const runs = cloneRuns(t.r.service.events({ limit: 2000 }).filter((e) => ['clone_start', 'cloned', 'failed', 'reset'].includes(e.type))).slice(0, 50);
  return (
    <>
      <CloneForm viewer={t.viewer} errors={t.cloneErrors ?? []} />
      <h3>Under way</h3>
      <LivePanel r={t.r} focus={t.query.v} pollMs={t.pollMs} />
      <h3>Clone history</h3>
      <Table caption="The last 50 clones, newest first" head={['Release', 'Started', 'Ended', 'Took', 'Outcome']} empty={!runs.length} emptyText="no clone yet">
        {runs.map((run) => (
          <tr>
            <td>
              <a href={releaseHref(run.version)}>{run.version}</a>
              {run.resumed ? <span class="muted"> (resumed)</span> : null}
            </td>
            <td>
              <Time at={iso(run.started)} />
            </td>
            <td>
              <Time at={iso(run.ended)} />
            </td>
            <td>{run.ended === null ? '—' : seconds(run.ended - run.started)}</td>
            <td>
              <Status s={run.outcome} />
            </td>
          </tr>
        ))}
      </Table>
    </>
  );
};

/** A select of the Events filter, with its error on it when the value is none of the choices. */
const FilterSelect = (p: { id: string; label: string; choices: readonly string[]; value: string | undefined }) => {
  const bad = p.value !== undefined && p.value !== '' && !p.choices.includes(p.value);
  return (
    <div>
      <label for={p.id}>{p.label}</label>
      <select id={p.id} name={p.id} aria-invalid={bad ? 'true' : undefined} aria-describedby={bad ? `${p.id}-error` : undefined}>
        <option value="">any</option>
        {p.choices.map((s) => (
          <option value={s} selected={p.value === s}>
            {s}
          </option>
        ))}
      </select>
      <FieldErrors id={p.id} messages={bad ? [`not one of ${p.choices.join(', ')}`] : []} />
    </div>
  );
};

const pick = <T extends string>(choices: readonly T[], v: string | undefined): T | undefined => (choices.includes(v as T) ? (v as T) : undefined);

const events = (t: TabInput): Child => {
  const severity = pick(SEVERITIES, t.query.severity);
  const type = pick(EVENT_TYPES, t.query.type);
  const version = t.query.version?.trim() || undefined;
  const list = t.r.service.events({ severity, type, version, limit: 300 });
  return (
    <>
      <form method="get" action="/ui/releases" class="filters" role="search" aria-label="Filter release events">
        <input type="hidden" name="tab" value="events" />
        <FilterSelect id="severity" label="Severity" choices={SEVERITIES} value={t.query.severity} />
        <FilterSelect id="type" label="Type" choices={EVENT_TYPES} value={t.query.type} />
        <div>
          <label for="ev-version">Release</label>
          <input type="search" id="ev-version" name="version" value={version ?? ''} placeholder="4.21.0-x86_64" />
        </div>
        <button type="submit">Filter</button>
      </form>
      <Table caption={`${list.length} events, newest first`} head={['Time', 'Severity', 'Type', 'Release', 'Details']} empty={!list.length} emptyText="no events">
        {list.map((e) => (
          <tr>
            <EventWhen e={e} />
            <td>{e.type}</td>
            <td>{e.version ? <a href={releaseHref(e.version)}>{e.version}</a> : '—'}</td>
            <td>
              <code>{detailText(e.details) || '—'}</code>
            </td>
          </tr>
        ))}
      </Table>
    </>
  );
};

/** The release events as a log: oldest first, so the newest line is the last one, as in a terminal. */
const log = (t: TabInput): Child => {
  const lines = t.r.service.events({ limit: 500 }).reverse();
  return (
    <>
      <p class="muted">The last {lines.length} release events, newest last.</p>
      <pre class="log" tabindex={0} aria-label="Release log">
        {lines.length
          ? lines.map((e) => (
              <>
                <time datetime={iso(e.time)!}>{iso(e.time)}</time> {e.severity.toUpperCase().padEnd(7)} {e.type} {e.version || '-'} {detailText(e.details)}
                {'\n'}
              </>
            ))
          : 'no events yet'}
      </pre>
    </>
  );
};

export const TAB_VIEWS = { browse, news, cloning, events, downloads, log } as const;
