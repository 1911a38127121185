/**
 * `reef mirror` resolving `mirror.platform.channels` as an operator runs it: a process whose
 * UPDATE_URL_OVERRIDE names a small Cincinnati graph served here, whose payloads are release
 * images on a local upstream (Debian's docker-registry). The channel's minVersion / maxVersion
 * pick the releases; the dry run's mapping and the destination's contents show which.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushSyntheticRelease, type SyntheticRelease } from '../fixtures/synthetic-release.js';
import { reefResult } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { type Distribution, DISTRIBUTION_BIN, startDistribution } from '../registry/helpers/distribution.js';

const ok = requireTool(DISTRIBUTION_BIN);
const RELEASE_REPO = 'openshift-release-dev/ocp-release';
const ACCEPT = 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';

describe.runIf(ok)('reef mirror: channels resolved through the update graph at UPDATE_URL_OVERRIDE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-mirror-channels-'));
  let upstream: Distribution;
  let graphServer: Server;
  let graphUrl: string;
  const asked: { path: string; channel: string | null; arch: string | null }[] = [];
  const releases = new Map<string, SyntheticRelease>();
  let reef: TestReef;
  let isc: string;

  beforeAll(async () => {
    upstream = await startDistribution();
    for (const version of ['4.19.1', '4.19.2', '4.19.3']) {
      releases.set(version, await pushSyntheticRelease({ registry: upstream.host, plainHttp: true, version, components: 3, imageBytes: 64 * 1024, sourceHost: upstream.host, releaseRepo: RELEASE_REPO }));
    }
    const payload = (v: string) => `${upstream.host}/${RELEASE_REPO}@${releases.get(v)!.releaseDigest}`;
    // stable-4.19 as the API gives it (nodes in no order): 4.18.30 and 4.19.4 lie outside the bounds;
    // their payloads exist nowhere, so mirroring either would fail the run.
    const graph = {
      nodes: [
        { version: '4.19.3', payload: payload('4.19.3'), metadata: {} },
        { version: '4.18.30', payload: `${upstream.host}/${RELEASE_REPO}@sha256:${'0'.repeat(64)}`, metadata: {} },
        { version: '4.19.1', payload: payload('4.19.1'), metadata: {} },
        { version: '4.19.4', payload: `${upstream.host}/${RELEASE_REPO}@sha256:${'4'.repeat(64)}`, metadata: {} },
        { version: '4.19.2', payload: payload('4.19.2'), metadata: {} },
      ],
      edges: [
        [1, 2],
        [2, 4],
        [4, 0],
        [0, 3],
      ],
    };
    graphServer = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      asked.push({ path: u.pathname, channel: u.searchParams.get('channel'), arch: u.searchParams.get('arch') });
      const body = u.searchParams.get('channel') === 'stable-4.19' && u.searchParams.get('arch') === 'amd64' ? graph : { nodes: [], edges: [] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => graphServer.listen(0, '127.0.0.1', r));
    graphUrl = `http://127.0.0.1:${(graphServer.address() as AddressInfo).port}/api/upgrades_info/v1/graph`;
    reef = await startTestReef();
    isc = join(dir, 'isc.yaml');
    writeFileSync(
      isc,
      [
        'kind: ImageSetConfiguration',
        'apiVersion: mirror.openshift.io/v2alpha1',
        'mirror:',
        '  platform:',
        '    channels:',
        '    - name: stable-4.19',
        '      minVersion: 4.19.2',
        '      maxVersion: 4.19.3',
        '',
      ].join('\n'),
    );
  }, 120_000);
  afterAll(async () => {
    await reef?.stop();
    await new Promise<void>((r) => (graphServer ? graphServer.close(() => r()) : r()));
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const mirror = (extra: string[]) =>
    reefResult(['mirror', '-c', isc, `docker://${new URL(reef.url).host}/site`, '--workspace', `file://${join(dir, 'ws')}`, '--retry-delay', '100ms', '--image-timeout', '60s', ...extra], {
      UPDATE_URL_OVERRIDE: graphUrl,
      XDG_RUNTIME_DIR: join(dir, 'none'),
    });

  it('--dry-run maps the releases between minVersion and maxVersion, and their components, to oc-mirror names', async () => {
    asked.length = 0;
    const r = await mirror(['--dry-run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(asked).toEqual([{ path: '/api/upgrades_info/v1/graph', channel: 'stable-4.19', arch: 'amd64' }]);
    const dest = `docker://${new URL(reef.url).host}/site`;
    const expected: string[] = [];
    for (const v of ['4.19.2', '4.19.3']) {
      const rel = releases.get(v)!;
      expected.push(`docker://${upstream.host}/${RELEASE_REPO}@${rel.releaseDigest}=${dest}/openshift/release-images:${v}-x86_64`);
      for (const c of rel.components) expected.push(`docker://${c.source}=${dest}/openshift/release:${v}-x86_64-${c.name}`);
    }
    const mapping = readFileSync(join(dir, 'ws/working-dir/dry-run/mapping.txt'), 'utf8').trimEnd().split('\n');
    expect(mapping).toEqual(expected.sort());
  }, 120_000);

  it('mirrors exactly those releases: 4.19.2 and 4.19.3 with their components, by the same digests; not 4.19.1', async () => {
    asked.length = 0;
    const r = await mirror([]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(asked.map((a) => `${a.channel} ${a.arch}`)).toEqual(['stable-4.19 amd64']);
    const digestAt = async (repo: string, ref: string) => {
      const res = await reef.req(`/v2/site/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { accept: ACCEPT } });
      return res.status === 200 ? res.headers.get('docker-content-digest') : `HTTP ${res.status}`;
    };
    for (const v of ['4.19.2', '4.19.3']) {
      const rel = releases.get(v)!;
      expect(await digestAt('openshift/release-images', `${v}-x86_64`), v).toBe(rel.releaseDigest);
      for (const c of rel.components) expect(await digestAt('openshift/release', `${v}-x86_64-${c.name}`), `${v} ${c.name}`).toBe(c.digest);
    }
    const tags = (await (await reef.req('/v2/site/openshift/release-images/tags/list')).json()) as { tags: string[] };
    expect(tags.tags.sort()).toEqual(['4.19.2-x86_64', '4.19.3-x86_64']);
    const idms = readFileSync(join(dir, 'ws/working-dir/cluster-resources/idms-oc-mirror.yaml'), 'utf8');
    expect(idms).toContain(`source: ${upstream.host}/${RELEASE_REPO}`);
    expect(idms).toContain(`- ${new URL(reef.url).host}/site/openshift/release-images`);
  }, 180_000);
});
