/**
 * Upload memory is capped for the whole process, not per blob: many chunked uploads at once into
 * a real reef hold no more than the budget in PATCH buffers (bytes read from their sources and not
 * yet acknowledged by the registry), and every blob still lands whole. Also: the byte budget's
 * own rules (first come first served, a request over the cap served alone, abort while waiting).
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createByteBudget } from '../../src/registry/client/byte-budget.js';
import { createOciClient } from '../../src/registry/client/oci-client.js';
import { startTestReef, type TestReef } from '../helpers/server.js';

const KiB = 1024;
const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('upload memory budget', () => {
  let reef: TestReef;
  beforeAll(async () => {
    reef = await startTestReef();
  });
  afterAll(async () => {
    await reef?.stop();
  });

  it('eight 1.5 MiB uploads at once in 256 KiB chunks under a 1 MiB budget: at most 1 MiB read and unacknowledged, every blob whole', async () => {
    const budget = createByteBudget(1024 * KiB);
    const client = createOciClient({ registry: new URL(reef.url).host, plainHttp: true, chunkSize: 256 * KiB, uploadBudget: budget });
    const blobs = Array.from({ length: 8 }, () => randomBytes(1536 * KiB));
    const read = new Array<number>(blobs.length).fill(0);
    const acked = new Array<number>(blobs.length).fill(0);
    let peak = 0;
    const inFlight = () => read.reduce((a, b) => a + b, 0) - acked.reduce((a, b) => a + b, 0);
    // A source that hands out 64 KiB at a time and notes what is read but not yet acknowledged.
    const source = async function* (i: number) {
      for (let at = 0; at < blobs[i]!.length; at += 64 * KiB) {
        const piece = blobs[i]!.subarray(at, at + 64 * KiB);
        read[i]! += piece.length;
        peak = Math.max(peak, inFlight());
        yield piece;
      }
    };
    await Promise.all(
      blobs.map((b, i) =>
        client.uploadBlob('budget/test', digestOf(b), b.length, source(i), {
          onProgress: (done) => {
            acked[i] = done;
          },
        }),
      ),
    );
    // Without a shared cap each upload holds its chunk in flight and the next being read: 8 × 512 KiB.
    expect(peak).toBeLessThanOrEqual(1024 * KiB);
    expect(peak).toBeGreaterThanOrEqual(256 * KiB);
    expect(budget.held).toBe(0);
    for (const b of blobs) {
      const res = await reef.req(`/v2/budget/test/blobs/${digestOf(b)}`);
      expect(Buffer.from(await res.arrayBuffer()).equals(b)).toBe(true);
    }
  });

  it('an upload whose source fails gives its share back', async () => {
    const budget = createByteBudget(512 * KiB);
    const client = createOciClient({ registry: new URL(reef.url).host, plainHttp: true, chunkSize: 256 * KiB, uploadBudget: budget, retries: 0 });
    const failing = async function* () {
      yield randomBytes(300 * KiB);
      throw new Error('source dropped');
    };
    await expect(client.uploadBlob('budget/test', `sha256:${'0'.repeat(64)}`, 1024 * KiB, failing())).rejects.toThrow('source dropped');
    expect(budget.held).toBe(0);
  });

  it('grants in order, serves a request over the cap alone, and drops a waiter whose signal aborts', async () => {
    const budget = createByteBudget(100);
    const order: string[] = [];
    const a = await budget.acquire(60);
    const b = budget.acquire(60).then((r) => (order.push('b'), r));
    const ac = new AbortController();
    const c = budget.acquire(10, ac.signal).then((r) => (order.push('c'), r));
    const big = budget.acquire(500).then((r) => (order.push('big'), r));
    // c would fit now but waits its turn behind b (first come, first served).
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    ac.abort(new Error('gave up'));
    await expect(c).rejects.toThrow('gave up');
    a();
    (await b)();
    (await big)();
    expect(order).toEqual(['b', 'big']);
    expect(budget.held).toBe(0);
  });
});
