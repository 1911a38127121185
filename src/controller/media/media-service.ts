import { DomainError, notFound } from '../../core/errors.js';
import { JOB_ID } from '../jobs/ids.js';
import type { Job } from '../jobs/job-model.js';
import { ACTIVE_STATUSES } from '../jobs/job.schema.js';
import type { UrlSigner } from './signing.js';

export interface MediaServiceDeps {
  getJob: (id: string) => Job | undefined;
  isoPath: (jobId: string) => string | undefined;
  signer: UrlSigner | undefined;
  publicUrl: string;
  /** A maintenance-OS live ISO served as /media/tasks/<job>/boot.iso, when configured. */
  bootIso: string | undefined;
}

/** Decides which file a /media request may read; the HTTP adapter streams it. */
export const createMediaService = (deps: MediaServiceDeps) => {
  const urlOf = (path: string) => `${deps.publicUrl}${deps.signer ? deps.signer.sign(path) : path}`;
  const authorize = (method: string, path: string, query: { expires?: string; sig?: string }) => {
    if (!deps.signer) return;
    const problem = deps.signer.check(method, path, query.expires, query.sig);
    if (problem) throw new DomainError('FORBIDDEN', problem);
  };
  const job = (id: string): Job => {
    const found = JOB_ID.test(id) ? deps.getJob(id) : undefined;
    if (!found) throw notFound('job', id);
    return found;
  };
  return {
    /** The public (signed, when signing is on) URL of a /media path. */
    urlOf,
    /** Checks a /media request's signature when signing is on; throws FORBIDDEN otherwise. */
    authorize,
    taskIsoUrl: (jobId: string) => urlOf(`/media/tasks/${jobId}/task.iso`),
    bootIsoUrl: (jobId: string) => urlOf(`/media/tasks/${jobId}/boot.iso`),
    hasBootIso: () => deps.bootIso !== undefined,
    taskIso(method: string, path: string, jobId: string, query: { expires?: string; sig?: string }): string {
      authorize(method, path, query);
      const j = job(jobId);
      if (j.mediaRemovedAt !== null) {
        throw new DomainError('NOT_FOUND', `the task ISO of job ${jobId} was removed after the retention period (REEF_MEDIA_RETENTION)`);
      }
      return deps.isoPath(jobId)!;
    },
    bootIso(method: string, path: string, jobId: string, query: { expires?: string; sig?: string }): string {
      authorize(method, path, query);
      const j = job(jobId);
      if (!deps.bootIso) throw new DomainError('NOT_FOUND', 'no boot ISO is configured (REEF_BOOT_ISO)');
      if (!ACTIVE_STATUSES.includes(j.status)) throw new DomainError('NOT_FOUND', `job ${jobId} is ${j.status}; its boot ISO is no longer served`);
      return deps.bootIso;
    },
  };
};
export type MediaService = ReturnType<typeof createMediaService>;
