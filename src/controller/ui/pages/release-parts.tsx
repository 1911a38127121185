import type { CloneProgress, Release, ReleaseEvent } from '../../../releases/release.js';
import { percent } from '../../../releases/release.js';
import type { Viewer } from '../layout.js';
import { Bytes, Csrf, Status } from '../parts.js';

/** FastRegistry's six views of releases, in its order. */
export const RELEASE_TABS = [
  ['browse', 'Browse'],
  ['news', 'News'],
  ['cloning', 'Cloning'],
  ['events', 'Events'],
  ['downloads', 'Client Downloads'],
  ['log', 'Log'],
] as const;
export type ReleaseTab = (typeof RELEASE_TABS)[number][0];

export const tabHref = (tab: ReleaseTab) => `/ui/releases?tab=${tab}`;
export const releaseHref = (tag: string) => `/ui/releases/${encodeURIComponent(tag)}`;
export const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** Tabs as links (each view has its own URL, so back, bookmarks and keyboard work as for any link). */
export const ReleaseTabs = (p: { current: ReleaseTab | undefined }) => (
  <nav class="tabs" aria-label="Release views">
    <ul>
      {RELEASE_TABS.map(([tab, label]) => (
        <li>
          <a href={tabHref(tab)} aria-current={p.current === tab ? 'page' : undefined}>
            {label}
          </a>
        </li>
      ))}
    </ul>
  </nav>
);

/** `4.21.0-rc.1` → numbers to sort by: major, minor, patch, then a final release after its candidates. */
const sortKey = (version: string): number[] => {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-(rc|ec|fc)\.(\d+))?/.exec(version);
  if (!m) return [0, 0, 0, 0, 0];
  const pre = m[4] ? { ec: 1, fc: 2, rc: 3 }[m[4] as 'ec' | 'fc' | 'rc'] : 9;
  return [Number(m[1]), Number(m[2]), Number(m[3]), pre, Number(m[5] ?? 0)];
};

/** Newest version first; architectures of one version in name order. */
export const newestFirst = (a: Release, b: Release): number => {
  const [x, y] = [sortKey(a.version), sortKey(b.version)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return y[i]! - x[i]!;
  return a.architecture.localeCompare(b.architecture);
};

/** Releases by major.minor ("4.21"), newest minor first. */
export const byMinor = (releases: Release[]): [string, Release[]][] => {
  const groups = new Map<string, Release[]>();
  for (const r of [...releases].sort(newestFirst)) {
    const minor = /^\d+\.\d+/.exec(r.version)?.[0] ?? 'other';
    groups.set(minor, [...(groups.get(minor) ?? []), r]);
  }
  return [...groups];
};

/** A one-button form posting to a release action; the release is named to screen readers too. */
const ActionForm = (p: { viewer: Viewer; action: string; tag: string; label: string; danger?: boolean }) => (
  <form method="post" action={p.action === 'clone' ? '/ui/releases/clone' : `${releaseHref(p.tag)}/${p.action}`} class="inline">
    <Csrf token={p.viewer.csrf} />
    {p.action === 'clone' ? <input type="hidden" name="version" value={p.tag} /> : null}
    <button type="submit" class={p.danger ? 'danger' : 'secondary'}>
      {p.label}
      <span class="sr-only"> {p.tag}</span>
    </button>
  </form>
);

/** What an operator may do with a release in its state; nothing at all for a viewer. */
export const ReleaseActions = (p: { viewer: Viewer; r: Release }) => {
  if (!p.viewer.canWrite) return <span class="muted">—</span>;
  const { r } = p;
  const busy = r.state === 'cloning' || r.state === 'extracting';
  const cloned = r.clonedAt !== null;
  return (
    <span class="actions">
      {r.state === 'available' || (r.state === 'failed' && !cloned) ? <ActionForm viewer={p.viewer} action="clone" tag={r.tag} label="Clone" /> : null}
      {cloned && !busy ? <ActionForm viewer={p.viewer} action="extract" tag={r.tag} label="Extract" /> : null}
      {cloned && !busy ? <ActionForm viewer={p.viewer} action="verify" tag={r.tag} label="Verify" /> : null}
      {r.state !== 'available' ? <ActionForm viewer={p.viewer} action="reset" tag={r.tag} label="Reset" danger /> : null}
    </span>
  );
};

/**
 * One clone's counters (FastRegistry's progress fields): fixed rows of fixed-width numbers, so
 * a live update changes text, never the layout.
 */
export const CloneCounters = (p: { r: Release; progress: CloneProgress | undefined }) => {
  const g = p.progress;
  const pct = g ? percent(g.syncedBytes, g.totalBytes) : 0;
  const id = `bar-${p.r.tag.replace(/[^A-Za-z0-9-]/g, '_')}`;
  return (
    <section class="card live" aria-label={`Clone of ${p.r.tag}`} data-release={p.r.tag}>
      <h3>
        <a href={releaseHref(p.r.tag)}>{p.r.tag}</a>{' '}
        <span data-testid="clone-state">
          <Status s={p.r.state} />
        </span>
      </h3>
      <dl class="progress">
        <dt>Phase</dt>
        <dd data-testid="clone-phase">{g?.phase ?? '—'}</dd>
        <dt>Blobs</dt>
        <dd data-testid="clone-blobs">{g ? `${g.syncedBlobs} of ${g.totalBlobs}` : '—'}</dd>
        <dt>Bytes</dt>
        <dd data-testid="clone-bytes">
          {g ? (
            <>
              <Bytes n={g.syncedBytes} /> of <Bytes n={g.totalBytes} />
            </>
          ) : (
            '—'
          )}
        </dd>
        <dt>Components</dt>
        <dd data-testid="clone-components">{g ? `${g.mirroredComponents} of ${g.totalComponents} (${percent(g.mirroredComponents, g.totalComponents)} %)` : '—'}</dd>
        <dt>Current component</dt>
        <dd data-testid="clone-current">{g?.currentComponent || '—'}</dd>
        <dt>
          <label for={id}>Done</label>
        </dt>
        <dd>
          <progress id={id} class="bar" max={100} value={pct}>
            {pct} %
          </progress>{' '}
          <span data-testid="clone-percent">{pct} %</span>
        </dd>
      </dl>
      {p.r.error ? <p class="field-error">{p.r.error}</p> : null}
    </section>
  );
};

export interface CloneRun {
  version: string;
  started: number;
  ended: number | null;
  outcome: string;
  resumed: boolean;
}

/** Clone history from the events: each clone_start paired with the cloned, failed or reset that ended it. */
export const cloneRuns = (events: ReleaseEvent[]): CloneRun[] => {
  const open = new Map<string, CloneRun>();
  const runs: CloneRun[] = [];
  for (const e of [...events].sort((a, b) => a.id - b.id)) {
    if (e.type === 'clone_start') {
      const run = { version: e.version, started: e.time, ended: null, outcome: 'cloning', resumed: e.details.resumed === true };
      open.set(e.version, run);
      runs.push(run);
    } else if (e.type === 'cloned' || e.type === 'failed' || e.type === 'reset') {
      const run = open.get(e.version);
      if (!run) continue;
      run.ended = e.time;
      run.outcome = e.type === 'reset' ? 'reset' : e.type;
      open.delete(e.version);
    }
  }
  return runs.reverse();
};

/** An event's details as short `key=value` text. */
export const detailText = (details: Record<string, unknown>) =>
  Object.entries(details)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');

export const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
