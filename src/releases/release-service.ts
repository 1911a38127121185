import { DomainError, conflict } from '../core/errors.js';
import type { ClientPool } from '../mirror/sources.js';
import { cloneRelease } from './clone.js';
import { compareTags, releaseTagsOf } from './discover.js';
import type { ReleasesConfig } from './release-config.js';
import type { LocalRegistry } from './local-registry.js';
import { createJobs } from './release-jobs.js';
import type { ReleaseStore } from './release-store.js';
import { type CloneProgress, parseReleaseTag, type Release, type ReleaseEventType, resolveReleaseName, type Severity, type VerifyReport } from './release.js';
import { verifyRelease } from './verify.js';

export interface ReleaseLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface ReleaseServiceDeps {
  config: ReleasesConfig;
  store: ReleaseStore;
  /** Upstream clients by registry host. */
  clients: ClientPool;
  /** reef's own registry, in process. */
  local: LocalRegistry;
  log: ReleaseLog;
  now: () => number;
  /** After a clone is verified: the extraction that takes it to `ready`, when reef has an extractor. */
  afterClone?: (release: Release, signal: AbortSignal) => Promise<void>;
}

/** FastRegistry's wording for an unknown release. */
export const releaseNotFound = () => new DomainError('NOT_FOUND', 'release not found');

const PROGRESS_EVERY_MS = 500;

/**
 * Release management's core: discovery of upstream tags, the clone lifecycle (available →
 * cloning → cloned, or failed; a verify gate before cloned), reset that cancels for real, and the
 * resumption at start of any clone a crash or restart cut short.
 */
export const createReleaseService = (d: ReleaseServiceDeps) => {
  const { config, store } = d;
  const jobs = createJobs();
  const live = new Map<string, CloneProgress>();
  const event = (type: ReleaseEventType, severity: Severity, version: string, details: Record<string, unknown> = {}) =>
    store.addEvent({ type, severity, version, time: d.now(), details });

  const tagOf = (name: string): string => {
    const tag = resolveReleaseName(name, config.architectures[0]!);
    if (!tag) throw releaseNotFound();
    return tag;
  };
  const get = (name: string): Release => {
    const r = store.get(tagOf(name));
    if (!r) throw releaseNotFound();
    return r;
  };

  const discover = async (trigger: 'api' | 'schedule') => {
    const started = d.now();
    try {
      const tags = releaseTagsOf(await d.clients(config.upstream).listTags(config.repository), config.architectures);
      const added: string[] = [];
      for (const tag of tags) {
        const p = parseReleaseTag(tag)!;
        if (store.addAvailable({ tag, version: p.version, architecture: p.architecture, discoveredAt: d.now() })) {
          added.push(tag);
          event('release.discovered', 'info', tag, { upstream: `${config.upstream}/${config.repository}:${tag}` });
        }
      }
      event('discovery.run', 'success', '', { trigger, found: tags.length, new: added.length, added, duration_ms: d.now() - started });
      d.log.info({ found: tags.length, added: added.length }, 'release discovery');
      return { found: tags.length, added };
    } catch (err) {
      event('discovery.run', 'error', '', { trigger, error: (err as Error).message });
      throw err;
    }
  };

  const persistProgress = (tag: string) => {
    let last = 0;
    let phase = '';
    return (p: CloneProgress) => {
      live.set(tag, p);
      const t = d.now();
      if (t - last >= PROGRESS_EVERY_MS || p.phase !== phase) {
        last = t;
        phase = p.phase;
        store.setProgress(tag, p);
      }
    };
  };

  const runClone = async (tag: string, signal: AbortSignal) => {
    try {
      const onProgress = persistProgress(tag);
      const result = await cloneRelease(
        { upstream: config.upstream, repository: config.repository, tag, localRepo: config.local_repo },
        { clients: d.clients, local: d.local, parallelImages: config.parallel_images, parallelLayers: config.parallel_layers, signal, onProgress },
      );
      store.setProgress(tag, live.get(tag));
      store.update(tag, { upstreamDigest: result.upstreamDigest, size: result.size });
      const report = await verifyRelease({ local: d.local, localRepo: config.local_repo, tag, parallel: config.parallel_layers, deep: false, signal });
      store.update(tag, { verify: report, verifiedAt: d.now() });
      if (!report.complete) throw new Error(`verify: the copy is not whole (${report.problems.slice(0, 3).join('; ')})`);
      const next = d.afterClone ? 'extracting' : 'cloned';
      store.update(tag, { state: next, clonedAt: d.now(), error: null });
      event('cloned', 'success', tag, { components: result.components.length, size: result.size, upstream_digest: result.upstreamDigest });
      d.log.info({ release: tag, components: result.components.length, bytes: result.size }, 'release cloned');
      if (d.afterClone) await d.afterClone(store.get(tag)!, signal);
    } catch (err) {
      if (signal.aborted) return;
      const message = (err as Error).message;
      store.update(tag, { state: 'failed', error: message });
      event('failed', 'error', tag, { error: message });
      d.log.warn({ release: tag, error: message }, 'release clone failed');
    }
  };

  const startClone = (tag: string, resumed: boolean) => {
    store.update(tag, { state: 'cloning', error: null });
    event('clone_start', 'info', tag, resumed ? { resumed: true } : {});
    jobs.start(tag, 'clone', (signal) => runClone(tag, signal));
  };

  const clone = async (name: string): Promise<Release> => {
    const tag = resolveReleaseName(name, config.architectures[0]!);
    const parsed = tag ? parseReleaseTag(tag) : undefined;
    if (!tag || !parsed) throw new DomainError('VALIDATION_FAILED', `version: expected a release tag like 4.21.0-x86_64 or a version like 4.21.0, got ${JSON.stringify(name)}`, [{ path: 'version', message: 'not a release tag or version' }]);
    if (!store.get(tag)) {
      // Not discovered yet: cloning it is how FastRegistry's users start; the upstream must have it.
      const found = await d.clients(config.upstream).headManifest(config.repository, tag);
      if (!found) throw releaseNotFound();
      if (store.addAvailable({ tag, version: parsed.version, architecture: parsed.architecture, discoveredAt: d.now() })) event('release.discovered', 'info', tag, { upstream: `${config.upstream}/${config.repository}:${tag}`, by: 'clone' });
    }
    const job = jobs.get(tag);
    if (job) throw conflict(`release ${tag} is busy (${job.kind} running); reset it to stop that`);
    startClone(tag, false);
    return store.get(tag)!;
  };

  const reset = async (name: string) => {
    const r = get(name);
    const cancelled = await jobs.cancel(r.tag, `release ${r.tag} was reset`);
    live.delete(r.tag);
    const state = r.clonedAt !== null ? 'cloned' : 'available';
    store.update(r.tag, { state, error: null });
    event('reset', 'warning', r.tag, { from: r.state, to: state, cancelled });
    return { tag: r.tag, state };
  };

  const verify = async (name: string) => {
    const r = get(name);
    const job = jobs.get(r.tag);
    if (job?.kind === 'clone') throw conflict(`release ${r.tag} is being cloned; its copy is verified when the clone ends`);
    if (job) throw conflict(`release ${r.tag} is busy (${job.kind} running); verify it when that ends`);
    // A job like the others: one at a time per release, stopped by reset and at shutdown (it reads every blob back).
    let report: VerifyReport | undefined;
    const run = jobs.start(r.tag, 'verify', async (signal) => {
      report = await verifyRelease({ local: d.local, localRepo: config.local_repo, tag: r.tag, parallel: config.parallel_layers, deep: true, signal });
      store.update(r.tag, { verify: report, verifiedAt: d.now() });
    });
    await run.done;
    return report!;
  };

  /**
   * At start: clones a crash or restart cut short go on by themselves (blobs already here are not
   * fetched again); an extraction cut short runs again (its files are replaced by rename), or,
   * where extraction does not follow clones, the release goes back to `cloned`.
   */
  const resume = () => {
    const cut = store.list('cloning');
    for (const r of cut) {
      d.log.info({ release: r.tag }, 'resuming a release clone cut short');
      startClone(r.tag, true);
    }
    for (const r of store.list('extracting')) {
      const afterClone = d.afterClone;
      if (!afterClone) {
        store.update(r.tag, { state: 'cloned' });
        continue;
      }
      d.log.info({ release: r.tag }, 'resuming a release extraction cut short');
      jobs.start(r.tag, 'extract', (signal) => afterClone(r, signal));
    }
    return cut.map((r) => r.tag);
  };

  return {
    config,
    jobs,
    event,
    tagOf,
    get,
    /** Newest version first. */
    list: (state?: Release['state']) => store.list(state).sort((a, b) => compareTags(a.tag, b.tag)),
    status: (name: string) => {
      const r = get(name);
      return { release: r, progress: live.get(r.tag) ?? store.progress(r.tag) };
    },
    discover,
    clone,
    reset,
    verify,
    resume,
    events: store.events,
    downloads: store.downloads,
    downloadTotals: store.downloadTotals,
    recordDownload: store.addDownload,
    stop: () => jobs.stopAll('reef is stopping'),
    settled: () => jobs.settled(),
  };
};
export type ReleaseService = ReturnType<typeof createReleaseService>;
