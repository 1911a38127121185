/**
 * The operational promises of the registry that no client flow shows: GC runs on its own at
 * REGISTRY_GC_INTERVAL, a download that stops moving is cut at REGISTRY_DOWNLOAD_TIMEOUT, and
 * credentials never reach the log.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnReef } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { basicAuth, client, pushBlobMonolithic, pushImage } from './helpers/client.js';
import { metricValue } from './helpers/gc.js';
import { randomBlob } from './helpers/oci.js';
import { settle, sleep } from './helpers/raw.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});
const own = async (env: Record<string, string>): Promise<TestReef> => {
  const r = await startTestReef(env);
  cleanups.push(async () => {
    await r.stop();
    rmSync(r.dataDir, { recursive: true, force: true });
  });
  return r;
};

describe('registry operations', () => {
  it('runs GC by itself every REGISTRY_GC_INTERVAL: a loose blob goes, a tagged image stays', async () => {
    const reef = await own({ REGISTRY_GC_GRACE_PERIOD: '0s', REGISTRY_GC_INTERVAL: '1s' });
    const f = client(reef.url);
    const img = await pushImage(f, reef.url, 'ops/sched', 'v1');
    const loose = await pushBlobMonolithic(f, 'ops/sched', randomBlob(4096));
    const head = (d: string) => f(`/v2/ops/sched/blobs/${d}`, { method: 'HEAD' }).then((r) => r.status);
    expect(await head(loose.digest)).toBe(200);
    // no GC request is made: the scheduled run must remove it within a few intervals
    expect(await settle(() => head(loose.digest), (s) => s === 404, 50, 200)).toBe(404);
    // the metric is counted when the run's report is in, just after the sweep
    expect(await settle(() => metricValue(reef, 'registry_gc_blobs_deleted'), (n) => (n ?? 0) >= 1, 25, 200)).toBeGreaterThanOrEqual(1);
    for (const b of [img.config, ...img.layers]) expect(await head(b.digest)).toBe(200);
    expect((await f('/v2/ops/sched/manifests/v1')).status).toBe(200);
  });

  /** GETs `url`, stops reading after the first chunk for `stallMs`, then reads on to the end of the connection. */
  const stallingGet = (url: string, stallMs: number) =>
    new Promise<{ got: number; complete: boolean }>((resolve, reject) => {
      get(url, (res) => {
        let got = 0;
        res.on('data', (chunk: Buffer) => (got += chunk.length));
        res.once('data', () => {
          res.pause(); // nothing moves any more: the socket buffers fill and the server's writes stop
          setTimeout(() => res.resume(), stallMs);
        });
        res.on('error', () => {}); // a cut shows up as an aborted response, judged below
        res.socket.once('close', () => resolve({ got, complete: res.complete }));
      }).on('error', reject);
    });

  it('cuts a blob download that stops moving for REGISTRY_DOWNLOAD_TIMEOUT; a Range request then resumes it', async () => {
    const blob = randomBlob(64 * 1024 * 1024); // larger than loopback's socket buffers
    const cutting = await own({ REGISTRY_DOWNLOAD_TIMEOUT: '1s', REGISTRY_GC_INTERVAL: '24h' });
    const patient = await own({ REGISTRY_DOWNLOAD_TIMEOUT: '30s', REGISTRY_GC_INTERVAL: '24h' });
    for (const r of [cutting, patient]) await pushBlobMonolithic(client(r.url), 'ops/slow', blob);
    const path = `/v2/ops/slow/blobs/${blob.digest}`;

    const cut = await stallingGet(`${cutting.url}${path}`, 3000);
    expect(cut.complete).toBe(false);
    expect(cut.got).toBeLessThan(blob.size);
    const rest = await fetch(`${cutting.url}${path}`, { headers: { range: `bytes=${cut.got}-` } });
    expect(rest.status).toBe(206);
    expect(Buffer.from(await rest.arrayBuffer()).equals(blob.bytes.subarray(cut.got))).toBe(true);

    // the same stall under a longer timeout is waited out
    const waited = await stallingGet(`${patient.url}${path}`, 3000);
    expect(waited).toEqual({ got: blob.size, complete: true });
  });

  it('never logs credentials, right or wrong, even at debug level', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-ops-'));
    const pass = 'Pw-7c1e9b2f';
    const wrong = 'Wr-4d8a0e6c';
    const htpasswd = join(dir, 'htpasswd');
    writeFileSync(htpasswd, `ops:${bcrypt.hashSync(pass, 4)}\n`);
    const reef = await spawnReef({ REEF_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'debug', REGISTRY_AUTH_MODE: 'htpasswd', REGISTRY_HTPASSWD_FILE: htpasswd, REGISTRY_GC_INTERVAL: '24h' });
    cleanups.push(async () => {
      reef.child.kill('SIGTERM');
      await reef.exited;
      rmSync(dir, { recursive: true, force: true });
    });
    const bad = await fetch(`${reef.url}/v2/`, { headers: { authorization: basicAuth('ops', wrong) } });
    expect(bad.status).toBe(401);
    const good = client(reef.url, { user: 'ops', pass });
    expect((await good('/v2/')).status).toBe(200);
    await pushBlobMonolithic(good, 'ops/auth', randomBlob(1024));
    expect((await fetch(`${reef.url}/v2/ops/auth/tags/list`, { headers: { authorization: basicAuth('ops', wrong) } })).status).toBe(401);
    await sleep(300); // let the last log lines out
    const log = reef.output();
    // the requests were logged (so the check below is not of an empty log) ...
    expect(log.match(/"msg":"request"/g)?.length ?? 0).toBeGreaterThanOrEqual(4);
    expect(log).toMatch(/"status":401/);
    // ... and no form of either password is in it
    for (const secret of [pass, wrong, basicAuth('ops', pass).slice(6), basicAuth('ops', wrong).slice(6)]) expect(log).not.toContain(secret);
  });
});
