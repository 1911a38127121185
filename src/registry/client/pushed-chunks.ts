import type { OnBody } from './raw-get.js';

/**
 * A push-style body reader (blobPush: chunks handed to a callback, read into one reused buffer)
 * as an async iterable. Each chunk is lent: it stays valid until the consumer asks for the next
 * one (the reader is paused meanwhile), so a consumer that keeps bytes must copy them (the upload
 * chunker does). Ending the iteration early aborts the read and refuses (rejects) any chunk the
 * reader still hands over, so the reader unwinds and the iteration settles; the reader's error
 * ends it too. A chunk handed over while an earlier one is still lent waits its turn.
 */
export async function* pushedChunks(read: (onData: OnBody, signal: AbortSignal) => Promise<void>, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const own = new AbortController();
  let lent: { chunk: Buffer; giveBack: () => void } | undefined;
  let wake: (() => void) | undefined;
  let ended = false;
  let failure: { error: unknown } | undefined;
  /** Set once the consumer stopped: a chunk the reader still hands over is refused, so the reader unwinds. */
  let stopped = false;
  const stop = () => new Error('the consumer stopped reading');
  /** Settles once the last chunk handed over is given back: a chunk is lent only after the one before it. */
  let previous: Promise<void> = Promise.resolve();
  const onData = (chunk: Buffer): Promise<void> => {
    if (stopped) return Promise.reject(stop());
    const before = previous;
    let giveBack!: () => void;
    const given = new Promise<void>((resolve) => (giveBack = resolve));
    previous = given;
    return before.then(() => {
      // A reader that called again before the chunk before was taken (a retried read while the
      // consumer held a chunk) waits its turn: no chunk overwritten, none dropped.
      if (stopped) throw stop();
      lent = { chunk, giveBack };
      wake?.();
      return given;
    });
  };
  const reading = read(onData, signal ? AbortSignal.any([signal, own.signal]) : own.signal).then(
    () => {
      ended = true;
      wake?.();
    },
    (error: unknown) => {
      failure = { error };
      ended = true;
      wake?.();
    },
  );
  try {
    for (;;) {
      if (!lent && !ended) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      if (lent) {
        const { chunk, giveBack } = lent;
        lent = undefined;
        let done = false;
        try {
          yield chunk;
          done = true;
        } finally {
          // Stopped while holding the chunk (return() or throw()): refuse what the reader hands over
          // next (an HTTPS body still holds buffered chunks after the abort) before letting it go on.
          if (!done) stopped = true;
          giveBack();
        }
        continue;
      }
      if (failure) throw failure.error;
      return;
    }
  } finally {
    stopped = true;
    // Handed over but never taken: given back so the reader goes on (and meets the refusal).
    lent?.giveBack();
    if (!ended) {
      own.abort(stop());
      await reading;
    }
  }
}
