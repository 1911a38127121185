import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPath, listDirectory, MAX_PATH_DEPTH, readVolume } from '../../src/formats/iso9660/reader.js';
import { requireTool } from '../helpers/tools.js';

/**
 * The ISO reader against crafted images: a directory whose record points back at itself (a 16 MB
 * one, named by an igninfo.json path of thousands of components, pinned the server for hours) and
 * paths far deeper than any live ISO. Each lookup is refused, quickly, naming why.
 */
describe('ISO 9660 reader bounds', () => {
  let dir: string;
  let iso: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reef-isoloop-'));
    if (!requireTool('xorriso')) return;
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'a', 'b'), { recursive: true });
    writeFileSync(join(tree, 'a', 'b', 'x.txt'), 'x\n');
    iso = join(dir, 'loop.iso');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', iso, tree], { stdio: 'pipe' });
    // Point a/b's directory record at a's own extent: a now contains itself as B.
    const fh = await open(iso, 'r+');
    try {
      const vol = await readVolume(fh);
      const a = (await listDirectory(fh, vol, vol.root)).find((e) => e.name === 'A')!;
      const b = (await listDirectory(fh, vol, a)).find((e) => e.name === 'B')!;
      const data = Buffer.alloc(a.size);
      await fh.read(data, 0, a.size, a.extent * vol.blockSize);
      for (let at = 0; at < data.length && data[at]! > 0; at += data[at]!) {
        if (data.readUInt32LE(at + 2) === b.extent) {
          data.writeUInt32LE(a.extent, at + 2);
          data.writeUInt32BE(a.extent, at + 6);
        }
      }
      await fh.write(data, 0, a.size, a.extent * vol.blockSize);
    } finally {
      await fh.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a path through a directory that contains itself', async () => {
    if (!requireTool('xorriso')) return;
    const fh = await open(iso, 'r');
    try {
      const vol = await readVolume(fh);
      await expect(findPath(fh, vol, 'A/B/B/B/X.TXT')).rejects.toThrow(/directory loop/);
    } finally {
      await fh.close();
    }
  });

  it('refuses a path deeper than any live ISO before reading a directory', async () => {
    if (!requireTool('xorriso')) return;
    const fh = await open(iso, 'r');
    try {
      const vol = await readVolume(fh);
      const deep = Array.from({ length: 30_000 }, () => 'B').join('/');
      await expect(findPath(fh, vol, `A/${deep}`)).rejects.toThrow(new RegExp(`at most ${MAX_PATH_DEPTH} are followed`));
      // An ordinary path in the same image is still found.
      expect(await findPath(fh, vol, 'A')).toMatchObject({ directory: true });
    } finally {
      await fh.close();
    }
  });
});
