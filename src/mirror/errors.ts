import type { z } from 'zod';
import { zodIssues } from '../core/zod-issues.js';

/**
 * Bad input to mirroring: an ImageSetConfiguration field, an image reference, a release payload
 * file, an update graph. The message starts with the field at fault
 * (`mirror.platform.channels[0].name: …`); `unsupported` is set when the input is valid for
 * oc-mirror but reef does not do it yet (what, in the plural: `operator catalogs`), so that a
 * caller (pre-staging) can word its own refusal.
 */
export class MirrorInputError extends Error {
  constructor(
    /** `mirror.platform.channels[0].name`, `release-manifests/image-references spec.tags[3].from.name`. */
    readonly field: string,
    /** The message without the field. */
    readonly reason: string,
    readonly unsupported?: string,
  ) {
    super(field ? `${field}: ${reason}` : reason);
    this.name = 'MirrorInputError';
  }
}

/** `<what> are not supported by reef mirror yet`, naming the field. */
export const unsupported = (field: string, what: string): MirrorInputError => new MirrorInputError(field, `${what} are not supported by reef mirror yet`, what);

/** The first zod issue as an input error naming its path (`prefix` + `spec.tags[3].from.name`); the others follow in the message. */
export const fromZod = (error: z.ZodError, prefix = ''): MirrorInputError => {
  const issues = zodIssues(error).map((i) => ({ ...i, path: i.path === 'body' ? '' : i.path }));
  const name = (path: string) => `${prefix}${path}`.trim() || '(document)';
  const first = issues[0] ?? { path: '', message: 'invalid' };
  const more = issues.slice(1).map((i) => `; ${name(i.path)}: ${i.message}`).join('');
  return new MirrorInputError(name(first.path), `${first.message}${more}`);
};
