import { DomainError, type FieldIssue } from '../../core/errors.js';

/** The field issues of a validation error (what the form shows beside each field), or undefined for any other error. */
export const validationIssues = (err: unknown): FieldIssue[] | undefined =>
  err instanceof DomainError && (err.code === 'VALIDATION_FAILED' || err.code === 'CONFLICT') && err.details.length ? err.details : undefined;

/** Finds the issues for one field (its own path, or a path inside it), and marks them as shown. */
export const createIssueIndex = (issues: FieldIssue[]) => {
  const shown = new Set<FieldIssue>();
  return {
    /** The messages for exactly this field, or (deep) for anything under it. */
    take(path: string, deep = false): string[] {
      const found = issues.filter((i) => !shown.has(i) && (i.path === path || (deep && (i.path.startsWith(`${path}.`) || i.path.startsWith(`${path}[`)))));
      for (const i of found) shown.add(i);
      return found.map((i) => (i.path === path ? i.message : `${i.path}: ${i.message}`));
    },
    /** Issues no field has shown yet. */
    rest: (): FieldIssue[] => issues.filter((i) => !shown.has(i)),
  };
};
