/** Reads exactly n bytes at a time from a stream of chunks of any size. */
export const chunkReader = (source: AsyncIterable<Buffer>) => {
  const it = source[Symbol.asyncIterator]();
  let left: Buffer = Buffer.alloc(0);
  let ended = false;
  return {
    /**
     * n bytes in a buffer of their own (`into` when given; the source may reuse its buffers: raw
     * reads), fewer only when the source ends first: one copy, no concatenation.
     */
    async read(n: number, into?: Buffer): Promise<Buffer> {
      const out = into ? into.subarray(0, n) : Buffer.allocUnsafeSlow(n);
      let have = 0;
      while (have < n) {
        if (left.length === 0) {
          if (ended) break;
          const next = await it.next();
          if (next.done) {
            ended = true;
            break;
          }
          left = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
          continue;
        }
        const take = Math.min(left.length, n - have);
        left.copy(out, have, 0, take);
        have += take;
        left = left.subarray(take);
      }
      return have === n ? out : out.subarray(0, have);
    },
    /** Reads to the end (a verifying source checks its digest there); true when nothing was left. */
    async drained(): Promise<boolean> {
      if (left.length > 0) return false;
      for (;;) {
        if (ended) return true;
        const next = await it.next();
        if (next.done) {
          ended = true;
          return true;
        }
        if ((next.value as Uint8Array).length > 0) return false;
      }
    },
    async close() {
      await it.return?.();
    },
  };
};
