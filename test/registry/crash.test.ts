/**
 * kill -9 in the middle of a 1 GiB blob upload (DESIGN.md §3, Storage and GC): after a restart on
 * the same data directory the half-written blob is nowhere to be seen, the push can be done
 * again, and GC removes what the killed session left in uploads/ while the finished blob stays.
 * Real processes throughout: `reef serve` is its own process and really gets SIGKILL.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChildReef, spawnReef } from '../helpers/process.js';
import { freeBytes, GiB, hashFile, MiB, seededChunks, seededDigest, streamRequest } from './helpers/large-io.js';
import { hexOf, sha256 } from './helpers/oci.js';
import { sleep } from './helpers/raw.js';

const SIZE = GiB;
const KILL_AFTER = 300 * 1000 * 1000;
const CHUNK = 64 * MiB;
const PIECE = 4 * MiB;
const SEED = 'reef crash test 1 GiB';
const REPO = 'crash/big';
const ENV = { REGISTRY_GC_GRACE_PERIOD: '0s', REGISTRY_UPLOAD_TIMEOUT: '1s', REGISTRY_GC_INTERVAL: '24h' };

const dataDir = mkdtempSync(join(tmpdir(), 'reef-crash-'));
const storage = join(dataDir, 'registry');
const started: ChildReef[] = [];
afterAll(async () => {
  for (const r of started) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill('SIGKILL');
      await r.exited;
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

const start = async () => {
  const r = await spawnReef({ REEF_DATA_DIR: dataDir, ...ENV });
  started.push(r);
  return r;
};
const ms = (t0: number) => Math.round(performance.now() - t0);
const uploadFiles = () => readdirSync(join(storage, 'uploads'));
const blobFiles = () => readdirSync(join(storage, 'blobs', 'sha256'));

function* take(it: Iterator<Buffer>, pieces: number): Generator<Buffer> {
  for (let i = 0; i < pieces; i++) {
    const next = it.next();
    if (next.done) return;
    yield next.value;
  }
}

/**
 * Streams the seeded 1 GiB into upload `location` as consecutive PATCHes of CHUNK bytes (each
 * with its Content-Range). One PATCH per 64 MiB because the server cuts any single upload request
 * at REGISTRY_UPLOAD_TIMEOUT (1 s here): a single 1 GiB PATCH dies with ECONNRESET after ~360 MB.
 * `stop(total)` is asked after every piece handed to the socket; true leaves the current request
 * hanging mid-body and returns.
 */
const pushSeeded = async (base: string, location: string, stop: (sent: number) => boolean = () => false) => {
  const pieces = seededChunks(SEED, SIZE, PIECE)[Symbol.iterator]();
  let loc = location;
  for (let start = 0; start < SIZE; start += CHUNK) {
    const end = Math.min(SIZE, start + CHUNK) - 1;
    let stoppedAt = -1;
    let onStop!: () => void;
    const stopped = new Promise<void>((r) => (onStop = r));
    const request = streamRequest(
      new URL(loc, base).href,
      'PATCH',
      { 'Content-Type': 'application/octet-stream', 'Content-Length': String(end - start + 1), 'Content-Range': `${start}-${end}` },
      take(pieces, (end - start + 1) / PIECE),
      (sent) => {
        if (!stop(start + sent)) return false;
        stoppedAt = start + sent;
        onStop();
        return true;
      },
    );
    const res = await Promise.race([request, stopped]);
    // Stopped mid-body: the request stays open; the caller kills the server under it.
    if (!res) return { stoppedAt, location: loc, request };
    expect(res.error, `PATCH ${start}-${end} failed after ${res.sent} bytes`).toBeUndefined();
    expect(res.status, res.body).toBe(202);
    expect(res.headers?.range).toBe(`0-${end}`);
    loc = String(res.headers?.location ?? loc);
  }
  return { stoppedAt: -1, location: loc, request: undefined };
};

const post = async (base: string) => {
  const res = await fetch(`${base}/v2/${REPO}/blobs/uploads/`, { method: 'POST' });
  expect(res.status, await res.clone().text()).toBe(202);
  return res.headers.get('location')!;
};

describe('kill -9 during a 1 GiB upload', () => {
  it('leaves no visible blob, lets the push be redone, and GC removes the killed session', { timeout: 600_000 }, async () => {
    expect(freeBytes(tmpdir()), `need ~3 GiB free under ${tmpdir()}`).toBeGreaterThan(3 * GiB);
    let t0 = performance.now();
    const digest = seededDigest(SEED, SIZE);
    console.log(`digest of the seeded 1 GiB: ${digest} (${ms(t0)} ms)`);

    // 1. Start the upload and kill the server once ~300 MB have gone out.
    const a = await start();
    const oldLocation = await post(a.url);
    const oldId = oldLocation.slice(oldLocation.lastIndexOf('/') + 1);
    t0 = performance.now();
    const cut = await pushSeeded(a.url, oldLocation, (sent) => sent >= KILL_AFTER);
    const killedAt = cut.stoppedAt;
    expect(killedAt, 'the upload ended before reaching the kill point').toBeGreaterThanOrEqual(KILL_AFTER);
    a.child.kill('SIGKILL');
    const code = await a.exited;
    const failed = await cut.request;
    console.log(`SIGKILL after ${killedAt} bytes sent (${ms(t0)} ms); the cut request: ${failed ? (failed.error?.message ?? `HTTP ${failed.status}`) : '?'}`);
    expect(code).toBeNull();
    expect(a.child.signalCode).toBe('SIGKILL');
    const leftover = uploadFiles().filter((n) => n.startsWith(oldId));
    const leftoverBytes = leftover.reduce((n, f) => n + statSync(join(storage, 'uploads', f)).size, 0);
    console.log(`uploads/ after the kill: ${JSON.stringify(leftover)} (${leftoverBytes} bytes)`);

    // 2. Restart on the same data dir: no trace of the 1 GiB blob.
    const b = await start();
    const head = await fetch(`${b.url}/v2/${REPO}/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    expect(blobFiles()).not.toContain(hexOf(digest));
    for (const f of blobFiles()) {
      if (statSync(join(storage, 'blobs', 'sha256', f)).size === SIZE) expect(await hashFile(join(storage, 'blobs', 'sha256', f))).not.toBe(digest);
    }
    // The killed session reports what reached its temp file (resumable), never more than was sent.
    const status = await fetch(new URL(oldLocation, b.url), { method: 'GET' });
    console.log(`GET old session after restart: ${status.status} Range=${status.headers.get('range')}`);
    if (status.status === 204) {
      const end = Number(/^0-(\d+)$/.exec(status.headers.get('range') ?? '')?.[1] ?? -1);
      expect(end + 1).toBeLessThanOrEqual(killedAt);
      expect(end + 1).toBe(leftoverBytes);
    } else {
      expect(status.status).toBe(404);
    }

    // 3. Push again from scratch: new session, streamed PATCHes, PUT.
    t0 = performance.now();
    const location = await post(b.url);
    const again = await pushSeeded(b.url, location);
    console.log(`re-pushed 1 GiB in ${SIZE / CHUNK} PATCHes in ${ms(t0)} ms`);
    const put = await fetch(new URL(`${again.location}?digest=${digest}`, b.url), { method: 'PUT' });
    expect(put.status, await put.clone().text()).toBe(201);
    console.log(`pushed again in ${ms(t0)} ms`);
    const done = await fetch(`${b.url}/v2/${REPO}/blobs/${digest}`, { method: 'HEAD' });
    expect(done.status).toBe(200);
    expect(done.headers.get('content-length')).toBe(String(SIZE));
    expect(done.headers.get('docker-content-digest')).toBe(digest);

    // Tag it (a user's push ends with a manifest), so a 0s-grace GC must keep the blob.
    const config = Buffer.from('{}');
    const cfg = await fetch(`${b.url}/v2/${REPO}/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: config, headers: { 'Content-Type': 'application/octet-stream' } });
    expect(cfg.status).toBe(201);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.reef.test.big',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(config), size: 2 },
      layers: [{ mediaType: 'application/octet-stream', digest, size: SIZE }],
    });
    const mput = await fetch(`${b.url}/v2/${REPO}/manifests/v1`, { method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    expect(mput.status, await mput.clone().text()).toBe(201);

    // 4. Past the 1 s upload timeout, GC removes the killed session's temp data; the blob stays.
    await sleep(1_500);
    const gcRes = await fetch(`${b.url}/admin/gc`, { method: 'POST' });
    const report = (await gcRes.json()) as { uploads_deleted: number; blobs_deleted: number };
    console.log(`GC report: ${JSON.stringify(report)}`);
    expect(gcRes.status).toBe(200);
    expect(uploadFiles().filter((n) => n.startsWith(oldId))).toEqual([]);
    if (status.status === 204) expect(report.uploads_deleted, "the killed session was still known after the restart").toBeGreaterThanOrEqual(1);
    expect((await fetch(new URL(oldLocation, b.url), { method: 'GET' })).status).toBe(404);
    expect(existsSync(join(storage, 'blobs', 'sha256', hexOf(digest)))).toBe(true);
    expect(statSync(join(storage, 'blobs', 'sha256', hexOf(digest))).size).toBe(SIZE);
    const after = await fetch(`${b.url}/v2/${REPO}/blobs/${digest}`, { method: 'HEAD' });
    expect(after.status).toBe(200);
    expect(report.blobs_deleted).toBe(0);
  });
});
