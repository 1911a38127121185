/**
 * The in-process writer the release clone fills reef's registry with (stored-image-writer.ts):
 * what a push over /v2 is refused for is refused here too, and a refused or aborted write leaves
 * nothing behind (no blob, no link, no upload file or row).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/controller/config.js';
import { openDb, type OpenedDb } from '../../src/db/client.js';
import { createEmbeddedRegistry, type EmbeddedRegistry } from '../../src/registry/wire.js';
import { configBlob, descriptorOf, hexOf, imageManifest, MT, randomBlob } from './helpers/oci.js';

const REPO = 'openshift/release';

describe('writing into reef\'s registry in process (the release clone\'s LocalRegistry)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-image-writer-'));
  let opened: OpenedDb;
  let registry: EmbeddedRegistry;
  let storage: string;

  beforeAll(async () => {
    // One upload slot: a second write must wait for it rather than fail.
    const config = loadConfig({ REEF_DATA_DIR: dir, LOG_LEVEL: 'silent', REGISTRY_MAX_CONCURRENT_UPLOADS: '1' } as NodeJS.ProcessEnv);
    storage = config.registry.storage;
    opened = openDb(config.dataDir);
    registry = await createEmbeddedRegistry({ config: { ...config.registry, gcIntervalMs: 0, scrubIntervalMs: 0 }, db: opened.db, sqlite: opened.sqlite, metrics: new Registry(), log: pino({ level: 'silent' }), now: Date.now });
  });
  afterAll(() => {
    registry?.stop();
    opened?.sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const images = () => registry.images;
  const uploadsLeft = () => ({ files: readdirSync(join(storage, 'uploads')), rows: (opened.sqlite.prepare('select count(*) as n from reg_uploads').get() as { n: number }).n });
  const readAll = async (repo: string, digest: string) => Buffer.concat(await (await images().openBlob(repo, digest)).toArray());

  it('refuses bytes that do not hash to the digest, and commits nothing', async () => {
    const claimed = randomBlob();
    const other = randomBlob();
    await expect(images().writeBlob(REPO, claimed.digest, Readable.from([other.bytes]))).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    expect(await images().blobExists(REPO, claimed.digest)).toBe(false);
    expect(readdirSync(join(storage, 'blobs', 'sha256'))).not.toContain(hexOf(claimed.digest));
    expect(readdirSync(join(storage, 'blobs', 'sha256'))).not.toContain(hexOf(other.digest));
    expect(uploadsLeft()).toEqual({ files: [], rows: 0 });
  });

  it('writes a blob into one repository only: another repository does not hold it', async () => {
    const b = randomBlob(3 * 1024 * 1024);
    await images().writeBlob(REPO, b.digest, Readable.from([b.bytes.subarray(0, 1000), b.bytes.subarray(1000)]));
    expect(await images().blobExists(REPO, b.digest)).toBe(true);
    expect(await images().blobExists('other/repo', b.digest)).toBe(false);
    expect((await readAll(REPO, b.digest)).equals(b.bytes)).toBe(true);
    expect(uploadsLeft()).toEqual({ files: [], rows: 0 });
  });

  /** `bytes` in chunks of `size` lent through one buffer, overwritten as soon as the next is asked for. */
  async function* lent(bytes: Buffer, size: number, fail?: Error): AsyncGenerator<Buffer> {
    const buf = Buffer.alloc(size);
    for (let at = 0; at < bytes.length; at += size) {
      if (fail && at >= bytes.length / 2) throw fail;
      const n = bytes.copy(buf, 0, at, at + size);
      yield buf.subarray(0, n);
      buf.fill(0);
    }
  }

  it('writes lent chunks (one buffer reused for every read) and refuses lent bytes that do not match, committing nothing', async () => {
    const b = randomBlob(2 * 1024 * 1024 + 123);
    await images().writeBlob(REPO, b.digest, lent(b.bytes, 64 * 1024 + 7));
    expect((await readAll(REPO, b.digest)).equals(b.bytes)).toBe(true);
    const claimed = randomBlob(300_000);
    await expect(images().writeBlob(REPO, claimed.digest, lent(randomBlob(300_000).bytes, 65536))).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    const dropped = randomBlob(300_000);
    await expect(images().writeBlob(REPO, dropped.digest, lent(dropped.bytes, 65536, new Error('the source dropped')))).rejects.toThrow('the source dropped');
    expect(await images().blobExists(REPO, claimed.digest)).toBe(false);
    expect(await images().blobExists(REPO, dropped.digest)).toBe(false);
    expect(uploadsLeft()).toEqual({ files: [], rows: 0 });
  });

  it('stops lent chunks on an abort, between two chunks', async () => {
    const b = randomBlob(1024 * 1024);
    const ac = new AbortController();
    let asked = 0;
    const chunks = (async function* () {
      for await (const c of lent(b.bytes, 65536)) {
        if (++asked === 4) ac.abort(new Error('reset'));
        yield c;
      }
    })();
    await expect(images().writeBlob(REPO, b.digest, chunks, ac.signal)).rejects.toThrow('reset');
    expect(asked).toBeLessThan(6);
    expect(await images().blobExists(REPO, b.digest)).toBe(false);
    expect(uploadsLeft()).toEqual({ files: [], rows: 0 });
  });

  it('refuses a manifest naming a blob the repository lacks, as a PUT would; takes it once the blobs are there', async () => {
    const config = configBlob();
    const layer = randomBlob();
    const m = imageManifest(descriptorOf(config, MT.ociConfig), [descriptorOf(layer, MT.ociLayer)]);
    await images().writeBlob(REPO, config.digest, Readable.from([config.bytes]));
    await expect(images().putManifest(REPO, 'v1', m.bytes, m.mediaType)).rejects.toMatchObject({ code: 'MANIFEST_BLOB_UNKNOWN' });
    await expect(images().getManifest(REPO, 'v1')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    await images().writeBlob(REPO, layer.digest, Readable.from([layer.bytes]));
    await images().putManifest(REPO, 'v1', m.bytes, m.mediaType);
    expect(await images().getManifest(REPO, 'v1')).toEqual({ bytes: m.bytes, mediaType: MT.ociManifest, digest: m.digest });
    expect(await images().getManifest(REPO, m.digest)).toMatchObject({ digest: m.digest });
  });

  it('refuses a manifest whose file on disk no longer hashes to its digest', async () => {
    const config = configBlob();
    const m = imageManifest(descriptorOf(config, MT.ociConfig), []);
    await images().writeBlob(REPO, config.digest, Readable.from([config.bytes]));
    await images().putManifest(REPO, 'damaged', m.bytes, m.mediaType);
    // A fresh reader (no cached bytes) over the damaged file.
    writeFileSync(join(storage, 'blobs', 'sha256', hexOf(m.digest)), Buffer.from(m.bytes.toString().replace('layers', 'lAyers')));
    const config2 = loadConfig({ REEF_DATA_DIR: dir, LOG_LEVEL: 'silent' } as NodeJS.ProcessEnv);
    const fresh = await createEmbeddedRegistry({ config: { ...config2.registry, gcIntervalMs: 0, scrubIntervalMs: 0 }, db: opened.db, sqlite: opened.sqlite, metrics: new Registry(), log: pino({ level: 'silent' }), now: Date.now });
    try {
      await expect(fresh.images.getManifest(REPO, 'damaged')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN', message: expect.stringMatching(/damaged/) });
    } finally {
      fresh.stop();
    }
  });

  it('waits for an upload slot, and an abort stops a write for real: nothing committed, nothing left behind', async () => {
    const slow = randomBlob(64 * 1024);
    const holder = new PassThrough();
    holder.write(slow.bytes.subarray(0, 1024));
    const stop = new AbortController();
    const holding = images().writeBlob(REPO, slow.digest, holder, stop.signal);
    // The only slot is taken: this one waits its turn, then goes through.
    const waiting = randomBlob();
    const second = images().writeBlob(REPO, waiting.digest, Readable.from([waiting.bytes]));
    await new Promise((r) => setTimeout(r, 300));
    expect(await images().blobExists(REPO, waiting.digest)).toBe(false);
    // Aborted while it waits for the slot.
    const ac = new AbortController();
    const third = images().writeBlob(REPO, randomBlob().digest, Readable.from([Buffer.from('x')]), ac.signal);
    await new Promise((r) => setTimeout(r, 50));
    ac.abort(new Error('reset while waiting'));
    await expect(third).rejects.toThrow('reset while waiting');
    // The holder, aborted mid-body.
    stop.abort(new Error('reset mid-body'));
    await expect(holding).rejects.toThrow('reset mid-body');
    expect(holder.destroyed).toBe(true);
    await second;
    expect(await images().blobExists(REPO, waiting.digest)).toBe(true);
    expect(await images().blobExists(REPO, slow.digest)).toBe(false);
    expect(uploadsLeft()).toEqual({ files: [], rows: 0 });
  });

  it('stops a write aborted before its upload reads the body (no write left hanging)', async () => {
    const b = randomBlob();
    const ac = new AbortController();
    const write = images().writeBlob(REPO, b.digest, Readable.from([b.bytes]), ac.signal);
    // The upload session is being created (an await): the body is destroyed before anything listens.
    queueMicrotask(() => ac.abort(new Error('reset')));
    const outcome = await Promise.race([write.then(() => 'written', (err: Error) => err.message), new Promise((r) => setTimeout(() => r('hung'), 5000))]);
    expect(outcome).toBe('reset');
    expect(await images().blobExists(REPO, b.digest)).toBe(false);
    expect(uploadsLeft()).toEqual({ files: [], rows: 0 });
  }, 10_000);
});
