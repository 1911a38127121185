import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noise } from './bytes.js';

export { noise } from './bytes.js';

export type LiveIsoVariant = 'igninfo' | 'igninfo-offset' | 'img-only';

export interface LiveIsoFixture {
  path: string;
  /** Where the embed area is, from xorriso's own report (not from reef's reader). */
  areaOffset: number;
  areaLength: number;
  /** The embed area's offset inside images/ignition.img. */
  offsetInImg: number;
}

export const IMG_BYTES = 256 * 1024;
const SLICE = { offset: 8192, length: 128 * 1024 };

/** Where xorriso put a file: its first byte in the image and its size. */
export const isoFileExtent = (iso: string, path: string): { offset: number; size: number } => {
  const out = execFileSync('xorriso', ['-indev', iso, '-find', path, '-exec', 'report_lba', '--'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const m = /File data lba:\s*\d+\s*,\s*(\d+)\s*,\s*\d+\s*,\s*(\d+)\s*,/.exec(out);
  if (!m) throw new Error(`xorriso did not report ${path}:\n${out}`);
  return { offset: Number(m[1]) * 2048, size: Number(m[2]) };
};

/**
 * A CoreOS-shaped live ISO built with xorriso: images/ignition.img (256 KiB of zeros), optionally
 * coreos/igninfo.json naming it (whole file, or a slice with offset/length), and other files
 * (a kernel-sized random file, a boot config, a nested directory).
 */
export const buildLiveIso = (dir: string, variant: LiveIsoVariant, extraBytes = 2 * 1024 * 1024): LiveIsoFixture => {
  const tree = join(dir, `tree-${variant}`);
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(join(tree, 'images', 'pxeboot'), { recursive: true });
  mkdirSync(join(tree, 'isolinux'), { recursive: true });
  writeFileSync(join(tree, 'images', 'ignition.img'), Buffer.alloc(IMG_BYTES));
  writeFileSync(join(tree, 'images', 'pxeboot', 'vmlinuz'), noise(extraBytes, 1));
  writeFileSync(join(tree, 'images', 'pxeboot', 'initrd.img'), noise(extraBytes / 2, 2));
  writeFileSync(join(tree, 'isolinux', 'isolinux.cfg'), 'default coreos\nlabel coreos\n  kernel /images/pxeboot/vmlinuz\n');
  writeFileSync(join(tree, 'zz-after.txt'), 'a file laid out after the embed area\n'.repeat(200));
  if (variant !== 'img-only') {
    mkdirSync(join(tree, 'coreos'));
    const info = variant === 'igninfo' ? { file: 'images/ignition.img' } : { file: 'images/ignition.img', ...SLICE };
    writeFileSync(join(tree, 'coreos', 'igninfo.json'), JSON.stringify(info));
  }
  const path = join(dir, `live-${variant}.iso`);
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', path, '-V', 'COREOS_LIVE', '-R', '-J', tree], { stdio: 'pipe' });
  rmSync(tree, { recursive: true, force: true });
  const img = isoFileExtent(path, '/images/ignition.img');
  const offsetInImg = variant === 'igninfo-offset' ? SLICE.offset : 0;
  return { path, areaOffset: img.offset + offsetInImg, areaLength: variant === 'igninfo-offset' ? SLICE.length : img.size, offsetInImg };
};

/** sha256 of a file with the bytes [skipStart, skipEnd) left out, and the file's size. */
export const hashOutside = (path: string, skipStart: number, skipEnd: number): string => {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const buf = Buffer.alloc(1024 * 1024);
    for (const [from, to] of [
      [0, skipStart],
      [skipEnd, size],
    ] as const) {
      for (let pos = from; pos < to; ) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, to - pos), pos);
        h.update(buf.subarray(0, n));
        pos += n;
      }
    }
    h.update(String(size));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
};

/** The bytes [offset, offset + length) of a file. */
export const readRange = (path: string, offset: number, length: number): Buffer => {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, offset);
    return buf;
  } finally {
    closeSync(fd);
  }
};
