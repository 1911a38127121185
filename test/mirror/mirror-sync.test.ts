import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOciClient } from '../../src/registry/client/oci-client.js';
import { pushImage, randomLayers } from '../fixtures/synthetic-release.js';
import { startTestReef, type TestReef } from '../helpers/server.js';

/** A TCP proxy to the hub that can be cut off (every connection dropped, nothing accepted) and restored on the same port. */
const cuttableProxy = async (target: number) => {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const open = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const up = net.connect(target, '127.0.0.1');
        sockets.add(client).add(up);
        client.pipe(up).pipe(client);
        for (const s of [client, up]) s.on('error', () => undefined).on('close', () => sockets.delete(s));
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  await open();
  return {
    host: () => `127.0.0.1:${port}`,
    cut: () =>
      new Promise<void>((resolve) => {
        server!.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
    restore: open,
  };
};

const waitRun = async (site: TestReef) => {
  for (;;) {
    const runs = (await site.json('GET', '/api/v1/mirror/runs')).body.items as { state: string; failed: { ref: string }[]; images: number }[];
    if (runs[0] && runs[0].state !== 'running') return runs[0];
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('hub → site sync (REEF_MIRROR_ISC): a run cut off mid-way, then the next one completes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-sync-'));
  let hub: TestReef;
  let site: TestReef;
  let siteEnv: Record<string, string>;
  let proxy: Awaited<ReturnType<typeof cuttableProxy>>;
  const images: { repo: string; digest: string }[] = [];

  beforeAll(async () => {
    hub = await startTestReef();
    proxy = await cuttableProxy(Number(new URL(hub.url).port));
    const client = createOciClient({ registry: new URL(hub.url).host, plainHttp: true });
    for (let i = 0; i < 8; i++) {
      const repo = `factory/tool-${i}`;
      images.push({ repo, digest: (await pushImage(client, repo, 'v1', randomLayers(repo, 4 * 1024 * 1024, 2), 'amd64')).digest });
    }
    const isc = join(dir, 'isc.yaml');
    writeFileSync(isc, ['kind: ImageSetConfiguration', 'apiVersion: mirror.openshift.io/v2alpha1', 'mirror:', '  additionalImages:', ...images.map((m) => `  - name: ${proxy.host()}/${m.repo}:v1`), ''].join('\n'));
    siteEnv = { REEF_MIRROR_ISC: isc, REGISTRY_AUTH_MODE: 'token' };
    site = await startTestReef(siteEnv, mkdtempSync(join(dir, 'site-')));
  }, 120_000);
  afterAll(async () => {
    await site?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the cut-off run as failed, naming what did not land; the next run completes and the site holds every image', async () => {
    const started = await site.json('POST', '/api/v1/mirror/runs');
    expect(started.status).toBe(202);
    expect(started.body.state).toBe('running');
    expect((await site.json('POST', '/api/v1/mirror/runs')).status).toBe(409);
    await new Promise((r) => setTimeout(r, 150));
    await proxy.cut();
    const first = await waitRun(site);
    expect(first.state).toBe('failed');
    expect(first.failed.length).toBeGreaterThan(0);
    expect(first.failed.every((f) => f.ref.startsWith(proxy.host()))).toBe(true);

    await proxy.restore();
    expect((await site.json('POST', '/api/v1/mirror/runs')).status).toBe(202);
    const second = await waitRun(site);
    expect(second).toMatchObject({ state: 'succeeded', images: 8, failed: [] });
    const admin = readFileSync(join(site.dataDir, 'admin.token'), 'utf8').trim();
    for (const m of images) {
      const res = await site.req(`/v2/${m.repo}/manifests/v1`, { method: 'HEAD', headers: { authorization: `Basic ${Buffer.from(`admin:${admin}`).toString('base64')}`, accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
      expect(res.headers.get('docker-content-digest'), m.repo).toBe(m.digest);
    }
    const metrics = await (await site.req('/metrics')).text();
    expect(metrics).toMatch(/reef_mirror_runs_total\{result="failed"\} 1/);
    expect(metrics).toMatch(/reef_mirror_runs_total\{result="succeeded"\} 1/);

    // A restart keeps the history; a run the file still shows as running (reef killed during it)
    // comes back failed, saying why, and the next run gets the next id.
    const before = (await site.json('GET', '/api/v1/mirror/runs')).body.items as { id: number; state: string }[];
    expect(before.map((r) => [r.id, r.state])).toEqual([[2, 'succeeded'], [1, 'failed']]);
    await site.stop();
    const file = join(site.dataDir, 'mirror', '.reef', 'sync-runs.json');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
    writeFileSync(file, JSON.stringify([{ ...saved[0], id: 3, state: 'running', finished_at: null }, ...saved]));
    site = await startTestReef(siteEnv, site.dataDir);
    const after = (await site.json('GET', '/api/v1/mirror/runs')).body.items as { id: number; state: string; error: string | null }[];
    expect(after.map((r) => [r.id, r.state])).toEqual([[3, 'failed'], [2, 'succeeded'], [1, 'failed']]);
    expect(after[0]!.error).toContain('reef stopped during this run');
    expect((await site.json('POST', '/api/v1/mirror/runs')).body.id).toBe(4);
    await waitRun(site);
  }, 180_000);
});
