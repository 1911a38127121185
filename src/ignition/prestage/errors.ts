import type { z } from 'zod';
import { zodIssues } from '../../core/zod-issues.js';

/**
 * Bad input to pre-staging (a flag, a list file, an ImageSetConfiguration field): the message
 * names it. The CLI exits 2 on these; the agent reports them as the job's failure.
 */
export class PrestageInputError extends Error {
  constructor(
    /** The flag or field at fault, e.g. `--size` or `mirror.platform.channels[0].name`. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'PrestageInputError';
  }
}

/** A refusal to touch a disk (it is not empty, too small, mounted): nothing was changed. */
export class DiskRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiskRefusedError';
  }
}

/** The first zod issue as an input error naming its path (`prefix` + `spec.tags[3].from.name`); the others are listed in the message. */
export const fromZod = (error: z.ZodError, prefix = ''): PrestageInputError => {
  const issues = zodIssues(error).map((i) => ({ ...i, path: i.path === 'body' ? '(document)' : i.path }));
  const first = issues[0] ?? { path: '', message: 'invalid' };
  const more = issues.slice(1).map((i) => `; ${prefix}${i.path}: ${i.message}`).join('');
  return new PrestageInputError(`${prefix}${first.path}`, `${first.message}${more}`);
};
