import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireAvailable } from '../helpers/tools.js';

const isRoot = process.getuid?.() === 0;

/** A request whose body may be cut short by the server: resolves with the answer or the socket error. */
const send = (url: string, method: string, body: Buffer, headers: Record<string, string> = {}) =>
  new Promise<{ status: number; text: string } | { error: string }>((resolve) => {
    const req = http.request(url, { method, headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length), ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(body);
  });

describe('registry storage on a full disk', () => {
  let reef: TestReef;
  let storage: string;
  let parent: string;
  beforeAll(async () => {
    if (!requireAvailable('root (to mount a small tmpfs)', isRoot)) return;
    parent = mkdtempSync(join(tmpdir(), 'reef-full-'));
    storage = join(parent, 'registry');
    mkdirSync(storage);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', storage]);
    reef = await startTestReef({ REGISTRY_STORAGE: storage, REGISTRY_GC_GRACE_PERIOD: '0s' });
  });
  afterAll(async () => {
    if (!reef) return;
    await reef.stop();
    execFileSync('umount', [storage]);
    rmSync(parent, { recursive: true, force: true });
  });

  const blobFiles = () => readdirSync(join(storage, 'blobs', 'sha256'));
  const uploadFiles = () => readdirSync(join(storage, 'uploads'));

  it.skipIf(!isRoot)('a monolithic push that does not fit answers 507 STORAGE_FULL and leaves nothing behind', async () => {
    const bytes = randomBytes(4 * 1024 * 1024);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const res = await send(`${reef.url}/v2/big/blob/blobs/uploads/?digest=${digest}`, 'POST', bytes);
    expect(res).toMatchObject({ status: 507 });
    expect(JSON.parse((res as { text: string }).text).errors[0]).toMatchObject({ code: 'STORAGE_FULL', message: expect.stringMatching(/no space left/) });
    expect((await reef.req(`/v2/big/blob/blobs/${digest}`, { method: 'HEAD' })).status).toBe(404);
    expect(blobFiles().filter((f) => !f.endsWith('.tmp'))).toEqual([]);
    expect(uploadFiles()).toEqual([]);
  });

  it.skipIf(!isRoot)('a chunked upload stops at the full disk: no blob, and the session can be cancelled to free space', async () => {
    const start = await reef.req('/v2/big/chunked/blobs/uploads/', { method: 'POST' });
    expect(start.status).toBe(202);
    const loc = start.headers.get('location')!;
    const res = await send(`${reef.url}${loc}`, 'PATCH', randomBytes(4 * 1024 * 1024));
    expect(res).toMatchObject({ status: 507 });
    expect(blobFiles()).toEqual([]);
    expect((await reef.req(loc, { method: 'DELETE' })).status).toBe(204);
    expect(uploadFiles()).toEqual([]);
    // With the space back, a blob that fits goes in.
    const small = randomBytes(64 * 1024);
    const digest = `sha256:${createHash('sha256').update(small).digest('hex')}`;
    const ok = await send(`${reef.url}/v2/big/chunked/blobs/uploads/?digest=${digest}`, 'POST', small);
    expect(ok).toMatchObject({ status: 201 });
    expect(blobFiles()).toEqual([digest.slice(7)]);
  });
});
