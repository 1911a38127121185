import type { z } from 'zod';
import { validationError } from './errors.js';
import { zodIssues } from './zod-issues.js';

/** Parses `input` with `schema`, or throws a validation error naming each offending field. */
export const parseWith = <S extends z.ZodType>(schema: S, input: unknown, what: string, root = ''): z.output<S> => {
  const result = schema.safeParse(input);
  if (!result.success) throw validationError(zodIssues(result.error, root), what);
  return result.data;
};
