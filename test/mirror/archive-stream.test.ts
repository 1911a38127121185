/**
 * Streaming an archive while its blobs arrive (register every image, stream, then fetch): chunks
 * before the last are written, whole and journaled as `.partial`, while later blobs are still
 * being fetched; none is renamed before finish; the set is byte for byte the one written without
 * streaming. A stream cut by a failed fetch is dropped: the image fetched again, finish writes
 * the same set from the cache.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createArchiveWriter, type ArchiveResult } from '../../src/mirror/archive/writer.js';
import { blobTable, killSet, type TestImage } from './fixtures/images.js';

const NOW = '2025-05-05T05:05:05Z';
const SIZE = 1024 * 1024;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reef-archive-stream-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const writer = (name: string) =>
  createArchiveWriter({ workingDir: join(dir, name, 'working-dir'), outDir: join(dir, name, 'out'), archiveSizeBytes: SIZE, imageSetConfig: 'kind: ImageSetConfiguration\n', now: () => new Date(NOW) });

const sums = (r: ArchiveResult) => readFileSync(r.checksumsFile, 'utf8');

/** The reference: images added one by one, chunks written by finish. */
const unstreamed = async (images: TestImage[]) => {
  const blobs = blobTable(images);
  const w = await writer('plain');
  for (const img of images) await w.addImage(img.input, async (d) => [blobs.get(d)!]);
  return w.finish();
};

describe('an archive streamed while its blobs arrive', () => {
  it('writes the early chunks while later blobs are fetched, renames nothing before finish, and ends byte for byte as unstreamed', async () => {
    const images = killSet();
    const blobs = blobTable(images);
    const reference = await unstreamed(images);
    expect(reference.archives.length).toBeGreaterThanOrEqual(3);

    const w = await writer('streamed');
    const out = join(dir, 'streamed', 'out');
    for (const img of images) w.register(img.input);
    w.stream();
    let partialsBeforeLast: string[] = [];
    for (const [i, img] of images.entries()) {
      if (i === images.length - 1) {
        // Give the stream time to catch up with what is cached, then look before the last image comes.
        await new Promise((r) => setTimeout(r, 300));
        partialsBeforeLast = readdirSync(out).filter((n) => n.endsWith('.partial'));
        expect(readdirSync(out).filter((n) => n.endsWith('.tar'))).toEqual([]);
      }
      await w.fetch(img.input, async (d) => [blobs.get(d)!]);
    }
    expect(partialsBeforeLast.length).toBeGreaterThanOrEqual(2);
    const journal = JSON.parse(readFileSync(join(dir, 'streamed', 'working-dir', '.reef', 'archive-journal.json'), 'utf8')) as { chunks: Record<string, unknown> };
    expect(Object.keys(journal.chunks).length).toBeGreaterThanOrEqual(1);
    const result = await w.finish();
    expect(sums(result)).toBe(sums(reference));
    expect(readdirSync(out).filter((n) => n.endsWith('.partial'))).toEqual([]);
  });

  it('a fetch that fails cuts the stream; fetched again, finish writes the same set from the cache', async () => {
    const images = killSet();
    const blobs = blobTable(images);
    const reference = await unstreamed(images);
    const w = await writer('cut');
    for (const img of images) w.register(img.input);
    w.stream();
    const broken = images[1]!;
    for (const img of images) {
      const fetched = w.fetch(img.input, async (d) => {
        if (img === broken) throw new Error('upstream went away');
        return [blobs.get(d)!];
      });
      if (img === broken) await expect(fetched).rejects.toThrow('upstream went away');
      else await fetched;
    }
    await expect(w.finish()).rejects.toThrow(/was not fetched/);
    await w.fetch(broken.input, async (d) => [blobs.get(d)!]);
    const result = await w.finish();
    expect(sums(result)).toBe(sums(reference));
    expect(existsSync(join(dir, 'cut', 'working-dir', '.reef', 'archive-journal.json'))).toBe(false);
  });

  it('a resumed stream that writes a chunk again removes a whole-looking file of that name left from an earlier plan', async () => {
    const images = killSet();
    const blobs = blobTable(images);
    const reference = await unstreamed(images);
    const out = join(dir, 'resumed', 'out');
    const journalFile = join(dir, 'resumed', 'working-dir', '.reef', 'archive-journal.json');
    // Run 1 streams every chunk but the last and is "killed" (never finishes).
    const first = await writer('resumed');
    for (const img of images) first.register(img.input);
    first.stream();
    for (const img of images) await first.fetch(img.input, async (d) => [blobs.get(d)!]);
    await new Promise((r) => setTimeout(r, 300));
    // As if chunk 1 had been renamed under an earlier plan: a whole-looking .tar of the same size,
    // other bytes, and a journal entry that no longer matches the plan.
    const tar = join(out, 'mirror_000001.tar');
    renameSync(`${tar}.partial`, tar);
    const bytes = readFileSync(tar);
    bytes[1024] = (bytes[1024] ?? 0) ^ 0xff;
    writeFileSync(tar, bytes);
    const j = JSON.parse(readFileSync(journalFile, 'utf8')) as { chunks: Record<string, { fingerprint: string }> };
    j.chunks['mirror_000001.tar']!.fingerprint = 'an-earlier-plan';
    writeFileSync(journalFile, JSON.stringify(j));
    // Run 2, the same command: streams chunk 1 again and must not leave the stale file beside it.
    const second = await writer('resumed');
    for (const img of images) second.register(img.input);
    second.stream();
    for (const img of images) await second.fetch(img.input, async (d) => [blobs.get(d)!]);
    const result = await second.finish();
    expect(sums(result)).toBe(sums(reference));
    expect(readFileSync(tar).equals(readFileSync(join(dir, 'plain', 'out', 'mirror_000001.tar')))).toBe(true);
  });
});

