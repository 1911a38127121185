import type { z } from 'zod';
import type { FieldIssue } from './errors.js';

/** Formats a zod path the way users write it: `partitions[1].size`. */
export const formatPath = (path: readonly PropertyKey[]): string => {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
};

/** Turns zod issues into field issues; an unknown key becomes one issue naming that key. */
export const zodIssues = (error: z.ZodError, root = ''): FieldIssue[] => {
  const issues: FieldIssue[] = [];
  for (const issue of error.issues) {
    const base = [...(root ? [root] : []), ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({ path: formatPath([...base, key]), message: 'unknown key' });
      }
      continue;
    }
    issues.push({ path: formatPath(base) || root || 'body', message: issue.message });
  }
  return issues;
};
