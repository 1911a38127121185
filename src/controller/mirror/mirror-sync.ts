import { readFile } from 'node:fs/promises';
import cron from 'node-cron';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { conflict } from '../../core/errors.js';
import { loadAuthFile } from '../../registry/client/auth-file.js';
import { mirrorToRegistry } from '../../mirror/flows.js';
import { parseImageSetConfiguration } from '../../mirror/imageset.js';
import { createClientPool } from '../../mirror/sources.js';
import type { ClientOptions } from '../../registry/client/oci-client.js';
import { loadRuns, runLogPath, saveRuns, type MirrorRun } from './sync-run-log.js';

export type { MirrorRun };

export interface MirrorSyncConfig {
  /** REEF_MIRROR_ISC: the ImageSetConfiguration this site keeps itself in sync with. */
  isc: string;
  /** REEF_MIRROR_SCHEDULE (node-cron); unset: runs only when asked (POST /api/v1/mirror/runs). */
  schedule: string | undefined;
  /** REEF_MIRROR_UPSTREAM_AUTHFILE: docker-config credentials for the upstream registries. */
  authfile: string | undefined;
  workingDir: string;
}

const KEEP = 50;

/**
 * Hub → site sync: the mirror-to-registry flow from the ISC's upstreams into this reef's own
 * registry (`registry`, host:port, with `credentials` when it needs a login), on a schedule,
 * one run at a time. A run cut off by the network fails, naming what did not land; the next one
 * skips every blob and manifest already here, so it only finishes the work.
 */
export const createMirrorSync = async (deps: { config: MirrorSyncConfig; registry: string; registryOptions: Partial<ClientOptions>; log: Logger; metrics: Registry; now: () => number }) => {
  const iso = () => new Date(deps.now()).toISOString();
  const logPath = runLogPath(deps.config.workingDir);
  const runs: MirrorRun[] = (await loadRuns(logPath, iso())).slice(0, KEEP);
  let running: Promise<MirrorRun> | undefined;
  let nextId = Math.max(0, ...runs.map((r) => r.id)) + 1;
  /** Saves the history; a failure (a full disk) is logged, never fails the run itself. */
  const persist = () => saveRuns(logPath, runs).catch((err: Error) => deps.log.error({ err: err.message, file: logPath }, 'mirror sync: run history not saved'));
  const result = new Counter({ name: 'reef_mirror_runs_total', help: 'Mirror sync runs by result', labelNames: ['result'], registers: [deps.metrics] });
  const lastSuccess = new Gauge({ name: 'reef_mirror_last_success_timestamp_seconds', help: 'End of the last mirror sync run that succeeded', registers: [deps.metrics] });
  const inProgress = new Gauge({ name: 'reef_mirror_running', help: '1 while a mirror sync run is going', registers: [deps.metrics] });

  const execute = async (run: MirrorRun) => {
    try {
      const text = await readFile(deps.config.isc, 'utf8');
      const isc = parseImageSetConfiguration(text);
      const authFile = await loadAuthFile(deps.config.authfile);
      const clients = createClientPool({ authFile, tlsVerify: true, retries: 3, retryDelayMs: 1000, overrides: { [deps.registry]: deps.registryOptions } });
      const r = await mirrorToRegistry(
        {
          isc,
          iscText: text,
          clients,
          parallelImages: 4,
          parallelLayers: 5,
          imageTimeoutMs: 3_600_000,
          dryRun: false,
          continueOnError: true,
          since: undefined,
          graph: undefined,
          events: {
            info: (m) => deps.log.debug({ mirror: run.id }, m),
            warn: (m) => deps.log.warn({ mirror: run.id }, m),
            image: (d) => (d.ok ? undefined : deps.log.warn({ mirror: run.id, image: d.ref, error: d.error }, 'mirror sync: image failed')),
            bytes: (n) => (run.bytes += n),
          },
          now: () => new Date(deps.now()),
        },
        { registry: deps.registry, namespace: '' },
        deps.config.workingDir,
      );
      run.images = r.images;
      run.failed = r.failed;
      run.state = r.failed.length ? 'failed' : 'succeeded';
    } catch (err) {
      run.state = 'failed';
      run.error = (err as Error).message;
    }
    run.finished_at = iso();
    result.inc({ result: run.state });
    if (run.state === 'succeeded') lastSuccess.set(deps.now() / 1000);
    deps.log[run.state === 'succeeded' ? 'info' : 'warn']({ mirror: { id: run.id, state: run.state, images: run.images, failed: run.failed.length, bytes: run.bytes, error: run.error } }, 'mirror sync run');
    await persist();
    return run;
  };

  const start = (trigger: MirrorRun['trigger']): MirrorRun => {
    if (running) throw conflict('a mirror sync run is in progress; one runs at a time');
    const run: MirrorRun = { id: nextId++, trigger, state: 'running', started_at: iso(), finished_at: null, images: null, failed: [], bytes: 0, error: null };
    runs.unshift(run);
    runs.splice(KEEP);
    inProgress.set(1);
    running = persist().then(() => execute(run)).finally(() => {
      running = undefined;
      inProgress.set(0);
    });
    return run;
  };

  const task = deps.config.schedule
    ? cron.schedule(deps.config.schedule, () => {
        if (running) deps.log.info('mirror sync: the previous run is still going; this slot is skipped');
        else start('schedule');
      })
    : undefined;

  return {
    start,
    /** Newest first: the run in progress (if any) and the last ones. */
    list: () => ({ items: runs.map((r) => ({ ...r, failed: [...r.failed] })) }),
    /** Resolves when the run in progress (if any) ends. */
    settled: async () => {
      await running;
    },
    stop: async () => {
      await task?.stop();
      await running?.catch(() => undefined);
    },
  };
};
export type MirrorSync = Awaited<ReturnType<typeof createMirrorSync>>;
