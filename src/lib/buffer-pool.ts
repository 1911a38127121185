/**
 * Large scratch buffers (1–4 MiB read and write buffers) kept for reuse across files and
 * connections, so a run of hundreds of blobs allocates them once instead of per blob (each is
 * external memory the GC has to account for). Up to 64 MiB is kept; a buffer is handed out again
 * only after it was given back, so a holder must not touch it afterwards.
 */
const kept = new Map<number, Buffer[]>();
const KEPT_MAX_BYTES = 64 * 1024 * 1024;
let keptBytes = 0;

export const takeBuffer = (bytes: number): Buffer => {
  const b = kept.get(bytes)?.pop();
  if (!b) return Buffer.allocUnsafeSlow(bytes);
  keptBytes -= bytes;
  return b;
};

export const giveBuffer = (buffer: Buffer): void => {
  if (keptBytes + buffer.length > KEPT_MAX_BYTES) return;
  const list = kept.get(buffer.length) ?? [];
  kept.set(buffer.length, list);
  list.push(buffer);
  keptBytes += buffer.length;
};
