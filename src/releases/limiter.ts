/** At most `limit` of the given tasks run at once, across every caller (a shared pool of slots). */
export const createLimiter = (limit: number) => {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
};

/** Runs `work` once per key; later callers share the first call's outcome. */
export const createOnce = <T>() => {
  const calls = new Map<string, Promise<T>>();
  return (key: string, work: () => Promise<T>): Promise<T> => {
    let p = calls.get(key);
    if (!p) {
      p = work();
      calls.set(key, p);
    }
    return p;
  };
};
