/**
 * Pre-cache from an ImageSetConfiguration: platform channels resolved against the releases the
 * registry holds, platform.release, additionalImages (→ ai-images.txt) and blockedImages; through
 * the core API the agent calls (precacheDownload with a progress callback) and the CLI's errors.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseImageSet } from '../../src/ignition/prestage/imageset.js';
import { type PrecacheEvent, precacheDownload } from '../../src/ignition/prestage/precache.js';
import { createOciClient } from '../../src/registry/client/oci-client.js';
import { pushImage, pushSyntheticRelease, randomLayers, type SyntheticRelease } from '../fixtures/synthetic-release.js';
import { runReef } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';

const AGENT = 'quay.io/edge-infrastructure/assisted-installer-agent:latest';

describe('reef prestage download --imageset', () => {
  let reef: TestReef;
  let host: string;
  let work: string;
  const releases: Record<string, SyntheticRelease> = {};

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'reef-imageset-'));
    reef = await startTestReef();
    host = new URL(reef.url).host;
    for (const [version, n] of [['4.18.5', 2], ['4.19.7', 3], ['4.19.8', 3]] as const) {
      releases[version] = await pushSyntheticRelease({ registry: host, version, components: n, imageBytes: 32 * 1024, layersPerImage: 1 });
    }
    await pushImage(createOciClient({ registry: host }), 'edge-infrastructure/assisted-installer-agent', 'latest', randomLayers('agent', 16 * 1024, 1), 'amd64');
  }, 120_000);

  afterAll(async () => {
    await reef?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('resolves channels against the registry, adds platform.release and additionalImages, and drops blocked images', async () => {
    const blocked = releases['4.19.8']!.components[1]!.source;
    const set = parseImageSet(`kind: ImageSetConfiguration
apiVersion: mirror.openshift.io/v2alpha1
mirror:
  platform:
    channels:
    - name: stable-4.19
      minVersion: 4.19.8
    - name: stable-4.18
    release: quay.io/openshift-release-dev/ocp-release:4.19.7-x86_64
  additionalImages:
  - name: ${AGENT}
  blockedImages:
  - name: ${blocked}
`);
    const events: PrecacheEvent[] = [];
    const to = join(work, 'out');
    const summary = await precacheDownload({ registry: host, to, imageset: set, parallel: 2, onProgress: (e) => events.push(e) });
    expect(summary.failed).toEqual([]);
    const ocp = [
      ...['4.19.8', '4.18.5', '4.19.7'].map((v) => `quay.io/openshift-release-dev/ocp-release:${v}-x86_64`),
      ...['4.19.8', '4.18.5', '4.19.7'].flatMap((v) => releases[v]!.components.map((c) => c.source)).filter((s) => s !== blocked),
    ];
    expect(readFileSync(join(to, 'ocp-images.txt'), 'utf8').trim().split('\n').sort()).toEqual(ocp.sort());
    expect(readFileSync(join(to, 'ai-images.txt'), 'utf8')).toBe(`${AGENT}\n`);
    expect(readdirSync(to).filter((f) => f.endsWith('.tgz'))).toHaveLength(ocp.length + 1);
    expect(summary.downloaded).toHaveLength(ocp.length + 1);
    // The callback saw the plan, then a start and a finish for every image.
    expect(events[0]).toMatchObject({ type: 'plan', images: ocp.length + 1, toDownload: ocp.length + 1, failed: 0 });
    const done = events.filter((e) => e.type === 'image' && e.state === 'done');
    expect(done).toHaveLength(ocp.length + 1);
    for (const e of done) if (e.type === 'image') expect(e.done).toBe(e.total);
  }, 120_000);

  it('fails an image the registry does not hold, by name, after the plan line, and still writes the others', async () => {
    const list = join(work, 'ai-missing.txt');
    writeFileSync(list, `${AGENT}\nquay.io/edge-infrastructure/missing:1.0\n`);
    const to = join(work, 'missing');
    const r = runReef(['prestage', 'download', '--registry', host, '--to', to, '--ai-images', list], {});
    expect(await r.exited).toBe(1);
    const lines = r.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ plan: { images: 2, bytes: expect.any(Number), to_download: 1, bytes_to_download: expect.any(Number), failed: 1 } });
    expect(lines[1]).toMatchObject({ image: 'quay.io/edge-infrastructure/missing:1.0', state: 'failed' });
    expect(r.output()).toMatch(/reef: failed: quay\.io\/edge-infrastructure\/missing:1\.0: get manifest edge-infrastructure\/missing:1\.0: HTTP 404/);
    expect(readdirSync(to).sort()).toEqual(['ai-images.txt', 'assisted-installer-agent_latest.tgz', 'mapping.txt', 'ocp-images.txt']);
    expect(readFileSync(join(to, 'ai-images.txt'), 'utf8')).toBe(`${AGENT}\nquay.io/edge-infrastructure/missing:1.0\n`);
  });

  it('names the channel that matches no release in the registry (exit 2)', async () => {
    const file = join(work, 'isc.yaml');
    writeFileSync(file, 'kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  platform:\n    channels:\n    - name: stable-4.19\n    - name: fast-4.20\n');
    const r = runReef(['prestage', 'download', '--registry', host, '--to', join(work, 'none'), '--imageset', file], {});
    expect(await r.exited).toBe(2);
    expect(r.output()).toMatch(/--imageset mirror\.platform\.channels\[1\]: no 4\.20 release for x86_64 in the registry .*held: none/);
    writeFileSync(file, 'kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  platform:\n    release: quay.io/openshift-release-dev/ocp-release:4.16.1-x86_64\n');
    const rel = runReef(['prestage', 'download', '--registry', host, '--to', join(work, 'none'), '--imageset', file], {});
    expect(await rel.exited).toBe(2);
    expect(rel.output()).toContain(
      '--imageset mirror.platform.release: quay.io/openshift-release-dev/ocp-release:4.16.1-x86_64 is not in the registry (looked in openshift-release-dev/ocp-release, openshift/release-images, openshift/release)',
    );
  });

  it('names the flag for a missing release and for bad list lines (exit 2)', async () => {
    const missing = runReef(['prestage', 'download', '--registry', host, '--to', join(work, 'none'), '--release', '4.17.1'], {});
    expect(await missing.exited).toBe(2);
    expect(missing.output()).toMatch(/--release: no release image 4\.17\.1-x86_64 in the registry \(looked in openshift\/release-images:4\.17\.1-x86_64, /);
    const list = join(work, 'bad.txt');
    writeFileSync(list, `${AGENT}\nassisted-installer:latest\n`);
    const bad = runReef(['prestage', 'download', '--registry', host, '--to', join(work, 'none'), '--ai-images', list], {});
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toMatch(/--ai-images line 2: "assisted-installer:latest" is not a fully qualified image reference/);
    const none = runReef(['prestage', 'download', '--registry', host, '--to', join(work, 'none')], {});
    expect(await none.exited).toBe(2);
    expect(none.output()).toMatch(/no images: give --ai-images, --ocp-images, --imageset or --release/);
    const p = runReef(['prestage', 'download', '--registry', host, '--to', join(work, 'none'), '--release', '4.19.7', '-p', '0'], {});
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/-p: "0" is not a number of images/);
  });
});
