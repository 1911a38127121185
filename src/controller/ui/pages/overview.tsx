import { Hono } from 'hono';
import type { AppEnv } from '../../../http/env.js';
import { renderPage } from '../layout.js';
import { Bytes, Status, Time } from '../parts.js';
import type { UiDeps } from '../ui-deps.js';
import { JobRows } from './job-parts.js';

export const overviewRoutes = (d: UiDeps) =>
  new Hono<AppEnv>().get('/', (c) => {
    const problem = d.ready();
    const stats = d.registry?.stats();
    const disk = d.disk();
    const counts = d.jobs.countByStatus();
    const active = [...d.jobs.list({ status: 'provisioning', limit: '20' }).items, ...d.jobs.list({ status: 'queued', limit: '20' }).items];
    const gc = d.registry?.lastGc();
    const mirror = d.mirrorSync?.list().items[0];
    return renderPage(
      c,
      d.assets,
      'Overview',
      <>
        <div class="cards">
          <section class="card" aria-labelledby="h-health">
            <h2 id="h-health">Health</h2>
            {problem ? <p class="s-failed">not ready: {problem}</p> : <p class="big s-ok">ready</p>}
          </section>
          <section class="card" aria-labelledby="h-storage">
            <h2 id="h-storage">Storage</h2>
            <p>
              Registry: <Bytes n={stats?.bytes} /> in {stats?.count ?? 0} blobs
            </p>
            <p>
              Disk free: <Bytes n={disk?.free} /> of <Bytes n={disk?.total} />
            </p>
          </section>
          <section class="card" aria-labelledby="h-jobs">
            <h2 id="h-jobs">Jobs</h2>
            <p class="big">{(counts.queued ?? 0) + (counts.provisioning ?? 0)} active</p>
            <p class="muted">
              {counts.succeeded ?? 0} succeeded · {counts.failed ?? 0} failed · {counts.canceled ?? 0} canceled
            </p>
          </section>
          <section class="card" aria-labelledby="h-gc">
            <h2 id="h-gc">Last GC</h2>
            {gc ? (
              <p>
                <Time at={gc.finished_at} />: {gc.blobs_deleted} blobs, <Bytes n={gc.bytes_freed} /> freed
              </p>
            ) : (
              <p class="muted">{d.registry ? 'no GC has run since reef started' : 'the registry is off'}</p>
            )}
          </section>
          <section class="card" aria-labelledby="h-mirror">
            <h2 id="h-mirror">Last mirror run</h2>
            {mirror ? (
              <p>
                <Status s={mirror.state} /> <Time at={mirror.started_at} />, {mirror.images ?? 0} images
              </p>
            ) : (
              <p class="muted">{d.mirrorSync ? 'no run yet' : 'no mirror sync is configured'}</p>
            )}
          </section>
        </div>
        <h2>Active jobs</h2>
        <JobRows jobs={active} caption="Jobs queued or provisioning" />
      </>,
    );
  });
