/**
 * Large scratch buffers (1–4 MiB read and write buffers) kept for reuse across files and
 * connections, so a run of hundreds of blobs allocates them once instead of per blob (each is
 * external memory the GC has to account for). Up to 64 MiB is kept per pool; a buffer is handed
 * out again only after it was given back, so a holder must not touch it afterwards.
 */
const KEPT_MAX_BYTES = 64 * 1024 * 1024;

/** A pool of buffers by size: `reuse` hands one back out (or undefined), `keep` takes one in. */
export const createBufferPool = () => {
  const kept = new Map<number, Buffer[]>();
  let keptBytes = 0;
  return {
    reuse(bytes: number): Buffer | undefined {
      const b = kept.get(bytes)?.pop();
      if (b) keptBytes -= bytes;
      return b;
    },
    keep(buffer: Buffer): void {
      if (keptBytes + buffer.length > KEPT_MAX_BYTES) return;
      const list = kept.get(buffer.length) ?? [];
      kept.set(buffer.length, list);
      list.push(buffer);
      keptBytes += buffer.length;
    },
  };
};

const plain = createBufferPool();

export const takeBuffer = (bytes: number): Buffer => plain.reuse(bytes) ?? Buffer.allocUnsafeSlow(bytes);

export const giveBuffer = (buffer: Buffer): void => plain.keep(buffer);
