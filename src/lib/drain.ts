import type { Writable } from 'node:stream';

/** Waits for 'drain' or 'close', removing both listeners either way (no leak per back-pressure). */
export const drainOrClose = (out: Writable) =>
  new Promise<void>((resolve) => {
    if (out.destroyed || out.closed || out.writableFinished) {
      resolve(); // both events are past: waiting for them would hang
      return;
    }
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
