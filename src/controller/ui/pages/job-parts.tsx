import type { JobView } from '../../jobs/job-view.js';
import { percentOf } from '../format.js';
import { Bytes, Status, Table, Time } from '../parts.js';

type JobEventView = { event_id: number; time: string | null; level: string; step: string | null; message: string; bytes_done: number | null; bytes_total: number | null };

export const JobRows = (p: { jobs: JobView[]; caption: string; bodyId?: string }) => (
  <Table caption={p.caption} head={['Job', 'Status', 'Machine', 'Target', 'Step', 'Progress', 'Updated']} empty={p.jobs.length === 0} emptyText="no jobs" bodyId={p.bodyId}>
    {p.jobs.map((j) => (
      <JobRow j={j} />
    ))}
  </Table>
);

export const JobRow = (p: { j: JobView }) => {
  const pct = percentOf(p.j.progress?.bytes_done ?? null, p.j.progress?.bytes_total ?? null);
  return (
    <tr>
      <td>
        <a href={`/ui/jobs/${p.j.job_id}`}>{p.j.job_id}</a>
      </td>
      <td>
        <Status s={p.j.status} />
      </td>
      <td>{p.j.server_serial}</td>
      <td>{p.j.task_target}</td>
      <td>{p.j.step ?? '—'}</td>
      <td>{pct === undefined ? '—' : `${pct} %`}</td>
      <td>
        <Time at={p.j.updated_at} />
      </td>
    </tr>
  );
};

/** Step and bytes of a job: fixed rows, so a live update never moves the page. */
export const ProgressPanel = (p: { job: JobView & { events_total: number } }) => {
  const done = p.job.progress?.bytes_done ?? null;
  const total = p.job.progress?.bytes_total ?? null;
  const pct = percentOf(done, total);
  return (
    <dl class="progress">
      <dt>Status</dt>
      <dd data-testid="job-status">
        <Status s={p.job.status} />
      </dd>
      <dt>Step</dt>
      <dd data-testid="job-step">{p.job.step ?? '—'}</dd>
      <dt>Bytes</dt>
      <dd data-testid="job-bytes">
        <Bytes n={done} /> of <Bytes n={total} /> {pct === undefined ? '' : `(${pct} %)`}
      </dd>
      <dt>
        <label for="job-bar">Progress</label>
      </dt>
      <dd>
        <progress id="job-bar" class="bar" max={100} value={pct ?? 0}>
          {pct ?? 0} %
        </progress>
      </dd>
      <dt>Events</dt>
      <dd data-testid="job-events-total">{p.job.events_total}</dd>
      <dt>Failed step</dt>
      <dd>{p.job.failed_step ? `${p.job.failed_step}${p.job.reason ? `: ${p.job.reason}` : ''}` : '—'}</dd>
    </dl>
  );
};

/** The job's latest events, oldest first: a new one lands at the bottom and moves nothing above it. */
export const Timeline = (p: { events: JobEventView[] }) => (
  <>
    {p.events.map((e) => (
      <li>
        <Time at={e.time} />
        <span class={`s-${e.level}`}>{e.level}</span>
        <span>
          {e.step ? <strong>{e.step}: </strong> : null}
          {e.message}
          {e.bytes_done !== null ? (
            <span class="muted">
              {' '}
              (<Bytes n={e.bytes_done} />
              {e.bytes_total !== null ? (
                <>
                  {' '}
                  of <Bytes n={e.bytes_total} />
                </>
              ) : null}
              )
            </span>
          ) : null}
        </span>
      </li>
    ))}
  </>
);
