import { describe, expect, it } from 'vitest';
import { collectYoung, youngGcPacer } from '../../src/lib/young-gc.js';

describe('youngGcPacer', () => {
  it('collects once per everyBytes reported, carrying nothing over', () => {
    let runs = 0;
    const pace = youngGcPacer(1000, () => runs++);
    for (let i = 0; i < 9; i++) pace(100);
    expect(runs).toBe(0);
    pace(100); // 1000
    expect(runs).toBe(1);
    pace(2500); // one report over the limit: one collection
    expect(runs).toBe(2);
    for (let i = 0; i < 9; i++) pace(100);
    expect(runs).toBe(2);
    pace(100);
    expect(runs).toBe(3);
  });

  it('never collects with everyBytes 0', () => {
    let runs = 0;
    const pace = youngGcPacer(0, () => runs++);
    for (let i = 0; i < 100; i++) pace(1 << 20);
    expect(runs).toBe(0);
  });
});

describe('collectYoung', () => {
  /** Allocates `mib` MiB of unpooled Buffers, keeps none, returns the ArrayBuffer bytes V8 still counts. */
  const makeGarbage = (mib: number) => {
    for (let i = 0; i < mib; i++) Buffer.allocUnsafeSlow(1 << 20).fill(i);
    return process.memoryUsage().arrayBuffers;
  };
  /** ArrayBuffer bytes after giving V8's sweeper up to `ms` of idle turns. */
  const settled = async (ms: number) => {
    const until = Date.now() + ms;
    let last = process.memoryUsage().arrayBuffers;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
      last = process.memoryUsage().arrayBuffers;
    }
    return last;
  };

  it('frees dead Buffers that V8 alone keeps until more are allocated', async () => {
    // 20 MiB stays under V8's own trigger (about 32 MB of new ArrayBuffers): without a collection
    // the dead Buffers are still counted after a quiet second.
    const base = process.memoryUsage().arrayBuffers;
    const grown = makeGarbage(20);
    expect(grown - base).toBeGreaterThanOrEqual(20 << 20);
    expect((await settled(1000)) - base).toBeGreaterThanOrEqual(20 << 20);
    collectYoung();
    expect((await settled(500)) - base).toBeLessThan(4 << 20);
  });

  it('does not expose gc() to the program', () => {
    collectYoung();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});
