import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPath, listDirectory, readVolume } from '../../src/formats/iso9660/reader.js';
import { buildLiveIso } from '../helpers/live-iso.js';
import { reefResult } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

/**
 * A live ISO whose embed area (the file igninfo.json names) lies over the image's own structure:
 * embedding or resetting would have reported success and left an unreadable ISO. Each surface
 * refuses it before writing a byte.
 */
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Points images/ignition.img's directory record at `lba` (16 = the Primary Volume Descriptor). */
const pointImgAt = async (iso: string, target: (vol: Awaited<ReturnType<typeof readVolume>>) => Promise<number> | number) => {
  const fh = await open(iso, 'r+');
  try {
    const vol = await readVolume(fh);
    const images = (await findPath(fh, vol, 'IMAGES'))!;
    const img = (await listDirectory(fh, vol, images)).find((e) => e.name === 'IGNITION.IMG')!;
    const lba = await target(vol);
    const data = Buffer.alloc(images.size);
    await fh.read(data, 0, images.size, images.extent * vol.blockSize);
    for (let at = 0; at < data.length; at += data[at]! || 2048 - (at % 2048)) {
      if (data[at] && data.readUInt32LE(at + 2) === img.extent) {
        data.writeUInt32LE(lba, at + 2);
        data.writeUInt32BE(lba, at + 6);
      }
    }
    await fh.write(data, 0, images.size, images.extent * vol.blockSize);
  } finally {
    await fh.close();
  }
};

describe('an embed area over the ISO structure', () => {
  let dir: string;
  let reef: TestReef;
  const config = join(tmpdir(), `reef-overlap-${process.pid}.ign`);
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reef-overlap-'));
    writeFileSync(config, JSON.stringify({ ignition: { version: '3.2.0' } }));
    reef = await startTestReef();
  });
  afterAll(async () => {
    await reef?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(config, { force: true });
  });

  for (const [what, target, says] of [
    ['the volume descriptors', () => 16, /overlaps the system area and volume descriptors/],
    ['the root directory', (vol: { root: { extent: number } }) => vol.root.extent, /overlaps (a root directory|the directory \/)/],
  ] as const) {
    it(`over ${what}: iso embed and iso reset refuse and leave the ISO as it was; an upload as a base is a 400`, async () => {
      if (!requireTool('xorriso')) return;
      const built = buildLiveIso(dir, 'igninfo', 64 * 1024);
      await pointImgAt(built.path, target);
      const before = sha(built.path);
      const embed = await reefResult(['iso', 'embed', '--ignition', config, '--in', built.path]);
      expect(embed.code).toBe(2);
      expect(embed.stderr).toMatch(says);
      expect(embed.stderr).not.toMatch(/\n\s+at /); // one clear line, no stack
      const reset = await reefResult(['iso', 'reset', built.path]);
      expect(reset.code).not.toBe(0);
      expect(reset.stderr).toMatch(says);
      expect(sha(built.path)).toBe(before);
      const up = await reef.req('/api/v1/isos/bases/crafted', { method: 'PUT', body: readFileSync(built.path) });
      expect(up.status).toBe(400);
      expect(((await up.json()) as any).error.message).toMatch(says);
    });
  }
});
