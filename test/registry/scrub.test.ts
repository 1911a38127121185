/**
 * Scrub: stored blobs re-hashed at a bounded rate; damage found, reported (report, metric, log)
 * and moved aside, so a push of the same content heals it instead of being skipped as present.
 */
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reefResult } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { client, expectBlob, type Fetch, pushBlob, pushImage } from './helpers/client.js';
import { blobFile, metricValue, storageOf } from './helpers/gc.js';
import { randomBlob } from './helpers/oci.js';

let reef: TestReef;
let f: Fetch;
let storage: string;
beforeAll(async () => {
  reef = await startTestReef({ REGISTRY_GC_INTERVAL: '24h' });
  f = client(reef.url);
  storage = storageOf(reef);
});
afterAll(async () => reef?.stop());

const scrub = async () => {
  const res = await reef.req('/admin/scrub', { method: 'POST' });
  expect(res.status).toBe(200);
  return (await res.json()) as { blobs_checked: number; bytes_checked: number; damaged: { digest: string; problem: string }[]; quarantined: number };
};

describe('scrub', () => {
  it('finds nothing on a healthy store, having read every blob', async () => {
    const img = await pushImage(f, reef.url, 'scrub/ok', 'v1');
    const report = await scrub();
    expect(report.damaged).toEqual([]);
    // config + 2 layers + the manifest, at least
    expect(report.blobs_checked).toBeGreaterThanOrEqual(4);
    expect(report.bytes_checked).toBeGreaterThanOrEqual(img.layers.reduce((n, b) => n + b.size, 0));
    expect(await metricValue(reef, 'registry_scrub_damaged_blobs')).toBe(0);
  });

  it('reports a flipped byte and a truncated file, moves them aside, and a push of the same content heals them', async () => {
    const flipped = await pushBlob(f, reef.url, 'scrub/bad', randomBlob(100_000));
    const cut = await pushBlob(f, reef.url, 'scrub/bad', randomBlob(50_000));
    const bad = Buffer.from(flipped.bytes);
    bad[12_345] = bad[12_345]! ^ 0xff;
    writeFileSync(blobFile(storage, flipped.digest), bad);
    truncateSync(blobFile(storage, cut.digest), 10);

    const report = await scrub();
    expect(report.damaged.map((d) => [d.digest, d.problem]).sort()).toEqual([[flipped.digest, 'digest'], [cut.digest, 'size']].sort());
    expect(report.quarantined).toBe(2);
    expect(await metricValue(reef, 'registry_scrub_damaged_blobs')).toBe(2);
    expect(existsSync(`${blobFile(storage, flipped.digest)}.damaged`)).toBe(true);
    // Bad bytes are never served: the blob reads as unknown until it is pushed again.
    expect((await f(`/v2/scrub/bad/blobs/${flipped.digest}`, { method: 'HEAD' })).status).toBe(404);

    // A cross-repository mount must not claim it either: the client is told to upload.
    expect((await f(`/v2/scrub/other/blobs/uploads/?mount=${flipped.digest}&from=scrub/bad`, { method: 'POST' })).status).toBe(202);
    await pushBlob(f, reef.url, 'scrub/bad', flipped);
    await pushBlob(f, reef.url, 'scrub/bad', cut);
    expect((await expectBlob(f, 'scrub/bad', flipped)).equals(flipped.bytes)).toBe(true);
    expect((await expectBlob(f, 'scrub/bad', cut)).equals(cut.bytes)).toBe(true);
    expect((await scrub()).damaged).toEqual([]);
  });

  it('reef registry scrub prints the report and exits 3 when something is damaged', async () => {
    const blob = await pushBlob(f, reef.url, 'scrub/cli', randomBlob(20_000));
    const healthy = await reefResult(['registry', 'scrub', '--server', reef.url]);
    expect(healthy.code).toBe(0);
    expect(JSON.parse(healthy.stdout).damaged).toEqual([]);
    truncateSync(blobFile(storage, blob.digest), 1);
    const damaged = await reefResult(['registry', 'scrub', '--server', reef.url]);
    expect(damaged.code).toBe(3);
    expect(JSON.parse(damaged.stdout).damaged).toEqual([{ digest: blob.digest, problem: 'size', detail: '1 bytes on disk, 20000 recorded' }]);
  });

  it('a quarantined manifest reads as unknown (GET and HEAD 404, not 500) until pushed again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-scrub-manifest-'));
    let r = await startTestReef({ REGISTRY_GC_INTERVAL: '24h' }, dir);
    try {
      const img = await pushImage(client(r.url), r.url, 'scrub/manifest', 'v1');
      writeFileSync(blobFile(storageOf(r), img.manifest.digest), Buffer.concat([img.manifest.bytes.subarray(0, 10), Buffer.from('X'), img.manifest.bytes.subarray(11)]));
      const report = (await (await r.req('/admin/scrub', { method: 'POST' })).json()) as { damaged: { digest: string }[] };
      expect(report.damaged.map((d) => d.digest)).toEqual([img.manifest.digest]);
      // A fresh server: nothing cached.
      await r.stop();
      r = await startTestReef({ REGISTRY_GC_INTERVAL: '24h' }, dir);
      const fc = client(r.url);
      const get = await fc('/v2/scrub/manifest/manifests/v1', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(get.status).toBe(404);
      expect(((await get.json()) as any).errors[0].code).toBe('MANIFEST_UNKNOWN');
      expect((await fc('/v2/scrub/manifest/manifests/v1', { method: 'HEAD' })).status).toBe(404);
      const again = await fc('/v2/scrub/manifest/manifests/v1', { method: 'PUT', headers: { 'content-type': img.manifest.mediaType }, body: img.manifest.bytes });
      expect(again.status).toBe(201);
      expect((await fc('/v2/scrub/manifest/manifests/v1', { method: 'HEAD' })).status).toBe(200);
    } finally {
      await r.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('REGISTRY_SCRUB_RATE bounds the read rate', async () => {
    const slow = await startTestReef({ REGISTRY_GC_INTERVAL: '24h', REGISTRY_SCRUB_RATE: String(2 * 1024 * 1024) });
    try {
      const fs = client(slow.url);
      await pushBlob(fs, slow.url, 'scrub/rate', randomBlob(4 * 1024 * 1024));
      const res = await slow.req('/admin/scrub', { method: 'POST' });
      const report = (await res.json()) as { bytes_checked: number; duration_seconds: number };
      // 4 MiB at 2 MiB/s: not much under 2 s (the first MiB is read before any wait).
      expect(report.bytes_checked).toBeGreaterThanOrEqual(4 * 1024 * 1024);
      expect(report.duration_seconds).toBeGreaterThan(1.4);
    } finally {
      await slow.stop();
    }
  });
});
