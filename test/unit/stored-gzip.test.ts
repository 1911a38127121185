/** The stored-block gzip writer against zlib and GNU gzip, for empty, small and multi-block input. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createStoredGzip } from '../../src/formats/gzip/stored-gzip.js';
import { mustRun } from '../helpers/containers.js';
import { requireTool } from '../helpers/tools.js';

const gzipOf = async (chunks: Buffer[]) => {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), createStoredGzip(), new Writable({ write: (c, _e, cb) => (out.push(c), cb()) }));
  return Buffer.concat(out);
};

describe('createStoredGzip', () => {
  const cases: [string, Buffer[]][] = [
    ['nothing', []],
    ['one byte', [Buffer.from('x')]],
    ['exactly one block', [randomBytes(65535)]],
    ['chunks across block boundaries', [randomBytes(70_000), Buffer.alloc(0), randomBytes(1), randomBytes(200_001)]],
  ];
  for (const [name, chunks] of cases) {
    it(`round-trips ${name} through zlib`, async () => {
      const gz = await gzipOf(chunks);
      expect(gunzipSync(gz).equals(Buffer.concat(chunks))).toBe(true);
      // Stored blocks cost 5 bytes per 64 KiB: header 10, trailer 8, final block 5.
      const n = Buffer.concat(chunks).length;
      expect(gz.length).toBeLessThanOrEqual(n + 23 + 5 * (Math.ceil(n / 65535) + chunks.length));
    });
  }
  it.skipIf(!requireTool('gzip'))('is read by GNU gzip, which checks the CRC and length', async () => {
    const data = randomBytes(3 * 2 ** 20 + 17);
    const dir = mkdtempSync(join(tmpdir(), 'reef-gz-'));
    try {
      const file = join(dir, 'x.gz');
      writeFileSync(file, await gzipOf([data.subarray(0, 1000), data.subarray(1000)]));
      await mustRun('gzip', ['-t', file]);
      const out = await mustRun('sh', ['-c', `gzip -dc ${file} | sha256sum`]);
      expect(out.split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
