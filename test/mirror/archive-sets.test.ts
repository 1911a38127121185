/**
 * Splitting, incremental runs and damaged sets: an oversized blob gets a chunk of its own and a
 * warning; a second run archives only blobs its history does not list (and --since picks an
 * older history); a flipped byte, a lost chunk or a stray one is refused by the reader, naming it.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MirrorArchiveError } from '../../src/mirror/archive/errors.js';
import { openArchiveSet } from '../../src/mirror/archive/reader.js';
import { createArchiveWriter, type ArchiveResult } from '../../src/mirror/archive/writer.js';
import { mustRun } from '../helpers/containers.js';
import { requireTool } from '../helpers/tools.js';
import { blobTable, makeImage, makeLayer, type TestImage } from './fixtures/images.js';

const haveTar = requireTool('tar');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reef-archive-sets-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = async (images: TestImage[], opts: { out: string; size: number; now: string; since?: Date; fetched?: string[] }): Promise<ArchiveResult> => {
  const blobs = blobTable(images);
  const writer = await createArchiveWriter({ workingDir: join(dir, 'working-dir'), outDir: join(dir, opts.out), archiveSizeBytes: opts.size, since: opts.since, now: () => new Date(opts.now) });
  for (const img of images) {
    await writer.addImage(img.input, async (d) => {
      opts.fetched?.push(d);
      return [blobs.get(d)!];
    });
  }
  return writer.finish();
};

/** Member paths of every chunk, by GNU tar. */
const members = async (result: ArchiveResult): Promise<string[]> => {
  const out: string[] = [];
  for (const a of result.archives) out.push(...(await mustRun('tar', ['-tf', a.path])).trim().split('\n').filter(Boolean));
  return out;
};
const blobMembers = (paths: string[]) => paths.filter((p) => p.startsWith('docker/registry/v2/blobs/')).map((p) => `sha256:${p.split('/')[6]}`).sort();
const allDigests = (images: TestImage[]) => images.flatMap((i) => [...i.manifests.keys(), ...i.blobs.map((b) => b.digest)]);

describe.skipIf(!haveTar)('archive sets', () => {
  it('a blob larger than archiveSize gets a chunk of its own and a warning; every other chunk stays within the size', async () => {
    const size = 64 * 1024;
    const images = [makeImage({ repo: 'big/one', tag: 'v1', seed: 'big', layerSizes: [200 * 1024, 10 * 1024, 12 * 1024] }), makeImage({ repo: 'small/two', tag: 'v1', seed: 'small', layerSizes: [30 * 1024] })];
    const big = images[0]!.blobs[1]!;
    const result = await write(images, { out: 'out', size, now: '2025-01-01T00:00:00Z' });
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain(`sha256/${big.digest.slice(7, 9)}/${big.digest.slice(7)}/data (${big.size} bytes) is larger than archiveSize (${size} bytes)`);
    let alone = 0;
    for (const a of result.archives) {
      const list = (await mustRun('tar', ['-tf', a.path])).trim().split('\n');
      if (list.includes(`docker/registry/v2/blobs/sha256/${big.digest.slice(7, 9)}/${big.digest.slice(7)}/data`)) {
        expect(list).toHaveLength(1);
        expect(a.size).toBeGreaterThan(size);
        alone += 1;
      } else {
        expect(statSync(a.path).size).toBeLessThanOrEqual(size);
      }
    }
    expect(alone).toBe(1);
    expect(result.archives.length).toBeGreaterThanOrEqual(3);
    // The reader takes the set whole, the big blob included.
    const set = await openArchiveSet(join(dir, 'out'));
    const parts: Buffer[] = [];
    for await (const c of set.openBlob(big.digest)) parts.push(c as Buffer);
    expect(Buffer.concat(parts).equals(big.bytes)).toBe(true);
  });

  it('a second run archives only the blobs its history does not list; --since diffs against an older history', async () => {
    const shared = makeLayer('inc/shared', 40 * 1024);
    const a = makeImage({ repo: 'inc/a', tag: 'v1', seed: 'inc/a', layerSizes: [30 * 1024], shared: [shared] });
    const b = makeImage({ repo: 'inc/b', tag: 'v1', seed: 'inc/b', layerSizes: [25 * 1024] });
    const c = makeImage({ repo: 'inc/c', tag: 'v1', seed: 'inc/c', layerSizes: [35 * 1024], shared: [shared] });

    const first = await write([a, b], { out: 'out1', size: 80 * 1024, now: '2025-02-01T10:00:00Z' });
    expect(blobMembers(await members(first))).toEqual([...new Set(allDigests([a, b]))].sort());

    const fetched: string[] = [];
    const second = await write([a, b, c], { out: 'out2', size: 80 * 1024, now: '2025-02-02T10:00:00Z', fetched });
    const newBlobs = [c.digest, c.blobs[0]!.digest, c.blobs[2]!.digest].sort(); // manifest, config, own layer; not the shared one
    const paths2 = await members(second);
    expect(blobMembers(paths2)).toEqual(newBlobs);
    expect(second.blobs).toEqual(newBlobs);
    expect(fetched.sort()).toEqual([c.blobs[0]!.digest, c.blobs[2]!.digest].sort()); // nothing shipped is fetched again
    // All the links are there (as oc-mirror writes them), the working-dir carries the first history.
    expect(paths2).toContain(`docker/registry/v2/repositories/inc/a/_manifests/tags/v1/current/link`);
    expect(paths2).toContain('working-dir/.history/.history-2025-02-01T10:00:00Z');
    expect(paths2).not.toContain('working-dir/.history/.history-2025-02-02T10:00:00Z');
    // The history is cumulative: one digest a line.
    const h2 = readFileSync(second.historyFile, 'utf8');
    expect(h2.endsWith('\n')).toBe(true);
    expect(h2.trim().split('\n')).toEqual([...new Set(allDigests([a, b, c]))].sort());
    // The first run's chunks were in another directory: untouched.
    expect(readdirSync(join(dir, 'out1')).sort()).toEqual([...first.archives.map((x) => x.name), 'SHA256SUMS'].sort());

    // Reading the incremental set: images shipped earlier come without their manifest bytes.
    const set = await openArchiveSet(join(dir, 'out2'));
    const byRepo = new Map(set.images.map((i) => [i.repo, i]));
    expect(byRepo.get('inc/a')).toMatchObject({ digest: a.digest, tags: ['v1'], manifest: undefined });
    expect(byRepo.get('inc/c')!.manifest!.equals(c.manifest)).toBe(true);
    expect(set.hasBlob(shared.layer.digest)).toBe(false);

    // --since before the second run's history: diff against the first one, so c's blobs again.
    const third = await write([a, b, c], { out: 'out3', size: 80 * 1024, now: '2025-02-03T10:00:00Z', since: new Date('2025-02-02T00:00:00Z') });
    expect(blobMembers(await members(third))).toEqual(newBlobs);
    // With no history newer than --since allows, everything.
    const fourth = await write([a, b, c], { out: 'out4', size: 80 * 1024, now: '2025-02-04T10:00:00Z', since: new Date('2025-01-01T00:00:00Z') });
    expect(blobMembers(await members(fourth))).toEqual([...new Set(allDigests([a, b, c]))].sort());
  });

  it('a fresh run in the same outDir replaces the old chunks, partials and list', async () => {
    const img = makeImage({ repo: 'fresh/a', tag: 'v1', seed: 'fresh', layerSizes: [50 * 1024, 50 * 1024] });
    await write([img], { out: 'out', size: 60 * 1024, now: '2025-03-01T00:00:00Z' });
    writeFileSync(join(dir, 'out', 'mirror_000009.tar.partial'), 'junk');
    writeFileSync(join(dir, 'out', 'mirror_000042.tar'), 'junk');
    writeFileSync(join(dir, 'out', 'notes.txt'), 'mine');
    rmSync(join(dir, 'working-dir', '.history'), { recursive: true });
    const again = await write([img], { out: 'out', size: 1024 * 1024, now: '2025-03-02T00:00:00Z' });
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['SHA256SUMS', 'mirror_000001.tar', 'notes.txt']);
    expect(again.archives).toHaveLength(1);
  });

  it('the reader refuses a damaged, missing or stray chunk and names it, before reading anything', async () => {
    const images = [makeImage({ repo: 'dmg/a', tag: 'v1', seed: 'dmg/a', layerSizes: [40 * 1024, 40 * 1024] }), makeImage({ repo: 'dmg/b', tag: 'v1', seed: 'dmg/b', layerSizes: [40 * 1024] })];
    const result = await write(images, { out: 'out', size: 64 * 1024, now: '2025-04-01T00:00:00Z' });
    expect(result.archives.length).toBeGreaterThanOrEqual(3);
    const out = join(dir, 'out');
    await expect(openArchiveSet(out)).resolves.toBeDefined();

    const second = join(out, 'mirror_000002.tar');
    const saved = readFileSync(second);
    const bytes = Buffer.from(saved);
    bytes[Math.floor(bytes.length / 3)]! ^= 0x01;
    writeFileSync(second, bytes);
    const err = await openArchiveSet(out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MirrorArchiveError);
    expect(err).toMatchObject({ code: 'CHUNK_CORRUPT', file: 'mirror_000002.tar' });
    expect((err as Error).message).toContain('mirror_000002.tar');
    expect((err as Error).message).not.toContain('mirror_000001.tar');
    writeFileSync(second, saved);

    const third = join(out, 'mirror_000003.tar');
    const saved3 = readFileSync(third);
    unlinkSync(third);
    await expect(openArchiveSet(out)).rejects.toMatchObject({ code: 'CHUNK_MISSING', file: 'mirror_000003.tar' });
    copyFileSync(second, third); // the wrong chunk under the right name
    await expect(openArchiveSet(out)).rejects.toMatchObject({ code: 'CHUNK_CORRUPT', file: 'mirror_000003.tar' });
    writeFileSync(third, saved3);
    writeFileSync(join(out, 'mirror_000099.tar'), Buffer.alloc(1024));
    await expect(openArchiveSet(out)).rejects.toMatchObject({ code: 'CHUNK_UNLISTED', file: 'mirror_000099.tar' });
    unlinkSync(join(out, 'mirror_000099.tar'));
    await expect(openArchiveSet(out)).resolves.toBeDefined();
    unlinkSync(join(out, 'SHA256SUMS'));
    await expect(openArchiveSet(out)).rejects.toMatchObject({ code: 'CHECKSUMS_MISSING' });
  });
});
