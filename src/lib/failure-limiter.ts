/**
 * Counts failed logins per client address in a fixed window; past `max` in the window, the address
 * waits for the window to end. Bounded: at most `maxAddresses` are tracked, the oldest dropped first.
 */
export const createFailureLimiter = (opts: { max: number; windowMs: number; maxAddresses?: number; now?: () => number }) => {
  const now = opts.now ?? Date.now;
  const maxAddresses = opts.maxAddresses ?? 10_000;
  const seen = new Map<string, { count: number; since: number }>();
  const current = (address: string) => {
    const e = seen.get(address);
    if (e && now() - e.since < opts.windowMs) return e;
    if (e) seen.delete(address);
    return undefined;
  };
  return {
    /** Seconds to wait before this address may try again; 0 when it may now. */
    retryAfter(address: string): number {
      const e = current(address);
      if (!e || e.count < opts.max) return 0;
      return Math.max(1, Math.ceil((e.since + opts.windowMs - now()) / 1000));
    },
    fail(address: string): void {
      const e = current(address);
      if (e) {
        e.count++;
        return;
      }
      if (seen.size >= maxAddresses) seen.delete(seen.keys().next().value!);
      seen.set(address, { count: 1, since: now() });
    },
  };
};
export type FailureLimiter = ReturnType<typeof createFailureLimiter>;
