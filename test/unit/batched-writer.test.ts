/**
 * The batched file writer copies each piece before its write resolves (the caller may overwrite
 * it at once, as a lent read buffer is) and writes them in order across batch boundaries.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBatchedWriter } from '../../src/lib/batched-writer.js';

describe('createBatchedWriter', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-batched-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes pieces of any size, each from one reused buffer, byte for byte', async () => {
    const data = randomBytes(5 * 64 * 1024 + 12345);
    const file = join(dir, 'out.bin');
    const fh = await open(file, 'wx');
    const out = createBatchedWriter(fh, 64 * 1024);
    const lent = Buffer.alloc(100_000);
    const sizes = [1, 7, 65_536, 99_999, 3, 70_000];
    try {
      for (let at = 0, i = 0; at < data.length; i++) {
        const n = Math.min(sizes[i % sizes.length]!, data.length - at);
        data.copy(lent, 0, at, at + n);
        await out.write(lent.subarray(0, n));
        lent.fill(0xee); // the lender reuses its buffer as soon as the write resolves
        at += n;
      }
      await out.close();
    } finally {
      out.release();
      await fh.close();
    }
    expect(readFileSync(file).equals(data)).toBe(true);
  });
});
