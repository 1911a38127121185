/**
 * Online garbage collection of the embedded registry (DESIGN.md §3): what it keeps, what it
 * frees, and that pushes racing it never end up with a manifest whose blobs are gone.
 * Unless noted the grace period is 0s, so everything unreferenced is collectable at once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import {
  client, expectBlob, expectManifest, expectOciError, type Fetch, getManifest, patchChunk, pushBlob, pushImage, pushManifest,
  putManifest, startUpload,
} from './helpers/client.js';
import { blobOnDisk, filesContaining, layoutIndex, metricsText, metricValue, runGc, storageOf } from './helpers/gc.js';
import { descriptorOf, imageManifest, indexManifest, type Manifest, MT, platform, randomBlob, configBlob, type Blob } from './helpers/oci.js';
import { makeImage, pushImageRetrying } from './helpers/push.js';
import { sleep } from './helpers/raw.js';
import { getReferrers, pushReferrer } from './helpers/referrers.js';

const GRACE_0 = { REGISTRY_GC_GRACE_PERIOD: '0s', REGISTRY_GC_INTERVAL: '24h' };

let reef: TestReef;
let f: Fetch;
let base: string;
let storage: string;
beforeAll(async () => {
  reef = await startTestReef(GRACE_0);
  base = reef.url;
  f = client(base);
  storage = storageOf(reef);
});
afterAll(async () => reef?.stop());

const expectGone = async (repo: string, blob: { digest: string }) => {
  expect(blobOnDisk(storage, blob.digest), `${blob.digest} still on disk`).toBe(false);
  await expectOciError(await f(`/v2/${repo}/blobs/${blob.digest}`), 404, 'BLOB_UNKNOWN');
};
const expectKept = async (repo: string, blob: Blob) => {
  expect(blobOnDisk(storage, blob.digest), `${blob.digest} missing on disk`).toBe(true);
  await expectBlob(f, repo, blob);
};
const catalog = async (): Promise<string[]> => (await reef.json('GET', '/v2/_catalog?n=1000')).body.repositories;

describe('sweeping', () => {
  it('deletes an unreferenced blob older than the grace period and keeps referenced ones', async () => {
    const img = await pushImage(f, base, 'gc/basic', 'v1');
    const loose = await pushBlob(f, base, 'gc/basic', randomBlob(10_000));
    expect(blobOnDisk(storage, loose.digest)).toBe(true);
    const countBefore = await metricValue(reef, 'registry_blob_count');
    const bytesBefore = await metricValue(reef, 'registry_storage_bytes');
    expect(typeof countBefore).toBe('number');
    expect(typeof bytesBefore).toBe('number');

    const report = await runGc(reef);
    expect(report.blobs_deleted).toBeGreaterThanOrEqual(1);
    expect(report.bytes_freed).toBeGreaterThanOrEqual(10_000);
    await expectGone('gc/basic', loose);
    for (const b of [img.config, ...img.layers]) await expectKept('gc/basic', b);
    await expectManifest(f, 'gc/basic', 'v1', img.manifest);

    expect(await metricValue(reef, 'registry_blob_count')).toBeLessThan(countBefore!);
    expect(await metricValue(reef, 'registry_storage_bytes')).toBeLessThanOrEqual(bytesBefore! - 10_000);
    expect(await metricValue(reef, 'registry_gc_blobs_deleted')).toBeGreaterThanOrEqual(report.blobs_deleted);
    expect(await metricsText(reef)).toMatch(/^registry_gc_duration_seconds/m);

    // The storage stays an OCI image layout naming the tag, with everything it lists present.
    expect(JSON.parse(readFileSync(join(storage, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = layoutIndex(storage);
    expect(index.manifests).toContainEqual(
      expect.objectContaining({ digest: img.manifest.digest, annotations: expect.objectContaining({ 'org.opencontainers.image.ref.name': 'gc/basic:v1' }) }),
    );
    for (const d of index.manifests) expect(blobOnDisk(storage, d.digest), `index.json lists ${d.digest}`).toBe(true);
  });

  it('dry_run reports what would go and deletes nothing', async () => {
    const loose = await pushBlob(f, base, 'gc/dry', randomBlob(7_000));
    const dry = await runGc(reef, true);
    expect(dry.blobs_deleted).toBeGreaterThanOrEqual(1);
    expect(dry.bytes_freed).toBeGreaterThanOrEqual(7_000);
    await expectKept('gc/dry', loose);
    expect((await runGc(reef)).blobs_deleted).toBeGreaterThanOrEqual(1);
    await expectGone('gc/dry', loose);
  });

  it('with a 24h grace period a young unreferenced blob and an untagged manifest survive', async () => {
    const young = await startTestReef({ REGISTRY_GC_GRACE_PERIOD: '24h', REGISTRY_GC_INTERVAL: '24h' });
    try {
      const yf = client(young.url);
      const loose = await pushBlob(yf, young.url, 'gc/young', randomBlob());
      const img = await pushImage(yf, young.url, 'gc/young', 'tmp');
      expect((await yf(`/v2/gc/young/manifests/tmp`, { method: 'DELETE' })).status).toBe(202);
      const report = await runGc(young);
      expect([report.blobs_deleted, report.manifests_deleted]).toEqual([0, 0]);
      expect(blobOnDisk(storageOf(young), loose.digest)).toBe(true);
      await expectBlob(yf, 'gc/young', loose);
      await expectManifest(yf, 'gc/young', img.manifest.digest, img.manifest);
    } finally {
      await young.stop();
    }
  });
});

describe('marking', () => {
  it('keeps nested repositories, index children and referrers; frees a referrer once its subject goes', async () => {
    const nested = await pushImage(f, base, 'gc/deep/nested/repo', 'v1');

    const childConfig = await pushBlob(f, base, 'gc/multi', configBlob());
    const childLayer = await pushBlob(f, base, 'gc/multi', randomBlob());
    const child = imageManifest(descriptorOf(childConfig, MT.ociConfig), [descriptorOf(childLayer, MT.ociLayer)]);
    await pushManifest(f, 'gc/multi', child.digest, child); // untagged: only the index keeps it
    const index = indexManifest([descriptorOf(child, MT.ociManifest, { platform: platform('arm64') })]);
    await pushManifest(f, 'gc/multi', 'latest', index);

    const app = await pushImage(f, base, 'gc/app', 'v1');
    const sbom = await pushReferrer(f, base, 'gc/app', 'application/vnd.example.sbom.v1+json', app.descriptor);

    await runGc(reef);
    for (const b of [nested.config, ...nested.layers]) await expectKept('gc/deep/nested/repo', b);
    await expectManifest(f, 'gc/deep/nested/repo', 'v1', nested.manifest);
    for (const b of [childConfig, childLayer]) await expectKept('gc/multi', b);
    await expectManifest(f, 'gc/multi', child.digest, child);
    await expectManifest(f, 'gc/multi', 'latest', index);
    await expectKept('gc/app', sbom.layer);
    await expectManifest(f, 'gc/app', sbom.manifest.digest, sbom.manifest);
    expect((await getReferrers(f, 'gc/app', app.manifest.digest)).manifests.map((m) => m.digest)).toEqual([sbom.manifest.digest]);

    expect((await f('/v2/gc/app/manifests/v1', { method: 'DELETE' })).status).toBe(202);
    const report = await runGc(reef);
    expect(report.manifests_deleted).toBeGreaterThanOrEqual(2);
    for (const b of [app.config, ...app.layers, sbom.layer]) await expectGone('gc/app', b);
    await expectOciError(await getManifest(f, 'gc/app', app.manifest.digest), 404, 'MANIFEST_UNKNOWN');
    await expectOciError(await getManifest(f, 'gc/app', sbom.manifest.digest), 404, 'MANIFEST_UNKNOWN');
    for (const b of [childConfig, childLayer]) await expectKept('gc/multi', b);
  });
});

describe('pushes racing GC', () => {
  it('a manifest PUT after (or during) a sweep is refused or keeps its blobs, never dangling', async () => {
    const accepted: Array<{ tag: string; manifest: Manifest; blobs: Blob[] }> = [];
    for (let i = 0; i < 20; i++) {
      const blobs = [configBlob(), randomBlob()];
      for (const b of blobs) await pushBlob(f, base, 'gc/race', b);
      const m = imageManifest(descriptorOf(blobs[0]!, MT.ociConfig), [descriptorOf(blobs[1]!, MT.ociLayer)]);
      const tag = `t${i}`;
      let res: Response;
      if (i % 4 === 0) {
        await runGc(reef);
        res = await putManifest(f, 'gc/race', tag, m);
      } else {
        // Race them, giving the PUT a head start of 0-4 ms in turn.
        const put = putManifest(f, 'gc/race', tag, m);
        await sleep(i % 5);
        [, res] = await Promise.all([runGc(reef), put]);
      }
      if (res.status === 201) {
        await res.arrayBuffer();
        for (const b of blobs) await expectBlob(f, 'gc/race', b);
        accepted.push({ tag, manifest: m, blobs });
      } else {
        await expectOciError(res, 400, 'MANIFEST_BLOB_UNKNOWN');
        await expectOciError(await getManifest(f, 'gc/race', tag), 404, 'MANIFEST_UNKNOWN');
      }
    }
    await runGc(reef);
    for (const a of accepted) {
      await expectManifest(f, 'gc/race', a.tag, a.manifest);
      for (const b of a.blobs) await expectBlob(f, 'gc/race', b);
    }
  });

  const pushAllWhileCollecting = async (r: TestReef, maxAttempts: number) => {
    const rf = client(r.url);
    const shared = randomBlob(50_000); // a common base layer, uploaded by all pushes at once
    const images = Array.from({ length: 10 }, (_, i) => makeImage(i % 2 ? 'gc/busy' : `gc/busy/n${i}`, `t${i}`, [shared]));
    let stop = false;
    let runs = 0;
    const collector = (async () => {
      while (!stop) {
        await runGc(r);
        runs++;
      }
    })();
    let attempts: number[];
    try {
      attempts = await Promise.all(images.map((img, i) => pushImageRetrying(rf, r.url, img, i, maxAttempts)));
    } finally {
      stop = true;
      await collector;
    }
    expect(runs).toBeGreaterThanOrEqual(1);
    await runGc(r);
    for (const [i, img] of images.entries()) {
      if (attempts[i] === 0) {
        // Refused every time: then the tag must not exist at all, rather than half.
        await expectOciError(await getManifest(rf, img.repo, img.tag), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
        continue;
      }
      await expectManifest(rf, img.repo, img.tag, img.manifest);
      for (const b of img.blobs) await expectBlob(rf, img.repo, b);
    }
    return attempts;
  };

  it('10 concurrent pushes while GC runs repeatedly (grace 0s): every accepted tag is complete', async () => {
    // With grace 0s and GC in a loop a push may be refused (MANIFEST_BLOB_UNKNOWN) and retried;
    // what must never happen is an accepted manifest with a blob missing.
    await pushAllWhileCollecting(reef, 5);
  });

  it('10 concurrent pushes while GC runs repeatedly (grace 30s): none is refused, none loses a blob', async () => {
    const r = await startTestReef({ REGISTRY_GC_GRACE_PERIOD: '30s', REGISTRY_GC_INTERVAL: '24h' });
    try {
      expect(await pushAllWhileCollecting(r, 1)).toEqual(Array(10).fill(1));
    } finally {
      await r.stop();
    }
  });
});

describe('uploads and repositories', () => {
  it('removes upload sessions idle longer than REGISTRY_UPLOAD_TIMEOUT, and their data', async () => {
    // Sessions expire by the upload timeout, not the blob grace period: a push between its
    // PATCH and its PUT must survive a GC even with a 0s grace.
    const own = await startTestReef({ ...GRACE_0, REGISTRY_UPLOAD_TIMEOUT: '1s' });
    try {
      const g = client(own.url);
      const partial = randomBlob(5_000).bytes;
      const loc = await startUpload(g, own.url, 'gc/abandoned');
      expect((await patchChunk(g, loc, 0, partial)).status).toBe(202);
      expect((await runGc(own)).uploads_deleted).toBe(0);
      await sleep(1_200);
      expect((await runGc(own)).uploads_deleted).toBe(1);
      await expectOciError(await g(loc), 404, 'BLOB_UPLOAD_UNKNOWN');
      expect(filesContaining(own.dataDir, partial)).toEqual([]);
    } finally {
      await own.stop();
    }
  });

  it('removes repositories left empty from _catalog, nested neighbours stay', async () => {
    const img = await pushImage(f, base, 'gc/empty-soon', 'v1');
    const stays = await pushImage(f, base, 'gc/empty-soon/stays', 'v1');
    expect(await catalog()).toContain('gc/empty-soon');
    expect((await f(`/v2/gc/empty-soon/manifests/${img.manifest.digest}`, { method: 'DELETE' })).status).toBe(202);
    expect((await runGc(reef)).repositories_deleted).toBeGreaterThanOrEqual(1);
    const repos = await catalog();
    expect(repos).not.toContain('gc/empty-soon');
    expect(repos).toContain('gc/empty-soon/stays');
    await expectOciError(await f('/v2/gc/empty-soon/tags/list'), 404, 'NAME_UNKNOWN');
    await expectManifest(f, 'gc/empty-soon/stays', 'v1', stays.manifest);
  });
});
