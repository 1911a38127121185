import { readFileSync } from 'node:fs';
import type { Job } from '../../src/controller/jobs/job-model.js';
import { recipeFrom } from '../../src/maintenance-os/task.js';

/** The Linux example recipe as users write it, with its oci_url replaced when one is given. */
export const linuxRecipe = (ociUrl?: string): Record<string, unknown> => ({
  ...(JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8')) as Record<string, unknown>),
  ...(ociUrl ? { oci_url: ociUrl } : {}),
});

/** A queued job for `recipe` (normalised), as the job service stores it: what a task ISO is built from. */
export const queuedJob = (recipe: Record<string, unknown>, id = '01JTASKTLS0000000000000000'): Job => {
  const t = Date.parse('2025-06-01T12:00:00Z');
  return {
    id,
    serial: 'TLS-1',
    recipeName: null,
    recipe: recipeFrom(recipe),
    status: 'queued',
    step: null,
    bytesDone: null,
    bytesTotal: null,
    failedStep: null,
    reason: null,
    createdAt: t,
    updatedAt: t,
    startedAt: null,
    finishedAt: null,
    mediaRemovedAt: null,
  };
};
