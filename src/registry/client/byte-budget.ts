/**
 * A cap on the bytes held in memory at once by uploads (their PATCH buffers), shared by every
 * upload that uses it: `acquire(n)` waits, first come first served, until `n` bytes are free and
 * hands back the function that frees them. A request larger than the cap is served alone (it
 * waits for everything else to be released) so it can never wait forever.
 */
export interface ByteBudget {
  readonly limit: number;
  /** Bytes held now. */
  readonly held: number;
  acquire(bytes: number, signal?: AbortSignal): Promise<() => void>;
}

export const createByteBudget = (limit: number): ByteBudget => {
  if (!(limit > 0)) throw new Error(`a byte budget needs a positive limit, not ${limit}`);
  let held = 0;
  const waiting: { bytes: number; grant: () => void }[] = [];
  const fits = (bytes: number) => held === 0 || held + bytes <= limit;
  const wake = () => {
    while (waiting.length > 0 && fits(waiting[0]!.bytes)) waiting.shift()!.grant();
  };
  const take = (bytes: number) => {
    held += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held -= bytes;
      wake();
    };
  };
  return {
    limit,
    get held() {
      return held;
    },
    acquire(bytes, signal) {
      signal?.throwIfAborted();
      if (waiting.length === 0 && fits(bytes)) return Promise.resolve(take(bytes));
      return new Promise((resolve, reject) => {
        const entry = {
          bytes,
          grant: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve(take(bytes));
          },
        };
        const onAbort = () => {
          const i = waiting.indexOf(entry);
          if (i >= 0) waiting.splice(i, 1);
          reject(signal!.reason);
          wake();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        waiting.push(entry);
      });
    },
  };
};

/** The default cap on upload buffers in one process: every client shares it unless given its own. */
export const DEFAULT_UPLOAD_MEMORY = 64 * 1024 * 1024;
export const processUploadBudget: ByteBudget = createByteBudget(DEFAULT_UPLOAD_MEMORY);
