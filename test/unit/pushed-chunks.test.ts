/**
 * pushedChunks turns a push-style reader (one reused buffer, paused while the consumer holds a
 * chunk) into an async iterable: a chunk is not overwritten before the consumer asks for the next,
 * stopping early aborts the reader, and the reader's error reaches the consumer.
 */
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
});
