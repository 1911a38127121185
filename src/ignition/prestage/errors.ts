import { MirrorInputError } from '../../mirror/errors.js';

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

/**
 * The mirror core's input errors (the ImageSetConfiguration reader, references, release files) as
 * pre-staging's, the field prefixed (`--imageset mirror.operators`); a field reef mirror does not
 * support yet is refused in pre-staging's words. Anything else is returned as it is.
 */
export const asPrestageError = (err: unknown, prefix = ''): unknown => {
  if (!(err instanceof MirrorInputError)) return err;
  const field = [prefix, err.field].filter(Boolean).join(' ');
  return new PrestageInputError(field, err.unsupported ? `is not supported by reef prestage download (${err.unsupported}); remove it or mirror it with oc-mirror` : err.reason);
};
