/**
 * Serialises async work per key (a digest): blob commits and GC removals never interleave.
 * `held(key)` says whether any work holds or waits for the key now, so synchronous work (GC's
 * batched removals) can leave those keys to the lock and do the rest without it.
 */
export const createKeyedLock = () => {
  const tails = new Map<string, Promise<void>>();
  const lock = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => current);
    tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
  return Object.assign(lock, { held: (key: string): boolean => tails.has(key) });
};
export type KeyedLock = ReturnType<typeof createKeyedLock>;
