import type { OnBody } from './raw-get.js';

/**
 * A push-style body reader (blobPush: chunks handed to a callback, read into one reused buffer)
 * as an async iterable. Each chunk is lent: it stays valid until the consumer asks for the next
 * one (the reader is paused meanwhile), so a consumer that keeps bytes must copy them (the upload
 * chunker does). Ending the iteration early aborts the read; the reader's error ends it too.
 */
export async function* pushedChunks(read: (onData: OnBody, signal: AbortSignal) => Promise<void>, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const own = new AbortController();
  let lent: { chunk: Buffer; giveBack: () => void } | undefined;
  let wake: (() => void) | undefined;
  let ended = false;
  let failure: { error: unknown } | undefined;
  const reading = read(
    (chunk) =>
      new Promise<void>((giveBack) => {
        lent = { chunk, giveBack };
        wake?.();
      }),
    signal ? AbortSignal.any([signal, own.signal]) : own.signal,
  ).then(
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
        try {
          yield chunk;
        } finally {
          giveBack();
        }
        continue;
      }
      if (failure) throw failure.error;
      return;
    }
  } finally {
    if (!ended) {
      own.abort(new Error('the consumer stopped reading'));
      await reading;
    }
  }
}
