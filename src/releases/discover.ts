import { parseReleaseTag } from './release.js';

/**
 * Which upstream tags are releases reef tracks: `<x.y.z>-<arch>` for the configured
 * architectures, and `-multi` (the manifest-list payload) always. Sorted by version, newest first.
 */
export const releaseTagsOf = (tags: readonly string[], architectures: readonly string[]): string[] => {
  const wanted = new Set([...architectures, 'multi']);
  return tags
    .filter((t) => {
      const p = parseReleaseTag(t);
      return p !== undefined && wanted.has(p.architecture);
    })
    .sort(compareTags);
};

const numbers = (tag: string) => tag.split(/[.-]/).map((p) => (/^\d+$/.test(p) ? Number(p) : p));

/** Newest version first; a tag's architecture breaks ties alphabetically. */
export const compareTags = (a: string, b: string): number => {
  const x = numbers(a);
  const y = numbers(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === q) continue;
    if (p === undefined) return 1;
    if (q === undefined) return -1;
    if (typeof p === 'number' && typeof q === 'number') return q - p;
    return String(p) < String(q) ? -1 : 1;
  }
  return 0;
};
