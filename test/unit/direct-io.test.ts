/**
 * Bulk files written and read with O_DIRECT (src/lib/direct-io.ts): the aligned window is found
 * in an over-allocated buffer, the last write is padded and the file cut back to its size, reads
 * stop at a short read, and the bytes are the same as through the page cache. The test dir is
 * on the repository's disk (ext4 here, where O_DIRECT works): the file's open flags show O_DIRECT.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openBulkWriter } from '../../src/lib/batched-writer.js';
import { DIRECT_ALIGN, giveAligned, openDirectSync, takeAligned } from '../../src/lib/direct-io.js';
import { fileChunks } from '../../src/lib/file-chunks.js';

const dir = mkdtempSync(join(process.cwd(), '.direct-io-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The O_DIRECT bit of an open file's flags (/proc/self/fdinfo, octal). */
const isDirect = (fd: number) => (parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8) & constants.O_DIRECT) !== 0;

const writeFile = async (file: string, data: Buffer, batch: number) => {
  const { fh, out } = await openBulkWriter(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, batch);
  const direct = isDirect(fh.fd);
  const lent = Buffer.alloc(50_000);
  try {
    for (let at = 0; at < data.length; ) {
      const n = Math.min(lent.length - (at % 7), data.length - at);
      data.copy(lent, 0, at, at + n);
      await out.write(lent.subarray(0, n));
      lent.fill(0xee); // a lent buffer, reused as soon as the write resolves
      at += n;
    }
    await out.close();
    await fh.sync();
  } finally {
    out.release();
    await fh.close();
  }
  return direct;
};

const readBack = async (file: string, bufferBytes: number) => {
  const parts: Buffer[] = [];
  for await (const c of fileChunks(file, bufferBytes, { direct: true })) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
};

describe('direct I/O for bulk files', () => {
  const sizes = [0, 1, 511, 4095, 4096, 4097, 64 * 1024, 3 * 64 * 1024 + 12_345];

  it.each(sizes)('%i bytes are written direct and read back direct, byte for byte, at their exact size', async (size) => {
    const data = randomBytes(size);
    const file = join(dir, `d-${size}`);
    expect(await writeFile(file, data, 64 * 1024)).toBe(true);
    expect(readFileSync(file).equals(data)).toBe(true);
    expect((await readBack(file, 16 * 1024)).equals(data)).toBe(true);
  });

  it('REEF_NO_DIRECT_IO=1 takes the page-cache path with the same bytes', async () => {
    process.env.REEF_NO_DIRECT_IO = '1';
    try {
      const data = randomBytes(70_001);
      const file = join(dir, 'buffered');
      expect(await writeFile(file, data, 64 * 1024)).toBe(false);
      expect(readFileSync(file).equals(data)).toBe(true);
      expect((await readBack(file, 16 * 1024)).equals(data)).toBe(true);
    } finally {
      delete process.env.REEF_NO_DIRECT_IO;
    }
  });

  it('a write probe given the first bytes writes them, not zeros (a crash right after it leaves the right bytes)', () => {
    const file = join(dir, 'probe');
    const fd = openDirectSync(file, constants.O_RDWR | constants.O_CREAT);
    expect(fd).toBeDefined();
    try {
      const first = randomBytes(DIRECT_ALIGN);
      const window = takeAligned(64 * 1024, fd!, 'write', first);
      expect(window).toBeDefined();
      expect(readFileSync(file).equals(first)).toBe(true);
      giveAligned(window!);
      // Taken again from the pool: probed again, and with no first bytes the probe writes zeros.
      const again = takeAligned(64 * 1024, fd!, 'write');
      expect(again).toBeDefined();
      expect(readFileSync(file).equals(Buffer.alloc(DIRECT_ALIGN))).toBe(true);
      giveAligned(again!);
    } finally {
      closeSync(fd!);
    }
  });
});
