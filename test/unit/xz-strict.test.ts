import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { Output } from '../../src/formats/xz/lzma-decoder.js';
import { decodeLzma2, encodeLzma2 } from '../../src/formats/xz/lzma2.js';
import { decodeXz } from '../../src/formats/xz/xz.js';
import { le32 } from '../helpers/bytes.js';
import { requireTool } from '../helpers/tools.js';

/**
 * Hand-made .xz streams, each breaking one rule of the format while every checksum stays valid:
 * reef's decoder must refuse what `xz -t` (the oracle, run beside it) refuses.
 */
const dir = mkdtempSync(join(tmpdir(), 'reef-xzstrict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const xzTestAccepts = (bytes: Buffer): boolean => {
  const f = join(dir, `t-${Math.random().toString(36).slice(2)}.xz`);
  writeFileSync(f, bytes);
  return spawnSync('xz', ['-t', f]).status === 0;
};
/** A real stream from xz itself (CRC32 check, one block). */
const realStream = (): Buffer => execFileSync('xz', ['--check=crc32', '-z', '-c'], { input: Buffer.from('reef '.repeat(200)) });

describe('xz verdicts no weaker than xz -t', () => {
  it('non-zero block header padding, CRC fixed up', () => {
    if (!requireTool('xz')) return;
    const x = Buffer.from(realStream());
    const hdrLen = (x[12]! + 1) * 4;
    // Block header: size, flags, filter (id 0x21, props size 1, props), then padding, then CRC32.
    x[12 + 5] = 0x01;
    le32(crc32(x.subarray(12, 12 + hdrLen - 4))).copy(x, 12 + hdrLen - 4);
    expect(xzTestAccepts(x)).toBe(false);
    expect(() => decodeXz(x)).toThrow(/non-zero block header padding/);
  });

  it('non-zero index padding, CRC fixed up', () => {
    if (!requireTool('xz')) return;
    const x = Buffer.from(realStream());
    const backward = (x.readUInt32LE(x.length - 8) + 1) * 4;
    const indexStart = x.length - 12 - backward;
    // 0x00, count 1, unpadded and uncompressed sizes (VLIs), padding to 4, CRC32.
    let p = indexStart + 2;
    for (let vlis = 0; vlis < 2; vlis++) while (x[p++]! & 0x80);
    expect(p % 4).not.toBe(0); // there is padding to break in this stream
    x[p] = 0x01;
    le32(crc32(x.subarray(indexStart, x.length - 16))).copy(x, x.length - 16);
    expect(xzTestAccepts(x)).toBe(false);
    expect(() => decodeXz(x)).toThrow(/non-zero index padding/);
  });

  it('stream padding between two streams that is not a multiple of 4', () => {
    if (!requireTool('xz')) return;
    const two = Buffer.concat([realStream(), Buffer.alloc(3), realStream()]);
    expect(xzTestAccepts(two)).toBe(false);
    expect(() => decodeXz(two)).toThrow(/stream padding is not a multiple of 4/);
    // Whole units of padding are fine, for both.
    const ok = Buffer.concat([realStream(), Buffer.alloc(4), realStream()]);
    expect(xzTestAccepts(ok)).toBe(true);
    expect(decodeXz(ok).toString()).toBe('reef '.repeat(400));
  });

  it('an LZMA chunk without new properties right after a dictionary reset (liblzma: LZMA_DATA_ERROR)', () => {
    const lz = encodeLzma2(Buffer.from('abcabcabc'.repeat(20)));
    expect(lz[0]! & 0xe0).toBe(0xe0); // the encoder's first chunk resets dictionary, state and properties
    const packed = ((lz[3]! << 8) | lz[4]!) + 1;
    const chunk = lz.subarray(0, 6 + packed);
    // The same LZMA chunk again, now marked "no reset" (0x80 | size bits), after a stored chunk
    // that resets the dictionary: properties are due and missing.
    const noProps = Buffer.concat([Buffer.from([0x80 | (chunk[0]! & 0x1f)]), chunk.subarray(1, 5), chunk.subarray(6)]);
    const stream = Buffer.concat([chunk, Buffer.from([0x01, 0x00, 0x00, 0x41]), noProps, Buffer.from([0x00])]);
    expect(() => decodeLzma2(stream, 0, stream.length, new Output(1 << 20))).toThrow(/LZMA chunk without properties/);
  });
});
