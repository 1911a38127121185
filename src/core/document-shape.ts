/**
 * Bounds on a parsed JSON or YAML document, checked without recursion before anything walks it
 * recursively or copies it (zod, the recipe normaliser, JSON.stringify, the database's JSON
 * columns). A body of a few kilobytes can otherwise nest 100,000 levels deep (a stack overflow)
 * or, through YAML aliases, stand for hundreds of megabytes once expanded: an alias shares the
 * value in memory, but every copy made later writes it out again.
 */
export interface DocumentLimits {
  /** Deepest nesting of arrays and objects allowed. */
  maxDepth: number;
  /** Largest size once expanded, in bytes, about as JSON would write it (each use of an alias counts again). */
  maxExpandedBytes: number;
}

export type ShapeProblem = { kind: 'depth'; limit: number } | { kind: 'size'; limit: number };

/** What one value adds to the expanded size: its text, or the punctuation of a container. */
const sizeOf = (v: unknown): number => (typeof v === 'string' ? v.length + 2 : v === null || typeof v !== 'object' ? 8 : 2);

/** The first limit `value` breaks, or undefined when it keeps within both. Stops as soon as one is passed. */
export const documentShapeProblem = (value: unknown, limits: DocumentLimits): ShapeProblem | undefined => {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  let size = 0;
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    size += sizeOf(v);
    if (size > limits.maxExpandedBytes) return { kind: 'size', limit: limits.maxExpandedBytes };
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > limits.maxDepth) return { kind: 'depth', limit: limits.maxDepth };
    if (Array.isArray(v)) {
      for (const child of v) stack.push({ v: child, depth: depth + 1 });
      continue;
    }
    for (const [key, child] of Object.entries(v)) {
      size += key.length + 3;
      stack.push({ v: child, depth: depth + 1 });
    }
  }
  return undefined;
};

/** The message for a problem, naming what the user can change. */
export const shapeMessage = (p: ShapeProblem): string =>
  p.kind === 'depth'
    ? `nested deeper than ${p.limit} levels`
    : `larger than ${p.limit} bytes once expanded (YAML aliases count each time they are used)`;
