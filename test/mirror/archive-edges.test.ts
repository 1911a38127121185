/**
 * Edges of the archive format and the writer's contract: names too long for ustar go through pax
 * headers, sizes past 8 GiB in base-256 (both read back by GNU tar and by reef's indexer); a run
 * whose fetch failed does not write an archive with the image half in it.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openArchiveSet } from '../../src/mirror/archive/reader.js';
import { END_OF_ARCHIVE, memberHeader, padding } from '../../src/mirror/archive/tar-format.js';
import { indexTar } from '../../src/mirror/archive/tar-index.js';
import { createArchiveWriter } from '../../src/mirror/archive/writer.js';
import { mustRun } from '../helpers/containers.js';
import { requireTool } from '../helpers/tools.js';
import { blobTable, makeImage } from './fixtures/images.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reef-archive-edges-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!requireTool('tar'))('archive edges', () => {
  it('a 128-character tag in a long repository name goes through a pax header that GNU tar and the reader both follow', async () => {
    const repo = `${'deep/'.repeat(20)}${'r'.repeat(60)}`;
    const tag = `t${'x'.repeat(127)}`;
    const img = makeImage({ repo, tag, seed: 'long', layerSizes: [1024] });
    const blobs = blobTable([img]);
    const writer = await createArchiveWriter({ workingDir: join(dir, 'wd'), outDir: join(dir, 'out'), archiveSizeBytes: 1024 * 1024, now: () => new Date('2025-06-01T00:00:00Z') });
    await writer.addImage(img.input, async (d) => [blobs.get(d)!]);
    const result = await writer.finish();
    const listed = (await mustRun('tar', ['-tf', result.archives[0]!.path])).split('\n');
    const indexLink = `docker/registry/v2/repositories/${repo}/_manifests/tags/${tag}/index/sha256/${img.digest.slice(7)}/link`;
    expect(indexLink.length).toBeGreaterThan(255);
    expect(listed).toContain(indexLink);
    const set = await openArchiveSet(join(dir, 'out'));
    expect(set.images).toMatchObject([{ repo, tags: [tag], digest: img.digest }]);
  });

  it('a member past 8 GiB gets a base-256 size that GNU tar lists and the indexer reads (a sparse file)', async () => {
    const size = 9 * 1024 ** 3 + 5;
    const name = `docker/registry/v2/blobs/sha256/ab/${'ab'.repeat(32)}/data`;
    const header = memberHeader(name, size, 1_700_000_000);
    const file = join(dir, 'mirror_000001.tar');
    const fd = openSync(file, 'w');
    writeSync(fd, header, 0, header.length, 0);
    const total = header.length + size + padding(size) + END_OF_ARCHIVE.length;
    writeSync(fd, END_OF_ARCHIVE, 0, END_OF_ARCHIVE.length, total - END_OF_ARCHIVE.length);
    closeSync(fd);
    const line = (await mustRun('tar', ['-tvf', file])).trim();
    expect(line).toContain(` ${size} `);
    expect(line.endsWith(name)).toBe(true);
    const fh = await open(file, 'r');
    try {
      expect(await indexTar(fh, total, 'mirror_000001.tar')).toEqual([{ path: name, size, offset: header.length }]);
    } finally {
      await fh.close();
    }
  });

  it('a failed fetch leaves no archive: finish refuses until the image is added whole', async () => {
    const img = makeImage({ repo: 'fail/a', tag: 'v1', seed: 'fail', layerSizes: [4096, 4096] });
    const blobs = blobTable([img]);
    const writer = await createArchiveWriter({ workingDir: join(dir, 'wd'), outDir: join(dir, 'out'), archiveSizeBytes: 1024 * 1024 });
    const layer = img.blobs[2]!.digest;
    await expect(writer.addImage(img.input, async (d) => (d === layer ? [Buffer.from('not the layer')] : [blobs.get(d)!]))).rejects.toMatchObject({ code: 'BLOB_MISMATCH', file: layer });
    await expect(writer.finish()).rejects.toMatchObject({ code: 'WRITER_STATE', file: layer });
    expect(readdirSync(join(dir, 'out'))).toEqual([]);
    await writer.addImage(img.input, async (d) => [blobs.get(d)!]);
    const result = await writer.finish();
    expect(result.blobs.sort()).toEqual([img.digest, ...img.blobs.map((b) => b.digest)].sort());
  });

  it('refuses an image whose manifest does not match its digest or names a blob not given', async () => {
    const img = makeImage({ repo: 'bad/a', tag: 'v1', seed: 'bad', layerSizes: [100] });
    const writer = await createArchiveWriter({ workingDir: join(dir, 'wd'), outDir: join(dir, 'out') });
    const never = async (): Promise<Buffer[]> => {
      throw new Error('no fetch expected');
    };
    await expect(writer.addImage({ ...img.input, manifest: { ...img.input.manifest, bytes: Buffer.concat([img.manifest, Buffer.from(' ')]) } }, never)).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
    await expect(writer.addImage({ ...img.input, blobs: img.input.blobs!.slice(1) }, never)).rejects.toThrow(/uses blob sha256:/);
    await expect(writer.addImage({ ...img.input, repo: 'Bad/Name' }, never)).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
  });
});
