/**
 * Release resolution: channels → release images per architecture through a Cincinnati update
 * graph served on 127.0.0.1 (asked with the global fetch, as the CLI passes it), and the fallback
 * on the upstream's `<x.y.z>-<arch>` tags when no graph is configured or reachable.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReleaseChannel } from '../../src/mirror/imageset.js';
import { DEFAULT_UPDATE_URL, parseUpdateGraph, selectVersions, shortestUpdatePath, updateGraphUrl, type UpdateGraph } from '../../src/mirror/release-graph.js';
import { resolveReleases, versionsFromTags } from '../../src/mirror/release-resolve.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const payload = (c: string) => `quay.io/openshift-release-dev/ocp-release@${digest(c)}`;
/** stable-4.19 for amd64: 4.18.20 → 4.19.1 → 4.19.2 → 4.19.3, 4.19.1 → 4.19.3 (a shortcut), 4.19.2 → 4.19.4; nodes out of order as the API gives them. */
const AMD64: UpdateGraph = {
  nodes: [
    { version: '4.19.3', payload: payload('3'), metadata: { 'io.openshift.upgrades.graph.release.channels': 'stable-4.19' } },
    { version: '4.18.20', payload: payload('0') },
    { version: '4.19.1', payload: payload('1') },
    { version: '4.19.4', payload: payload('4') },
    { version: '4.19.2', payload: payload('2') },
  ],
  edges: [
    [1, 2],
    [2, 4],
    [4, 0],
    [2, 0],
    [4, 3],
  ],
};
const ARM64: UpdateGraph = { nodes: [{ version: '4.19.3', payload: payload('a') }], edges: [] };

const channel = (over: Partial<ReleaseChannel> = {}): ReleaseChannel => ({ name: 'stable-4.19', minor: '4.19', shortestPath: false, full: false, field: 'mirror.platform.channels[0]', ...over });

describe('release resolution', () => {
  let server: Server;
  let url: string;
  const asked: { channel: string | null; arch: string | null; accept: string | undefined; id: string | null }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      asked.push({ channel: u.searchParams.get('channel'), arch: u.searchParams.get('arch'), accept: req.headers.accept, id: u.searchParams.get('id') });
      if (u.pathname === '/broken') return void res.writeHead(503).end('down');
      const graph = u.searchParams.get('channel') !== 'stable-4.19' ? { nodes: [], edges: [] } : u.searchParams.get('arch') === 'arm64' ? ARM64 : AMD64;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(graph));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/upgrades_info/v1/graph?id=reef`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const resolve = (channels: ReleaseChannel[], more: Partial<Parameters<typeof resolveReleases>[0]> = {}) =>
    resolveReleases({ channels, architectures: ['amd64'], graph: { url, fetch: (u, init) => fetch(u, init) }, ...more });

  it('asks the graph per channel and architecture with Accept: application/json, and gives payloads by digest', async () => {
    asked.length = 0;
    const r = await resolve([channel()], { architectures: ['amd64', 'arm64'] });
    expect(asked).toEqual([
      { channel: 'stable-4.19', arch: 'amd64', accept: 'application/json', id: 'reef' },
      { channel: 'stable-4.19', arch: 'arm64', accept: 'application/json', id: 'reef' },
    ]);
    // Without bounds: the channel's head only, per architecture.
    expect(r).toEqual([
      { version: '4.19.4', architecture: 'amd64', tag: '4.19.4-x86_64', image: payload('4'), channel: 'stable-4.19', from: 'graph' },
      { version: '4.19.3', architecture: 'arm64', tag: '4.19.3-aarch64', image: payload('a'), channel: 'stable-4.19', from: 'graph' },
    ]);
  });

  it('filters by minVersion / maxVersion as oc-mirror does, and takes all with full', async () => {
    const versions = async (over: Partial<ReleaseChannel>) => (await resolve([channel(over)])).map((x) => x.version);
    expect(await versions({ minVersion: '4.19.2', maxVersion: '4.19.3' })).toEqual(['4.19.2', '4.19.3']);
    expect(await versions({ minVersion: '4.19.3' })).toEqual(['4.19.3', '4.19.4']);
    expect(await versions({ maxVersion: '4.19.1' })).toEqual(['4.18.20', '4.19.1']);
    expect(await versions({ full: true })).toEqual(['4.18.20', '4.19.1', '4.19.2', '4.19.3', '4.19.4']);
    // shortestPath: the update path between the bounds (4.19.1 → 4.19.3 directly), not every version in between.
    expect(await versions({ minVersion: '4.19.1', maxVersion: '4.19.3', shortestPath: true })).toEqual(['4.19.1', '4.19.3']);
    expect(await versions({ minVersion: '4.18.20', maxVersion: '4.19.4', shortestPath: true })).toEqual(['4.18.20', '4.19.1', '4.19.2', '4.19.4']);
  });

  it('names the channel that matches nothing, and a shortestPath bound the graph does not hold', async () => {
    await expect(resolve([channel({ name: 'fast-4.20', minor: '4.20', field: 'mirror.platform.channels[1]' })])).rejects.toThrow(
      /^mirror\.platform\.channels\[1\]: no release in channel fast-4\.20 for amd64 in the update graph http:\/\/127\.0\.0\.1:\d+\/api\/upgrades_info\/v1\/graph\?id=reef \(it has none\)$/,
    );
    await expect(resolve([channel({ minVersion: '4.19.9' })])).rejects.toThrow(/^mirror\.platform\.channels\[0\]: no release in channel stable-4\.19 for amd64 between 4\.19\.9 and any .*it has 4\.18\.20, 4\.19\.1/);
    await expect(resolve([channel({ minVersion: '4.19.0', maxVersion: '4.19.3', shortestPath: true })])).rejects.toThrow(/^mirror\.platform\.channels\[0\]\.minVersion: 4\.19\.0 is not in channel stable-4\.19 for amd64/);
  });

  it('falls back to the upstream tags when the graph does not answer, and says so once', async () => {
    const told: string[] = [];
    const listed: string[] = [];
    const tags = ['4.19.1-x86_64', '4.19.2-x86_64', '4.19.2-aarch64', '4.19.10-x86_64', '4.18.30-x86_64', '4.19.2-multi', 'latest', '4.20.0-rc.1-x86_64'];
    const listTags = async (repo: string) => (listed.push(repo), tags);
    const r = await resolveReleases({
      channels: [channel({ minVersion: '4.19.2' }), channel({ name: 'candidate-4.20', minor: '4.20', field: 'mirror.platform.channels[1]' })],
      architectures: ['amd64', 'multi'],
      graph: { url: url.replace('/api/upgrades_info/v1/graph', '/broken'), fetch: (u, init) => fetch(u, init) },
      listTags,
      onFallback: (why) => told.push(why),
    }).catch((e: Error) => e);
    // candidate-4.20 has no multi tag: the error names it, after the fallback was announced once.
    expect(String(r)).toMatch(/mirror\.platform\.channels\[1\]: no 4\.20 release for multi in quay\.io\/openshift-release-dev\/ocp-release \(looked for <x\.y\.z>-multi tags; found: none\)/);
    expect(told).toHaveLength(1);
    expect(told[0]).toMatch(/^update graph http:\/\/127\.0\.0\.1:\d+\/broken\?id=reef&channel=stable-4\.19&arch=amd64: HTTP 503; using the tags of quay\.io\/openshift-release-dev\/ocp-release$/);
    expect(listed).toEqual(['quay.io/openshift-release-dev/ocp-release']);

    const ok = await resolveReleases({ channels: [channel({ minVersion: '4.19.2' }), channel({ name: 'candidate-4.20', minor: '4.20' })], architectures: ['amd64'], listTags });
    expect(ok.map((x) => [x.image, x.from])).toEqual([
      ['quay.io/openshift-release-dev/ocp-release:4.19.2-x86_64', 'tags'],
      ['quay.io/openshift-release-dev/ocp-release:4.19.10-x86_64', 'tags'],
      ['quay.io/openshift-release-dev/ocp-release:4.20.0-rc.1-x86_64', 'tags'],
    ]);
    const multi = await resolveReleases({ channels: [channel()], architectures: ['multi'], listTags });
    expect(multi).toEqual([{ version: '4.19.2', architecture: 'multi', tag: '4.19.2-multi', image: 'quay.io/openshift-release-dev/ocp-release:4.19.2-multi', channel: 'stable-4.19', from: 'tags' }]);
  });

  it('fails plainly when the graph is down and there is no way to list tags', async () => {
    const dead = 'http://127.0.0.1:1/graph';
    await expect(resolveReleases({ channels: [channel()], architectures: ['amd64'], graph: { url: dead, fetch: (u, init) => fetch(u, init) } })).rejects.toThrow(/^update graph http:\/\/127\.0\.0\.1:1\/graph\?channel=stable-4\.19&arch=amd64: /);
  });
});

describe('update graph pieces', () => {
  it('takes the graph URL from UPDATE_URL_OVERRIDE as oc-mirror does', () => {
    expect(updateGraphUrl({})).toBe('https://api.openshift.com/api/upgrades_info/v1/graph');
    expect(updateGraphUrl({ UPDATE_URL_OVERRIDE: '' })).toBe(DEFAULT_UPDATE_URL);
    expect(updateGraphUrl({ UPDATE_URL_OVERRIDE: 'https://osus.example.com/api/upgrades_info/graph' })).toBe('https://osus.example.com/api/upgrades_info/graph');
  });
  it('checks the graph document', () => {
    expect(() => parseUpdateGraph('{', 'g')).toThrow(/^g: is not JSON/);
    expect(() => parseUpdateGraph('{"nodes":[{"version":"4.19","payload":"x"}],"edges":[]}', 'g')).toThrow(/^g nodes\[0\]\.version: not a version/);
    expect(() => parseUpdateGraph('{"nodes":[{"version":"4.19.1","payload":"x"}],"edges":[[0,1]]}', 'g')).toThrow('g edges[0]: names a node beyond the 1 nodes');
  });
  it('selects versions and paths', () => {
    const v = ['4.19.1', '4.19.2', '4.19.3'];
    expect(selectVersions({ full: false }, v)).toEqual(['4.19.3']);
    expect(selectVersions({ full: false, minVersion: '4.19.2' }, v)).toEqual(['4.19.2', '4.19.3']);
    expect(shortestUpdatePath({ nodes: [{ version: '4.19.1', payload: 'a' }, { version: '4.19.2', payload: 'b' }], edges: [] }, '4.19.1', '4.19.2').map((n) => n.version)).toEqual(['4.19.1', '4.19.2']);
    expect(versionsFromTags(['4.19.10-x86_64', '4.19.9-x86_64', '4.19.9-aarch64', '4.20.0-ec.2-x86_64'], 'x86_64')).toEqual(['4.19.9', '4.19.10']);
    expect(versionsFromTags(['4.20.0-ec.2-x86_64', '4.20.0-x86_64', '4.20.0-rc.1-x86_64'], 'x86_64', true)).toEqual(['4.20.0-ec.2', '4.20.0-rc.1', '4.20.0']);
  });
});
