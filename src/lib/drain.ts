import type { Writable } from 'node:stream';

/** Waits for 'drain' or 'close', removing both listeners either way (no leak per back-pressure). */
export const drainOrClose = (out: Writable) =>
  new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
