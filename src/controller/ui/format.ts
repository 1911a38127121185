/** Done of total as a whole percentage, or undefined when the total is unknown. */
export const percentOf = (done: number | null, total: number | null): number | undefined =>
  done !== null && total ? Math.min(100, Math.floor((done / total) * 100)) : undefined;
