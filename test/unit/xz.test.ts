import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { XzFormatError, decodeXz, encodeXz } from '../../src/formats/xz/xz.js';
import { noise } from '../helpers/live-iso.js';
import { requireTool } from '../helpers/tools.js';

const xz = (args: string[], input: Buffer): Buffer => {
  const r = spawnSync('xz', args, { input, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`xz ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return r.stdout;
};

// Text that LZMA compresses well (matches, reps, long distances), plus incompressible bytes.
const TEXT = Buffer.concat([readFileSync('src/formats/xz/lzma-decoder.ts'), readFileSync('src/formats/iso9660/writer.ts'), readFileSync('README.md')]);
const MIXED = Buffer.concat([TEXT, noise(70_000, 9), TEXT.subarray(0, 5000), Buffer.alloc(100_000, 0x41)]);

describe('xz decoding of what xz(1) writes', () => {
  const cases: [string, Buffer, string[]][] = [
    ['text, CRC32 (as coreos-installer writes)', TEXT, ['--check=crc32']],
    ['mixed, -9e, CRC64', MIXED, ['-9e', '--check=crc64']],
    ['mixed, -0, SHA-256', MIXED, ['-0', '--check=sha256']],
    ['incompressible (stored LZMA2 chunks)', noise(200_000, 3), ['--check=crc32']],
    ['empty input', Buffer.alloc(0), ['--check=crc32']],
    ['one byte, no check', Buffer.from('x'), ['--check=none']],
    ['multi-block (threads, 40 KB blocks)', MIXED, ['-T2', '--block-size=40000', '--check=crc32']],
    ['lc=0 lp=2 pb=0 (other literal and position contexts)', MIXED, ['--format=xz', '--check=crc32', '--lzma2=preset=6,lc=0,lp=2,pb=0']],
    ['lc=4 pb=4', TEXT, ['--check=crc32', '--lzma2=preset=6,lc=4,lp=0,pb=4']],
  ];
  for (const [name, data, args] of cases) {
    it(`decodes ${name} to the original bytes`, () => {
      if (!requireTool('xz')) return;
      expect(decodeXz(xz(['-c', ...args], data)).equals(data)).toBe(true);
    });
  }

  it('decodes concatenated streams followed by zero padding, as in an embed area', () => {
    if (!requireTool('xz')) return;
    const a = xz(['-c', '--check=crc32'], TEXT);
    const b = xz(['-c', '--check=crc64'], MIXED);
    expect(decodeXz(Buffer.concat([a, Buffer.alloc(8), b, Buffer.alloc(65536)])).equals(Buffer.concat([TEXT, MIXED]))).toBe(true);
  });

  it('rejects damaged data instead of returning wrong bytes', () => {
    if (!requireTool('xz')) return;
    const good = xz(['-c', '--check=crc32'], TEXT);
    for (const at of [20, Math.floor(good.length / 2), good.length - 30]) {
      const bad = Buffer.from(good);
      bad[at]! ^= 0x10;
      expect(() => decodeXz(bad)).toThrow(XzFormatError);
    }
    expect(() => decodeXz(good.subarray(0, good.length - 13))).toThrow(XzFormatError);
    expect(() => decodeXz(Buffer.from('not xz at all'))).toThrow(/bad magic/);
  });

  it('refuses output beyond the limit (a decompression bomb)', () => {
    if (!requireTool('xz')) return;
    const bomb = xz(['-c', '--check=crc32'], Buffer.alloc(8 << 20));
    expect(bomb.length).toBeLessThan(4096);
    expect(() => decodeXz(bomb, 1 << 20)).toThrow(/exceeds 1048576 bytes/);
  });
});

describe('xz encoding (LZMA2, CRC32)', () => {
  const inputs: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from('x')],
    ['incompressible, 65,535 bytes', noise(65_535, 2)],
    ['incompressible, 65,537 bytes (two chunks)', noise(65_537, 3)],
    ['text', TEXT],
    ['mixed text, noise and runs (stored and LZMA chunks in one stream)', MIXED],
    ['1 MiB of zeros', Buffer.alloc(1 << 20)],
  ];
  for (const [name, data] of inputs) {
    it(`writes ${name} that xz -d accepts and restores exactly, with a CRC32 check`, () => {
      if (!requireTool('xz')) return;
      const enc = encodeXz(data);
      expect(enc.length % 4).toBe(0);
      expect(xz(['-dc'], Buffer.concat([enc, Buffer.alloc(1024)])).equals(data)).toBe(true);
      const list = spawnSync('sh', ['-c', 'f=$(mktemp); cat > "$f"; xz --robot -lv "$f"; rm -f "$f"'], { input: enc }).stdout.toString();
      expect(list).toMatch(/\bCRC32\b/);
      expect(decodeXz(enc).equals(data)).toBe(true);
    });
  }

  it('really compresses: within 15% of xz -6 on text, and never more than a few bytes over stored size', () => {
    if (!requireTool('xz')) return;
    for (const data of [TEXT, MIXED]) {
      const ours = encodeXz(data).length;
      expect(ours).toBeLessThan(data.length / 2);
      expect(ours).toBeLessThan(xz(['-c', '-6', '--check=crc32'], data).length * 1.15);
    }
    const random = noise(200_000, 11);
    expect(encodeXz(random).length).toBeLessThan(random.length + 128);
  });
});
