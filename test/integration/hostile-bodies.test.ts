/**
 * Bodies crafted to cost the server more than their size: memory bounded by the limits, not by
 * the sender. Each answer is a 4xx naming what was wrong, never a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { openRequest } from '../registry/helpers/raw.js';
import { configBlob, descriptorOf, imageManifest, MT, randomBlob } from '../registry/helpers/oci.js';
import { client, expectOciError, type Fetch, pushBlob } from '../registry/helpers/client.js';

let reef: TestReef;
let f: Fetch;
beforeAll(async () => {
  reef = await startTestReef();
  f = client(reef.url);
});
afterAll(async () => reef?.stop());

const deepJson = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

const recipeHead = 'task_target: install-linux.target\ntarget_disk: /dev/sda\noci_url: reef.local/os/x:1\npartitions: [{mount: /, size: "0", fstype: ext4}]\n';

/** One 10 KB key used 3,000 times through an alias: a 16 KB body standing for 30 MB. */
const aliasBomb = () =>
  `${recipeHead}cloud_init:\n  hostname: h\n  users:\n    - name: a\n      ssh_authorized_keys: [&k "ssh-ed25519 ${'A'.repeat(10_000)}"${', *k'.repeat(3000)}]\n`;

describe('/api/v1 documents', () => {
  it('JSON nested 100,000 levels is a 400 naming the body, not a 500', async () => {
    // An Ignition config is taken as any object, then re-serialised for embedding: before, a stack overflow.
    const body = `{"base":"fcos","ignition":{"ignition":{"version":"3.2.0"},"storage":${deepJson(100_000)}}}`;
    const res = await reef.json('POST', '/api/v1/isos', body);
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: 'body', message: 'nested deeper than 64 levels' }]);
  });

  it('a YAML alias bomb is refused as it is read, before anything expands it', async () => {
    const text = aliasBomb();
    expect(text.length).toBeLessThan(30_000);
    const res = await reef.req('/api/v1/recipes?name=bomb', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: text });
    expect(res.status).toBe(400);
    const body = (await res.json()) as any;
    expect(body.error.details[0].path).toBe('body');
    expect(body.error.details[0].message).toMatch(/once expanded \(YAML aliases count each time/);
    // The server still answers, at once.
    expect((await reef.req('/healthz')).status).toBe(200);
  });

  it('a recipe that uses a YAML anchor the ordinary way is still taken', async () => {
    const yaml = 'task_target: install-linux.target\ntarget_disk: /dev/sda\noci_url: reef.local/os/x:1\npartitions:\n  - &p {mount: /boot/efi, size: 512M, fstype: vfat}\n  - {mount: /, size: "0", fstype: ext4}\n';
    const res = await reef.req('/api/v1/recipes?name=anchored', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: yaml });
    expect(res.status).toBe(201);
  });
});

describe('/v2 manifests', () => {
  it('a chunked manifest PUT with no Content-Length is cut at the 4 MiB limit with 413', async () => {
    const held = openRequest(`${reef.url}/v2/limits/chunked/manifests/v1`, 'PUT', { 'content-type': MT.ociManifest, 'transfer-encoding': 'chunked' });
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    let sent = 0;
    try {
      while (sent < 5 * 1024 * 1024) {
        await held.write(chunk);
        sent += chunk.length;
      }
      held.end();
    } catch {
      // the server may close the connection once it has answered
    }
    const res = await held.response;
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).errors[0].code).toBe('MANIFEST_INVALID');
  });

  it('a manifest nested 100,000 levels is MANIFEST_INVALID, not a 500', async () => {
    const body = `{"schemaVersion":2,"mediaType":"${MT.ociManifest}","annotations":{"x":"y"},"deep":${deepJson(100_000)}}`;
    await expectOciError(await f('/v2/limits/deep/manifests/v1', { method: 'PUT', headers: { 'content-type': MT.ociManifest }, body }), 400, 'MANIFEST_INVALID');
  });

  it('annotations must be strings, at the top and in descriptors', async () => {
    const layer = await pushBlob(f, reef.url, 'limits/annotations', randomBlob());
    const config = await pushBlob(f, reef.url, 'limits/annotations', configBlob());
    const good = imageManifest(descriptorOf(config, MT.ociConfig), [descriptorOf(layer, MT.ociLayer)]);
    const put = (doc: unknown) => f('/v2/limits/annotations/manifests/v1', { method: 'PUT', headers: { 'content-type': MT.ociManifest }, body: JSON.stringify(doc) });
    await expectOciError(await put({ ...good.doc, annotations: { 'org.example.n': 1 } }), 400, 'MANIFEST_INVALID');
    const doc = JSON.parse(good.bytes.toString()) as any;
    doc.layers[0].annotations = { 'org.example.obj': { a: 'b' } };
    await expectOciError(await put(doc), 400, 'MANIFEST_INVALID');
    expect((await f('/v2/limits/annotations/manifests/v1', { method: 'PUT', headers: { 'content-type': MT.ociManifest }, body: good.bytes })).status).toBe(201);
  });
});
