import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsoFormatError, findPath, listDirectory, readEntry, readVolume } from '../../src/formats/iso9660/reader.js';
import { readIsoFiles } from '../../src/maintenance-os/find-task.js';
import { buildIso } from '../../src/formats/iso9660/writer.js';
import { isoFileExtent, noise } from '../helpers/live-iso.js';
import { requireTool } from '../helpers/tools.js';

describe('ISO 9660 reader', () => {
  let dir: string;
  let iso: string;
  const many = Array.from({ length: 120 }, (_, i) => `f${String(i).padStart(3, '0')}.dat`);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reef-isoread-'));
    if (!requireTool('xorriso')) return;
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'big', 'deeper'), { recursive: true });
    // 120 records of ~40 bytes: the directory spans three sectors, records never cross one.
    many.forEach((name, i) => writeFileSync(join(tree, 'big', name), noise(100 + i * 37, i + 1)));
    writeFileSync(join(tree, 'big', 'deeper', 'leaf.txt'), 'leaf\n');
    writeFileSync(join(tree, 'top.cfg'), 'top\n');
    writeFileSync(join(tree, 'user-data'), '#cloud-config\n');
    writeFileSync(join(tree, 'a-rather-long-posix-file-name.json'), '{}\n');
    iso = join(dir, 'x.iso');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', iso, '-R', '-J', tree], { stdio: 'pipe' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the Rock Ridge names xorriso records (NM), beside the ISO 9660 ones', async () => {
    if (!requireTool('xorriso')) return;
    const fh = await open(iso, 'r');
    try {
      const vol = await readVolume(fh);
      const root = await listDirectory(fh, vol, vol.root);
      const byRr = new Map(root.map((e) => [e.rrName, e]));
      expect([...byRr.keys()].sort()).toEqual(['a-rather-long-posix-file-name.json', 'big', 'top.cfg', 'user-data']);
      expect((await readEntry(fh, vol, byRr.get('user-data')!)).toString()).toBe('#cloud-config\n');
      expect(byRr.get('user-data')!.name).not.toBe('user-data'); // the ISO 9660 name is another, upper-case one
    } finally {
      await fh.close();
    }
  });

  it('reads a task ISO written by reef (Rock Ridge names) without mounting it or any tool', async () => {
    const task = join(dir, 'task.iso');
    const files = { 'task.json': '{"job_id":"X"}\n', 'recipe.json': '{}\n', 'user-data': '#cloud-config\n', 'meta-data': 'instance-id: x\n', 'unattend.xml': '<unattend/>' };
    writeFileSync(task, buildIso({ volumeId: 'TASK_X', files: Object.entries(files).map(([name, text]) => ({ name, data: Buffer.from(text) })), time: new Date(0) }));
    expect(await readIsoFiles(task)).toEqual(files);
  });

  it('finds every file of a multi-sector directory where xorriso put it, with its size', async () => {
    if (!requireTool('xorriso')) return;
    const fh = await open(iso, 'r');
    try {
      const vol = await readVolume(fh);
      const big = await findPath(fh, vol, 'BIG');
      expect(big?.directory).toBe(true);
      expect(big!.size).toBeGreaterThan(2 * 2048);
      const listed = await listDirectory(fh, vol, big!);
      expect(listed.map((e) => e.name).sort()).toEqual([...many.map((n) => n.toUpperCase()), 'DEEPER'].sort());
      for (const name of [many[0]!, many[57]!, many[119]!]) {
        const entry = await findPath(fh, vol, `big/${name}`);
        const truth = isoFileExtent(iso, `/big/${name}`);
        expect({ offset: entry!.extent * 2048, size: entry!.size }).toEqual(truth);
      }
      const leaf = await findPath(fh, vol, 'BIG/DEEPER/LEAF.TXT');
      expect(leaf?.extent ? leaf.extent * 2048 : -1).toBe(isoFileExtent(iso, '/big/deeper/leaf.txt').offset);
      expect(await findPath(fh, vol, 'big/missing.dat')).toBeUndefined();
      expect(await findPath(fh, vol, 'top.cfg/inside')).toBeUndefined();
    } finally {
      await fh.close();
    }
  });

  it("reads reef's own writer's images", async () => {
    const path = join(dir, 'own.iso');
    writeFileSync(path, buildIso({ volumeId: 'OWN', files: [{ name: 'recipe.json', data: Buffer.from('{"a":1}') }], time: new Date('2024-01-01T00:00:00Z') }));
    const fh = await open(path, 'r');
    try {
      const vol = await readVolume(fh);
      const entry = await findPath(fh, vol, 'RECIPE.JSON');
      const buf = Buffer.alloc(entry!.size);
      await fh.read(buf, 0, entry!.size, entry!.extent * vol.blockSize);
      expect(buf.toString()).toBe('{"a":1}');
    } finally {
      await fh.close();
    }
  });

  it('rejects a file that is not an ISO 9660 image', async () => {
    const path = join(dir, 'not.iso');
    writeFileSync(path, noise(64 * 1024, 5));
    const fh = await open(path, 'r');
    try {
      await expect(readVolume(fh)).rejects.toThrow(IsoFormatError);
    } finally {
      await fh.close();
    }
    writeFileSync(path, Buffer.alloc(1000));
    const short = await open(path, 'r');
    try {
      await expect(readVolume(short)).rejects.toThrow(/ends before byte/);
    } finally {
      await short.close();
    }
  });
});
