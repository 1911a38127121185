/**
 * pushedChunks turns a push-style reader (one reused buffer, paused while the consumer holds a
 * chunk) into an async iterable: a chunk is not overwritten before the consumer asks for the next,
 * stopping early aborts the reader, and the reader's error reaches the consumer.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { OnBody } from '../../src/registry/client/raw-get.js';
import { pushedChunks } from '../../src/registry/client/pushed-chunks.js';

/** A reader that fills one buffer with 0, 1, 2, … and waits whenever the consumer holds it. */
const reusingReader = (count: number, fail?: Error) => {
  const seen: { aborted: boolean } = { aborted: false };
  const read = async (onData: OnBody, signal: AbortSignal) => {
    const buffer = Buffer.alloc(4);
    for (let i = 0; i < count; i++) {
      if (signal.aborted) {
        seen.aborted = true;
        throw signal.reason;
      }
      buffer.fill(i);
      await onData(buffer);
    }
    if (fail) throw fail;
  };
  return { read, seen };
};

/**
 * A reader shaped like blobPush's HTTPS path (readBlob over undici): it iterates a response body
 * that holds `count` chunks already buffered and does not look at the signal itself; on abort the
 * body is destroyed only in a microtask, as undici does.
 */
const bufferedBodyReader = (count: number) => {
  const seen = { handed: 0 };
  const read = async (onData: OnBody, signal: AbortSignal) => {
    const body = new PassThrough({ objectMode: true }); // one chunk per read, as an HTTP body arrives
    for (let i = 0; i < count; i++) body.write(Buffer.alloc(4, i));
    body.end();
    signal.addEventListener('abort', () => queueMicrotask(() => body.destroy(signal.reason as Error)), { once: true });
    for await (const chunk of body) {
      seen.handed++;
      await onData(chunk as Buffer);
    }
  };
  return { read, seen };
};

describe('pushedChunks', () => {
  it('lends each chunk until the next is asked for', async () => {
    const { read } = reusingReader(5);
    const got: number[] = [];
    for await (const chunk of pushedChunks(read)) {
      await new Promise((r) => setImmediate(r)); // the reader would overwrite now if it were not paused
      got.push(chunk[0]!);
    }
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it('aborts the reader when the consumer stops early', async () => {
    const { read, seen } = reusingReader(100);
    for await (const chunk of pushedChunks(read)) if (chunk[0] === 2) break;
    expect(seen.aborted).toBe(true);
  });

  it("hands the reader's error to the consumer after the chunks before it", async () => {
    const { read } = reusingReader(2, new Error('digest mismatch'));
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const chunk of pushedChunks(read)) got.push(chunk[0]!);
      })(),
    ).rejects.toThrow('digest mismatch');
    expect(got).toEqual([0, 1]);
  });

  // The failure mode of these is the test's timeout (a hang), not a timed assertion.
  it('settles when the consumer stops early and the reader hands over one more buffered chunk (HTTPS body)', { timeout: 5000 }, async () => {
    const { read, seen } = bufferedBodyReader(10);
    const got: number[] = [];
    for await (const chunk of pushedChunks(read)) {
      got.push(chunk[0]!);
      if (got.length === 3) break;
    }
    expect(got).toEqual([0, 1, 2]);
    expect(seen.handed).toBeLessThan(10);
  });

  it('settles when the consumer throws while holding a chunk (HTTPS body)', { timeout: 5000 }, async () => {
    const { read } = bufferedBodyReader(10);
    const source = pushedChunks(read);
    expect((await source.next()).value?.[0]).toBe(0);
    await expect(source.throw(new Error('507 from the destination'))).rejects.toThrow('507 from the destination');
    expect((await source.next()).done).toBe(true);
  });

  it('settles when the consumer stops with a chunk handed over but not yet taken', { timeout: 5000 }, async () => {
    const { read } = bufferedBodyReader(10);
    const source = pushedChunks(read);
    await source.next();
    await new Promise((r) => setImmediate(r)); // the reader hands over chunk 1 meanwhile
    await source.return(undefined);
    expect((await source.next()).done).toBe(true);
  });

  it('a chunk handed over again before the one before was taken (a retried read) waits its turn: none dropped', { timeout: 5000 }, async () => {
    // Like blobPush after rawGet idle timeouts while the consumer held a chunk: each retry hands a
    // chunk from a fresh buffer over without the earlier promise having settled.
    const read = async (onData: OnBody) => {
      const first = onData(Buffer.from([0]));
      const second = onData(Buffer.from([1]));
      const third = onData(Buffer.from([2]));
      await Promise.all([first, second, third]);
      await onData(Buffer.from([3]));
    };
    const got: number[] = [];
    for await (const chunk of pushedChunks(read)) {
      await new Promise((r) => setImmediate(r));
      got.push(chunk[0]!);
    }
    expect(got).toEqual([0, 1, 2, 3]);
  });
});
