import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { AppEnv } from '../../../http/env.js';
import { JOB_STATUSES } from '../../jobs/job.schema.js';
import { createIssueIndex, validationIssues } from '../field-issues.js';
import { renderFragment, renderPage, viewerOf } from '../layout.js';
import { Csrf, FieldErrors, KeyValues, Notice, SelectField, Time } from '../parts.js';
import type { UiDeps } from '../ui-deps.js';
import { JobRows, ProgressPanel, Timeline } from './job-parts.js';

const FILTERS = ['status', 'serial', 'cursor'] as const;
/** Seconds between SSE comments that keep idle proxies from closing the stream. */
const KEEPALIVE_MS = 15_000;

export const jobRoutes = (d: UiDeps) =>
  new Hono<AppEnv>()
    .get('/jobs', (c) => {
      const query = Object.fromEntries(FILTERS.flatMap((k) => (c.req.query(k) ? [[k, c.req.query(k)!]] : [])));
      let page: ReturnType<UiDeps['jobs']['list']> = { items: [], next_cursor: null };
      const issues = (() => {
        try {
          page = d.jobs.list(query);
          return [];
        } catch (err) {
          const found = validationIssues(err);
          if (!found) throw err;
          return found;
        }
      })();
      const rows = <JobRows jobs={page.items} caption={`${page.items.length} jobs, newest first`} bodyId="job-rows" />;
      // The table refreshes itself (htmx) every few seconds: the rows only, with the same filters.
      if (c.req.header('hx-request')) return renderFragment(c, rows);
      const index = createIssueIndex(issues);
      const statusErr = index.take('status');
      const serialErr = index.take('serial');
      const more = index.rest();
      const next = page.next_cursor ? `/ui/jobs?${new URLSearchParams({ ...query, cursor: page.next_cursor }).toString()}` : undefined;
      return renderPage(
        c,
        d.assets,
        'Jobs',
        <>
          <form method="get" action="/ui/jobs" class="filters" role="search" aria-label="Filter jobs">
            <SelectField id="status" label="Status" options={JOB_STATUSES} current={query.status} messages={statusErr} />
            <div>
              <label for="serial">Machine serial</label>
              <input type="search" id="serial" name="serial" value={query.serial ?? ''} aria-invalid={serialErr.length ? 'true' : undefined} aria-describedby={serialErr.length ? 'serial-error' : undefined} />
              <FieldErrors id="serial" messages={serialErr} />
            </div>
            <button type="submit">Filter</button>
          </form>
          {more.length ? <p class="field-error">{more.map((i) => `${i.path}: ${i.message}`).join('; ')}</p> : null}
          <div hx-get={c.req.url.replace(/^https?:\/\/[^/]+/, '')} hx-trigger="every 3s" hx-select="tbody" hx-target="#job-rows" hx-swap="outerHTML">
            {rows}
          </div>
          {next ? (
            <p>
              <a href={next}>Older jobs</a>
            </p>
          ) : null}
        </>,
      );
    })
    .get('/jobs/:id', (c) => {
      const job = d.jobs.get(c.req.param('id'));
      const v = viewerOf(c);
      const active = job.status === 'queued' || job.status === 'provisioning';
      return renderPage(
        c,
        d.assets,
        `Job ${job.job_id}`,
        <>
          <Notice text={c.req.query('canceled') ? 'The job was canceled.' : undefined} />
          <KeyValues
            rows={[
              ['Machine', job.server_serial],
              ['Recipe', job.recipe_name ? <a href={`/ui/recipes/${encodeURIComponent(job.recipe_name)}`}>{job.recipe_name}</a> : 'inline'],
              ['Task target', job.task_target],
              ['Created', <Time at={job.created_at} />],
              ['Started', <Time at={job.started_at} />],
              ['Finished', <Time at={job.finished_at} />],
              [
                'Media',
                <>
                  <a href={job.task_iso_url}>task ISO</a> · <a href={`/boot.ipxe?serial=${encodeURIComponent(job.server_serial)}`}>boot script</a>
                </>,
              ],
            ]}
          />
          {v.canWrite && active ? (
            <form method="post" action={`/ui/jobs/${job.job_id}/cancel`}>
              <Csrf token={v.csrf} />
              <p>
                <button type="submit" class="danger">
                  Cancel job
                </button>
              </p>
            </form>
          ) : null}
          <div data-sse={active ? `/ui/jobs/${job.job_id}/stream` : undefined}>
            <section aria-labelledby="h-progress">
              <h2 id="h-progress">Progress</h2>
              <div data-sse-swap="progress" aria-live="polite">
                <ProgressPanel job={job} />
              </div>
            </section>
            <section aria-labelledby="h-events">
              <h2 id="h-events">Events (the latest 100, oldest first)</h2>
              <ol class="timeline" data-sse-swap="timeline">
                <Timeline events={job.events} />
              </ol>
            </section>
          </div>
        </>,
      );
    })
    .get('/jobs/:id/stream', (c) => {
      const id = c.req.param('id');
      d.jobs.get(id);
      return streamSSE(c, async (stream) => {
        let seen = '';
        let quietMs = 0;
        while (!stream.aborted && !stream.closed && !d.stopping.aborted) {
          const job = d.jobs.get(id);
          const mark = `${job.updated_at}/${job.events_total}`;
          if (mark !== seen) {
            seen = mark;
            quietMs = 0;
            await stream.writeSSE({ event: 'progress', data: await (<ProgressPanel job={job} />).toString() });
            await stream.writeSSE({ event: 'timeline', data: await (<Timeline events={job.events} />).toString() });
          } else if ((quietMs += d.streamPollMs) >= KEEPALIVE_MS) {
            quietMs = 0;
            await stream.write(': keep-alive\n\n');
          }
          if (job.status !== 'queued' && job.status !== 'provisioning') {
            await stream.writeSSE({ event: 'end', data: job.status });
            return;
          }
          await stream.sleep(d.streamPollMs);
        }
      });
    })
    .post('/jobs/:id/cancel', (c) => {
      const job = d.jobs.cancel(c.req.param('id'));
      return c.redirect(`/ui/jobs/${job.job_id}?canceled=1`, 303);
    });
