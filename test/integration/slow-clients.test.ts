/**
 * Clients that trickle their bodies (a byte every few seconds) are cut, so a thousand of them
 * neither hold sockets for as long as they like nor lock others out, and an upload slot held by
 * a trickling PATCH is freed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { openRequest, type HeldRequest, settle, sleep } from '../registry/helpers/raw.js';

const linux = JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8'));
const openFds = () => readdirSync('/proc/self/fd').length;

describe('trickling request bodies', () => {
  let reef: TestReef;
  beforeAll(async () => {
    reef = await startTestReef({ REEF_BODY_TIMEOUT: '2s', REGISTRY_MAX_CONCURRENT_UPLOADS: '1', REGISTRY_UPLOAD_STALL: '1s' });
  });
  afterAll(async () => reef?.stop());

  it('1,000 trickling document bodies are answered 408 and closed; others are served meanwhile', async () => {
    const before = openFds();
    const held: HeldRequest[] = [];
    for (let i = 0; i < 1000; i++) {
      const r = openRequest(`${reef.url}/api/v1/recipes?name=slow-${i}`, 'POST', { 'content-type': 'application/json', 'content-length': '1000' });
      held.push(r);
    }
    // One byte from each, now and then, as a slow-loris client would.
    const drip = setInterval(() => {
      for (const r of held) r.write(Buffer.from(' ')).catch(() => undefined);
    }, 700);
    try {
      await sleep(500);
      // Others are not locked out while the trickle goes on.
      expect((await reef.req('/healthz')).status).toBe(200);
      expect((await reef.json('POST', '/api/v1/recipes?name=normal', linux)).status).toBe(201);
      const answers = await Promise.all(held.map((r) => r.response.then((res) => res.status, () => 'reset')));
      const counts = answers.reduce<Record<string, number>>((m, a) => ({ ...m, [a]: (m[a] ?? 0) + 1 }), {});
      expect(counts).toEqual({ 408: 1000 });
      const body = JSON.parse((await held[0]!.response).body);
      expect(body.error).toMatchObject({ code: 'REQUEST_TIMEOUT', details: [{ path: 'body', message: 'arrived too slowly' }] });
    } finally {
      clearInterval(drip);
      for (const r of held) r.drop();
    }
    // The sockets are given back (client and server ends both live in this process).
    await sleep(500);
    expect(openFds()).toBeLessThan(before + 50);
  });

  it('a trickling PATCH loses its upload slot: the next upload is taken instead of 429', async () => {
    const start = async (repo: string) => new URL((await reef.req(`/v2/${repo}/blobs/uploads/`, { method: 'POST' })).headers.get('location')!, reef.url).toString();
    const slow = openRequest(await start('slow/one'), 'PATCH', { 'content-type': 'application/octet-stream', 'content-length': '100000' });
    await slow.write(Buffer.alloc(10, 1));
    const drip = setInterval(() => slow.write(Buffer.alloc(1, 1)).catch(() => undefined), 300);
    try {
      await sleep(200);
      const other = await start('slow/two');
      const refused = await fetch(other, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(100, 2) });
      expect(refused.status).toBe(429);
      await slow.response.catch(() => undefined);
      // The client sees its socket close a moment before the server has finished tidying the
      // cut request up (the slot is freed when its write settles): allow that moment.
      const taken = await settle(
        () => fetch(other, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(100, 2) }).then((r) => r.status),
        (status) => status !== 429,
        20,
        100,
      );
      expect(taken).toBe(202);
    } finally {
      clearInterval(drip);
      slow.drop();
    }
  });
});

describe('the stall limit polices bodies, not the server', () => {
  let reef: TestReef;
  beforeAll(async () => {
    reef = await startTestReef({ REGISTRY_UPLOAD_STALL: '300ms' });
  });
  afterAll(async () => reef?.stop());

  it('a closing PUT whose digest check outlasts REGISTRY_UPLOAD_STALL is not cut', async () => {
    const { createHash, randomBytes } = await import('node:crypto');
    const chunk = randomBytes(64 * 1024 * 1024);
    const h = createHash('sha512');
    const start = await reef.req('/v2/stall/put/blobs/uploads/', { method: 'POST' });
    let location = new URL(start.headers.get('location')!, reef.url).toString();
    // 384 MiB, then a sha512 digest: the server re-reads the whole file to check it, with no body arriving.
    for (let i = 0; i < 6; i++) {
      h.update(chunk);
      const res = await fetch(location, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream' }, body: chunk });
      expect(res.status).toBe(202);
      location = new URL(res.headers.get('location')!, reef.url).toString();
    }
    const digest = `sha512:${h.digest('hex')}`;
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const done = await fetch(url, { method: 'PUT' });
    expect(done.status).toBe(201);
    expect(done.headers.get('docker-content-digest')).toBe(digest);
  });
});
