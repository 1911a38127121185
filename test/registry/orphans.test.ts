/**
 * Nothing refused leaves bytes behind, and GC frees files no row holds: a manifest PUT refused
 * for an unknown blob writes no file; files under blobs/ with no database row (what a crash left
 * between a write and its row, or an older reef's refused PUT) go once older than the grace period.
 */
import { randomBytes } from 'node:crypto';
import { utimesSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { client, expectOciError, type Fetch, putManifest } from './helpers/client.js';
import { blobFile, blobOnDisk, runGc, storageOf } from './helpers/gc.js';
import { blobOf, configBlob, descriptorOf, imageManifest, MT, randomBlob } from './helpers/oci.js';

let reef: TestReef;
let f: Fetch;
let storage: string;
beforeAll(async () => {
  reef = await startTestReef({ REGISTRY_GC_GRACE_PERIOD: '1h', REGISTRY_GC_INTERVAL: '24h' });
  f = client(reef.url);
  storage = storageOf(reef);
});
afterAll(async () => reef?.stop());

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);

describe('orphans', () => {
  it('a manifest PUT refused for an unknown blob writes no file', async () => {
    const m = imageManifest(descriptorOf(configBlob(), MT.ociConfig), [descriptorOf(randomBlob(), MT.ociLayer)]);
    await expectOciError(await putManifest(f, 'orphans/refused', 'v1', m), 400, 'MANIFEST_BLOB_UNKNOWN');
    expect(blobOnDisk(storage, m.digest)).toBe(false);
  });

  it('GC removes a file under blobs/ that no row holds once it is older than the grace period, and keeps a young one', async () => {
    const old = blobOf(randomBytes(5000));
    const young = blobOf(randomBytes(3000));
    writeFileSync(blobFile(storage, old.digest), old.bytes);
    utimesSync(blobFile(storage, old.digest), hoursAgo(2), hoursAgo(2));
    writeFileSync(blobFile(storage, young.digest), young.bytes);
    const dry = await runGc(reef, true);
    expect(dry.blobs_deleted).toBeGreaterThanOrEqual(1);
    expect(blobOnDisk(storage, old.digest)).toBe(true);
    const report = await runGc(reef);
    expect(report.bytes_freed).toBeGreaterThanOrEqual(5000);
    expect(blobOnDisk(storage, old.digest)).toBe(false);
    expect(blobOnDisk(storage, young.digest)).toBe(true);
  });
});
