/**
 * Upload sessions under a client's hostile or unlucky request order: one writer per upload
 * whatever the verb, Content-Range honoured by PATCH and by the closing PUT, refused chunks
 * keeping none of their bytes, a cancel while a chunk streams.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { client, expectBlob, expectOciError, type Fetch, finishUpload, patchChunk, startUpload, withQuery } from './helpers/client.js';
import { openRequest, settle, sleep } from './helpers/raw.js';
import { blobOf, randomBlob } from './helpers/oci.js';

let reef: TestReef;
let f: Fetch;
let base: string;
beforeAll(async () => {
  reef = await startTestReef();
  base = reef.url;
  f = client(base);
});
afterAll(async () => reef?.stop());

const uploadedBytes = async (location: string): Promise<number> => {
  const res = await f(location);
  expect(res.status).toBe(204);
  const range = res.headers.get('range')!;
  return Number(range.split('-')[1]) + (range === '0-0' ? 0 : 1);
};

describe('one writer per upload', () => {
  it('a PUT ?digest= while a PATCH still streams is refused, and the blob published after is the one pushed', async () => {
    const blob = randomBlob(2 * 1024 * 1024);
    const location = await startUpload(f, base, 'race/put-during-patch');
    const held = openRequest(location, 'PATCH', { 'content-type': 'application/octet-stream', 'content-length': String(blob.size), 'content-range': `0-${blob.size - 1}` });
    await held.write(blob.bytes.subarray(0, 1024 * 1024));
    await sleep(200);
    // The digest of what is on disk so far: before the fix this PUT published those bytes.
    const partial = blobOf(blob.bytes.subarray(0, 1024 * 1024));
    const put = await finishUpload(f, base, location, partial.digest);
    await expectOciError(put, 416, 'BLOB_UPLOAD_INVALID');
    held.end(blob.bytes.subarray(1024 * 1024));
    expect((await held.response).status).toBe(202);
    const done = await finishUpload(f, base, location, blob.digest);
    expect(done.status).toBe(201);
    expect((await expectBlob(f, 'race/put-during-patch', blob)).equals(blob.bytes)).toBe(true);
    expect((await f(`/v2/race/put-during-patch/blobs/${partial.digest}`, { method: 'HEAD' })).status).toBe(404);
    // The server is still there and well.
    expect((await f('/v2/')).status).toBe(200);
  });

  it('a second PATCH while the first streams is refused, and the first completes intact', async () => {
    const blob = randomBlob(1024 * 1024);
    const location = await startUpload(f, base, 'race/two-patches');
    const held = openRequest(location, 'PATCH', { 'content-type': 'application/octet-stream', 'content-length': String(blob.size), 'content-range': `0-${blob.size - 1}` });
    await held.write(blob.bytes.subarray(0, 4096));
    await sleep(200);
    await expectOciError(await patchChunk(f, location, 4096, Buffer.alloc(10, 1)), 416, 'BLOB_UPLOAD_INVALID');
    held.end(blob.bytes.subarray(4096));
    expect((await held.response).status).toBe(202);
    expect((await finishUpload(f, base, location, blob.digest)).status).toBe(201);
    expect((await expectBlob(f, 'race/two-patches', blob)).equals(blob.bytes)).toBe(true);
  });

  it('a DELETE while a PATCH streams cancels it: the upload and its file are gone, the server stays up', async () => {
    const location = await startUpload(f, base, 'race/cancel-during-patch');
    const id = new URL(location).pathname.split('/').pop()!;
    const held = openRequest(location, 'PATCH', { 'content-type': 'application/octet-stream', 'content-length': String(1024 * 1024) });
    await held.write(Buffer.alloc(64 * 1024, 7));
    await sleep(200);
    expect((await f(location, { method: 'DELETE' })).status).toBe(204);
    await held.write(Buffer.alloc(64 * 1024, 7)).catch(() => undefined);
    await held.response.catch(() => undefined);
    await expectOciError(await f(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    const left = await settle(async () => readdirSync(join(reef.dataDir, 'registry', 'uploads')).filter((n) => n === id), (l) => l.length === 0);
    expect(left).toEqual([]);
    expect((await f('/v2/')).status).toBe(200);
  });
});

describe('Content-Range is the contract of a chunk', () => {
  it('a PATCH whose body runs past its Content-Range keeps none of its bytes', async () => {
    const location = await startUpload(f, base, 'range/overrun');
    expect((await patchChunk(f, location, 0, Buffer.alloc(100, 1))).status).toBe(202);
    // Declared length agrees with neither: refused before a byte is read.
    const mismatch = await f(location, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream', 'content-range': '100-109' }, body: Buffer.alloc(50, 2) });
    await expectOciError(mismatch, 416, 'SIZE_INVALID');
    expect(await uploadedBytes(location)).toBe(100);
    // Chunked, no Content-Length: stopped at the first byte past the range, cut back, and answered.
    const held = openRequest(location, 'PATCH', { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked', 'content-range': '100-109' });
    await held.write(Buffer.alloc(30, 3));
    held.end();
    const answer = await held.response;
    expect(answer.status).toBe(416);
    expect(JSON.parse(answer.body).errors[0].code).toBe('SIZE_INVALID');
    expect(await settle(() => uploadedBytes(location), (n) => n === 100)).toBe(100);
    // The upload goes on from where it was, and the blob is right.
    const rest = Buffer.alloc(50, 4);
    expect((await patchChunk(f, location, 100, rest)).status).toBe(202);
    const blob = blobOf(Buffer.concat([Buffer.alloc(100, 1), rest]));
    expect((await finishUpload(f, base, location, blob.digest)).status).toBe(201);
    expect((await expectBlob(f, 'range/overrun', blob)).equals(blob.bytes)).toBe(true);
  });

  it('a chunked PATCH shorter than its Content-Range is refused and keeps none of its bytes', async () => {
    const location = await startUpload(f, base, 'range/short');
    const held = openRequest(location, 'PATCH', { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked', 'content-range': '0-99' });
    await held.write(Buffer.alloc(40, 5));
    held.end();
    const res = await held.response;
    expect(res.status).toBe(416);
    expect(JSON.parse(res.body).errors[0].code).toBe('SIZE_INVALID');
    expect(await uploadedBytes(location)).toBe(0);
  });

  it('the closing PUT honours Content-Range like a PATCH: out of order is 416 with the Range to resume from', async () => {
    const location = await startUpload(f, base, 'range/put');
    const first = Buffer.alloc(100, 6);
    const last = Buffer.alloc(20, 7);
    expect((await patchChunk(f, location, 0, first)).status).toBe(202);
    const blob = blobOf(Buffer.concat([first, last]));
    const url = withQuery(base, location, { digest: blob.digest });
    const wrong = await f(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-range': '50-69' }, body: last });
    expect(wrong.headers.get('range')).toBe('0-99');
    await expectOciError(wrong, 416, 'BLOB_UPLOAD_INVALID');
    expect(await uploadedBytes(location)).toBe(100);
    const right = await f(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-range': '100-119' }, body: last });
    expect(right.status).toBe(201);
    expect((await expectBlob(f, 'range/put', blob)).equals(blob.bytes)).toBe(true);
  });
});
