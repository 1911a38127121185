/**
 * The whole release flow through reef's API, with the release's tools (test/fixtures/tool-release.ts):
 * clone as the seed prints it → extraction → ready; the artifacts listed and downloaded, whole and
 * by Range, each transfer recorded; aarch64 beside x86_64; agent ISOs from a raw Ignition (read
 * back with `reef iso show`) and from the seed's install-config/agent-config through the release's
 * own (stand-in) openshift-install, downloaded and sanbooted by UUID.
 */
import { exec } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushToolRelease, type ToolRelease } from '../fixtures/tool-release.js';
import { reefResult } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireAvailable, requireTool } from '../helpers/tools.js';
import { DISTRIBUTION_BIN } from '../registry/helpers/distribution.js';
import { type ReleaseUpstream, startReleaseUpstream, until } from './release-upstream.js';

const sh = promisify(exec);
const ok = requireTool('curl') && requireTool('jq') && requireTool('xorriso') && requireTool('zstd') && requireAvailable('docker-registry', existsSync(DISTRIBUTION_BIN));
const COMPONENTS = 'openshift-release-dev/ocp-v4.0-art-dev';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// The seed document's examples (fastregistry-release-management.md), verbatim; only the host differs.
const SEED_CLONE = `curl -X POST "http://fastregistry.gw.lo:5000/admin/releases/clone" \\
  -H "Content-Type: application/json" \\
  -d '{"version": "4.21.0-x86_64"}'`;
const SEED_ISO = `curl -X POST "http://fastregistry.gw.lo:5000/admin/releases/4.21.0-x86_64/iso" \\
  -H "Content-Type: application/json" \\
  -d "{
    \\"install_config\\": $(cat install-config.yaml | jq -Rs),
    \\"agent_config\\": $(cat agent-config.yaml | jq -Rs)
  }"`;
const SEED_COPY = `curl -X POST "http://fastregistry.gw.lo:5000/admin/releases/4.21.0-x86_64/copy" \\
  -H "Content-Type: application/json" \\
  -d '{"artifact": "coreos.iso", "destination": "root@pxe.gw.lo:/srv/tftp/iso/"}'`;
const SEED_WORKFLOW = `# 1. Prepare your configs
cat > install-config.yaml << 'EOF'
apiVersion: v1
baseDomain: example.com
metadata:
  name: my-cluster
# ... rest of config
EOF

cat > agent-config.yaml << 'EOF'
apiVersion: v1alpha1
metadata:
  name: my-cluster
rendezvousIP: 192.168.1.100
# ... rest of config
EOF

# 2. Generate agent ISO
ISO_URL=$(curl -s -X POST "http://fastregistry.gw.lo:5000/admin/releases/4.21.0-x86_64/iso" \\
  -H "Content-Type: application/json" \\
  -d "{
    \\"install_config\\": $(cat install-config.yaml | jq -Rs),
    \\"agent_config\\": $(cat agent-config.yaml | jq -Rs)
  }" | jq -r '.full_url')

echo "ISO ready at: $ISO_URL"`;

describe.runIf(ok)('releases: extraction, downloads with records, agent ISOs (FastRegistry API)', () => {
  let up: ReleaseUpstream;
  let reef: TestReef;
  let x86: ToolRelease;
  let arm: ToolRelease;
  let multi: ToolRelease;
  let work: string;
  const atReef = (command: string) => command.replaceAll('http://fastregistry.gw.lo:5000', reef.url);

  beforeAll(async () => {
    up = await startReleaseUpstream();
    x86 = await pushToolRelease({ registry: up.distribution.host, plainHttp: true, version: '4.21.0', arches: ['x86_64'], dir: join(up.dir, 'x86'), repo: COMPONENTS });
    arm = await pushToolRelease({ registry: up.distribution.host, plainHttp: true, version: '4.21.0', arches: ['aarch64'], dir: join(up.dir, 'arm'), repo: COMPONENTS });
    multi = await pushToolRelease({ registry: up.distribution.host, plainHttp: true, version: '4.21.0', arches: ['x86_64', 'aarch64'], dir: join(up.dir, 'multi'), repo: COMPONENTS });
    work = join(up.dir, 'work');
    mkdirSync(join(work, 'copies'), { recursive: true });
    writeFileSync(join(up.dir, 'known_hosts'), '');
    reef = await startTestReef({ REEF_CONFIG: up.configFile({ repository: COMPONENTS, architectures: ['x86_64', 'aarch64', 'multi'], auto_extract: true, copy_dirs: [join(work, 'copies')], ssh_known_hosts: join(up.dir, 'known_hosts') }) });
  }, 180_000);
  afterAll(async () => {
    await reef?.stop();
    await up?.stop();
  });

  const status = async (v: string) => (await reef.json('GET', `/admin/releases/${v}/status`)).body;
  const settled = (v: string) => until(() => status(v), (s) => !['cloning', 'extracting'].includes(s.release?.state), `${v} settles`);
  const curl = async (args: string) => sh(`curl -sS ${args}`, { cwd: work, encoding: 'buffer', maxBuffer: 64 * 2 ** 20 });

  it('clones as the seed prints it and goes on to ready with the tools extracted, the pullspec stamped', async () => {
    expect(JSON.parse((await sh(atReef(SEED_CLONE))).stdout)).toEqual({ message: 'clone started', version: '4.21.0-x86_64' });
    const end = await settled('4.21.0-x86_64');
    expect(end.release.state, JSON.stringify(end.release)).toBe('ready');
    const listed = (await reef.json('GET', '/admin/releases/4.21.0-x86_64/artifacts')).body.artifacts;
    const names = listed.map((a: { name: string }) => a.name).sort();
    expect(names).toEqual(['coreos.iso', 'oc', 'oc-linux-arm64', 'oc-mac', 'oc-mac-arm64', 'oc.exe', 'openshift-install', 'openshift-install-linux-arm64', 'openshift-install-mac']);
    const iso = listed.find((a: { name: string }) => a.name === 'coreos.iso');
    expect(iso).toMatchObject({ type: 'iso', size: x86.expected.x86_64!['coreos.iso']!.length, sha256: sha256(x86.expected.x86_64!['coreos.iso']!), download_url: '/files/releases/4.21.0/coreos.iso' });
    const installer = (await curl(`${reef.url}/files/releases/4.21.0/openshift-install`)).stdout;
    expect(installer.includes(Buffer.from(`${new URL(reef.url).host}/openshift/release@${x86.digest}`))).toBe(true);
    // A transfer is recorded when the server has sent its last byte, which may be just after curl has it.
    const types = await until(
      async () => (await reef.json('GET', '/admin/releases/events?version=4.21.0-x86_64')).body.events.map((e: { type: string }) => e.type),
      (t: string[]) => t[0] === 'download.artifact',
      'the download event',
    );
    expect(types.slice(0, 4)).toEqual(['download.artifact', 'ready', 'extract_start', 'cloned']);
  }, 180_000);

  it('serves artifacts whole and by Range, one record per transfer with the bytes sent; X-Forwarded-For from a stranger is ignored', async () => {
    const before = (await reef.json('GET', '/admin/releases/downloads?version=4.21.0-x86_64')).body.downloads.length;
    const whole = (await curl(`-H 'X-Forwarded-For: 203.0.113.9' ${reef.url}/files/releases/4.21.0/coreos.iso`)).stdout;
    expect(whole.equals(x86.expected.x86_64!['coreos.iso']!)).toBe(true);
    const part = await curl(`-r 1000-2023 -D - -o part.bin ${reef.url}/files/releases/4.21.0/coreos.iso`);
    expect(part.stdout.toString()).toMatch(/^HTTP\/1\.1 206/);
    expect(readFileSync(join(work, 'part.bin')).equals(whole.subarray(1000, 2024))).toBe(true);
    const d = await until(
      async (): Promise<any> => (await reef.json('GET', '/admin/releases/downloads?version=4.21.0-x86_64')).body,
      (b) => b.downloads.length >= before + 2,
      'both transfers recorded',
    );
    const mine = d.downloads.slice(0, d.downloads.length - before);
    expect(mine).toHaveLength(2);
    expect(mine[0]).toMatchObject({ version: '4.21.0-x86_64', artifact: 'coreos.iso', client_ip: '127.0.0.1', size: 1024, status: 206, range: 'bytes=1000-2023' });
    expect(mine[1]).toMatchObject({ artifact: 'coreos.iso', client_ip: '127.0.0.1', size: whole.length, status: 200, range: null });
    expect(mine[1].user_agent).toMatch(/^curl\//);
    expect(mine[1].duration).toBeGreaterThanOrEqual(0);
    const iso = d.totals.by_artifact.find((t: { artifact: string; version: string }) => t.artifact === 'coreos.iso' && t.version === '4.21.0-x86_64');
    expect(iso).toEqual({ version: '4.21.0-x86_64', artifact: 'coreos.iso', downloads: 2, bytes: whole.length + 1024 });
    expect(d.totals.by_version.find((t: { version: string }) => t.version === '4.21.0-x86_64').downloads).toBe(before + 2);
  });

  it('keeps aarch64 beside x86_64: its own files, the bare version still x86_64', async () => {
    expect((await reef.json('POST', '/admin/releases/clone', { version: '4.21.0-aarch64' })).status).toBe(202);
    expect((await settled('4.21.0-aarch64')).release.state).toBe('ready');
    const armIso = (await curl(`${reef.url}/files/releases/4.21.0-aarch64/coreos.iso`)).stdout;
    expect(armIso.equals(arm.expected.aarch64!['coreos.iso']!)).toBe(true);
    const x86Iso = (await curl(`${reef.url}/files/releases/4.21.0/coreos.iso`)).stdout;
    expect(x86Iso.equals(x86.expected.x86_64!['coreos.iso']!)).toBe(true);
    // Each architecture's oc says which it is: two files, neither overwriting the other.
    const armOc = (await curl(`${reef.url}/files/releases/4.21.0-aarch64/oc`)).stdout.toString('latin1');
    const x86Oc = (await curl(`${reef.url}/files/releases/4.21.0/oc`)).stdout.toString('latin1');
    expect(armOc).toContain('linux/aarch64');
    expect(x86Oc).toContain('linux/x86_64');
    const listed = (await reef.json('GET', '/admin/releases/4.21.0-aarch64/artifacts')).body.artifacts.find((a: { name: string }) => a.name === 'oc');
    expect(listed.download_url).toBe('/files/releases/4.21.0-aarch64/oc');
  }, 180_000);

  it('builds an agent ISO from a raw Ignition: reef iso show reads it back, /boot.ipxe?iso=<id> sanboots it', async () => {
    const ignition = { ignition: { version: '3.2.0' }, storage: { files: [{ path: '/etc/motd', contents: { source: 'data:,hello%20from%20reef' }, mode: 420 }] } };
    const r = await reef.json('POST', '/admin/releases/4.21.0-x86_64/iso', { ignition: JSON.stringify(ignition) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.iso_url).toBe(`/files/installs/${r.body.id}/agent.iso`);
    expect(r.body.full_url).toBe(`${reef.url}${r.body.iso_url}`);
    await curl(`-o raw.iso ${r.body.full_url}`);
    const shown = await reefResult(['iso', 'show', join(work, 'raw.iso')]);
    expect(JSON.parse(shown.stdout)).toEqual(ignition);
    const script = await (await reef.req(`/boot.ipxe?iso=${r.body.id}`)).text();
    expect(script).toContain('sanboot');
    expect(script).toContain(r.body.full_url);
    // The id is the ISO's capability URL: what viewers can read (events, download records) never holds it.
    const events = await reef.json('GET', '/admin/releases/events?type=iso.created');
    const downloads = await reef.json('GET', '/admin/releases/downloads');
    expect(events.body.events.length).toBeGreaterThan(0);
    expect(downloads.body.downloads.some((d: { artifact: string }) => d.artifact === 'agent.iso')).toBe(true);
    expect(JSON.stringify(events.body) + JSON.stringify(downloads.body)).not.toContain(r.body.id);
    const bad = await reef.json('POST', '/admin/releases/4.21.0-x86_64/iso', { ignition: 'not an ignition config' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('ignition');
  });

  it("runs the seed's ISO examples as printed: the release's openshift-install builds it, full_url downloads it", async () => {
    const printed = await sh(`set -e\n${atReef(SEED_WORKFLOW)}`, { cwd: work, shell: '/bin/bash' });
    const url = /^ISO ready at: (\S+)$/m.exec(printed.stdout)?.[1];
    expect(url, printed.stdout + printed.stderr).toMatch(new RegExp(`^${reef.url}/files/installs/[0-9a-f-]{36}/agent\\.iso$`));
    const again = JSON.parse((await sh(atReef(SEED_ISO), { cwd: work, shell: '/bin/bash' })).stdout);
    expect(Object.keys(again).sort()).toEqual(['full_url', 'id', 'iso_url']);
    await curl(`-o agent.iso ${url}`);
    const iso = readFileSync(join(work, 'agent.iso'));
    expect(iso.subarray(32769, 32774).toString()).toBe('CD001');
    // The stand-in put the inputs it was run with into the ISO.
    const listing = (await sh('xorriso -indev agent.iso -find / -type f 2>/dev/null', { cwd: work })).stdout;
    expect(listing).toContain('install-config.yaml');
  }, 120_000);

  it('reset, extract again (GET and {all: true}), an ISO refused (409) while not ready', async () => {
    expect((await reef.json('GET', '/admin/releases/4.21.0-aarch64/reset')).body).toEqual({ message: 'release reset to cloned', version: '4.21.0-aarch64' });
    const refused = await reef.json('POST', '/admin/releases/4.21.0-aarch64/iso', { ignition: '{"ignition":{"version":"3.2.0"}}' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('cloned');
    expect((await reef.json('GET', '/admin/releases/4.21.0-aarch64/extract')).body).toEqual({ message: 'extraction started', version: '4.21.0-aarch64' });
    expect((await settled('4.21.0-aarch64')).release.state).toBe('ready');
    const all = await reef.json('POST', '/admin/releases/extract', { all: true });
    expect(all.status).toBe(202);
    expect(all.body.started.sort()).toEqual(['4.21.0-aarch64', '4.21.0-x86_64']);
    expect(all.body.errors).toEqual([]);
    for (const v of all.body.started) expect((await settled(v)).release.state).toBe('ready');
    const none = await reef.json('POST', '/admin/releases/extract', {});
    expect(none.body.error.details[0].path).toBe('version');
  }, 60_000);

  it('copies an artifact as a job: to an allowed local directory (the bytes arrive), the seed\'s scp example accepted then failing on the unknown host, bad destinations refused naming the field', async () => {
    const dest = `${join(work, 'copies')}/`;
    const local = await reef.json('POST', '/admin/releases/4.21.0-x86_64/copy', { artifact: 'coreos.iso', destination: dest });
    expect(local.status).toBe(202);
    expect(local.body).toEqual({ message: 'copy started', artifact: 'coreos.iso', destination: dest });
    const copied = await until(
      async () => (await reef.json('GET', '/admin/releases/events?type=copy&version=4.21.0-x86_64')).body.events,
      (e: { details: Record<string, unknown> }[]) => e.length > 0,
      'the local copy ends',
    );
    expect(copied[0]).toMatchObject({ severity: 'success', details: { artifact: 'coreos.iso', destination: dest, bytes: x86.expected.x86_64!['coreos.iso']!.length } });
    expect(readFileSync(join(work, 'copies', 'coreos.iso')).equals(x86.expected.x86_64!['coreos.iso']!)).toBe(true);

    const printed = JSON.parse((await sh(atReef(SEED_COPY))).stdout);
    expect(printed).toEqual({ message: 'copy started', artifact: 'coreos.iso', destination: 'root@pxe.gw.lo:/srv/tftp/iso/' });
    const failed = await until(
      async () => (await reef.json('GET', '/admin/releases/events?type=copy&severity=error')).body.events,
      (e: { details: Record<string, unknown> }[]) => e.length > 0,
      'the scp copy ends',
      90_000,
    );
    expect(failed[0]!.details).toMatchObject({ artifact: 'coreos.iso', destination: 'root@pxe.gw.lo:/srv/tftp/iso/' });

    for (const destination of ['/etc/', '-oProxyCommand=sh', 'root@pxe.gw.lo:/srv/$(id)', `${join(work, 'copies')}/../escape/`]) {
      const bad = await reef.json('POST', '/admin/releases/4.21.0-x86_64/copy', { artifact: 'coreos.iso', destination });
      expect(bad.status, destination).toBe(400);
      expect(bad.body.error.details[0].path, destination).toBe('destination');
    }
    const unknown = await reef.json('POST', '/admin/releases/4.21.0-x86_64/copy', { artifact: 'kubeconfig', destination: dest });
    expect(unknown.status).toBe(404);
  }, 120_000);
  it('keeps a multi release of the same version apart: its installer stamped with the list digest, the single-arch one still with its own', async () => {
    expect((await reef.json('POST', '/admin/releases/clone', { version: '4.21.0-multi' })).status).toBe(202);
    expect((await settled('4.21.0-multi')).release.state).toBe('ready');
    const listed = (await reef.json('GET', '/admin/releases/4.21.0-multi/artifacts')).body.artifacts as { name: string; sha256: string }[];
    const fromMulti = (await curl(`${reef.url}/files/releases/4.21.0-multi/openshift-install`)).stdout;
    expect(fromMulti.includes(Buffer.from(`/openshift/release@${multi.digest}`))).toBe(true);
    expect(sha256(fromMulti)).toBe(listed.find((a) => a.name === 'openshift-install')!.sha256);
    const single = (await curl(`${reef.url}/files/releases/4.21.0-x86_64/openshift-install`)).stdout;
    expect(single.includes(Buffer.from(`/openshift/release@${x86.digest}`))).toBe(true);
    const singleListed = (await reef.json('GET', '/admin/releases/4.21.0-x86_64/artifacts')).body.artifacts as { name: string; sha256: string }[];
    expect(sha256(single)).toBe(singleListed.find((a) => a.name === 'openshift-install')!.sha256);
  }, 180_000);
});
