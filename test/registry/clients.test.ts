/**
 * The embedded registry driven by the real clients users will point at it: skopeo, podman,
 * buildah (DESIGN §3, §8). Images are built locally (no network) by the fixture builder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ContainerEnv, makeContainerEnv, ok, run, writeHtpasswd } from '../helpers/containers.js';
import { type TestReef, startTestReef } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { buildOciLayout, type FixtureImage, sha256 } from './fixtures/oci-image.js';

const SLOW = 240_000;
// Lower case only: `podman pull oci:<dir>` turns the path into an image name.
const root = join(tmpdir(), `reef-clients-${randomBytes(6).toString('hex')}`);
mkdirSync(root, { recursive: true, mode: 0o700 });
const reefs: TestReef[] = [];
let ce: ContainerEnv;
let fx: FixtureImage;
let reef: TestReef;
let host: string;

const hostOf = (r: TestReef) => new URL(r.url).host;
const fileDigest = (path: string) => `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
const blobPath = (layout: string, digest: string) => join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));

/** The manifest digest and layers `skopeo inspect` reports for an image in reef. */
const inspect = async (ref: string, extra: string[] = []) =>
  JSON.parse(ok(`skopeo inspect ${ref}`, await ce.skopeo(['inspect', '--tls-verify=false', ...extra, `docker://${ref}`]))) as {
    Digest: string;
    Layers: string[];
  };

/** Pushes the fixture image into `repo:tag` with skopeo, keeping its digests. */
const pushFixture = async (to: string, extra: string[] = []) =>
  ok(
    `skopeo copy oci → docker://${to}`,
    await ce.skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false', ...extra, `oci:${fx.dir}:${fx.tag}`, `docker://${to}`]),
  );

const podmanLayers = async (ref: string) => {
  const out = ok(`podman image inspect ${ref}`, await ce.podman(['image', 'inspect', ref]));
  const [img] = JSON.parse(out) as { RootFS: { Layers: string[] }; Digest: string }[];
  return img!;
};

beforeAll(async () => {
  fx = await buildOciLayout(join(root, 'fixture'), 'v1');
  ce = makeContainerEnv(join(root, 'containers'));
  reef = await startTestReef();
  reefs.push(reef);
  host = hostOf(reef);
});

afterAll(async () => {
  for (const r of reefs) await r.stop().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

describe('registry with real clients', () => {
  it.skipIf(!requireTool('skopeo'))('skopeo pushes into a nested repo, inspects, pulls back and copies across repos with identical digests', async () => {
    await pushFixture(`${host}/os-images/tools:v1`);

    const info = await inspect(`${host}/os-images/tools:v1`);
    expect(info.Digest).toBe(fx.manifestDigest);
    expect(info.Layers).toEqual(fx.layerDigests);
    const raw = ok('skopeo inspect --raw', await ce.skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/os-images/tools:v1`]));
    expect(sha256(raw)).toBe(fx.manifestDigest);
    expect(raw).toBe(fx.manifest.toString());
    const tags = JSON.parse(ok('skopeo list-tags', await ce.skopeo(['list-tags', '--tls-verify=false', `docker://${host}/os-images/tools`])));
    expect(tags.Tags).toContain('v1');

    const out = join(root, 'pulled');
    ok(
      'skopeo copy docker → oci',
      await ce.skopeo(['copy', '--preserve-digests', '--src-tls-verify=false', `docker://${host}/os-images/tools:v1`, `oci:${out}:v1`]),
    );
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
    expect(index.manifests.map((m: { digest: string }) => m.digest)).toEqual([fx.manifestDigest]);
    for (const d of [fx.manifestDigest, fx.configDigest, ...fx.layerDigests]) expect(fileDigest(blobPath(out, d))).toBe(d);

    // Same registry, another repository: the blobs are mounted (POST ?mount=&from=), not uploaded.
    const copy = await ce.skopeo([
      '--debug', 'copy', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false',
      `docker://${host}/os-images/tools:v1`, `docker://${host}/mirror/tools:copied`,
    ]);
    ok('skopeo copy docker → docker (cross-repo)', copy);
    const mirrored = await inspect(`${host}/mirror/tools:copied`);
    expect(mirrored.Digest).toBe(fx.manifestDigest);
    expect(mirrored.Layers).toEqual(fx.layerDigests);
    // skopeo remembers where it pushed the blobs, so it asks for mounts; reef must grant them.
    expect(copy.stderr).toMatch(/Trying to mount/);
    expect(copy.stderr.match(/mount OK/g)?.length ?? 0, 'blobs mounted from os-images/tools').toBeGreaterThanOrEqual(fx.layerDigests.length);
  }, SLOW);

  it.skipIf(!requireTool('skopeo') || !requireTool('podman'))('podman pulls, tags, pushes to another repo and pulls that back with the same layers', async () => {
    await pushFixture(`${host}/os-images/base:v1`);
    ok('podman pull', await ce.podman(['pull', '--tls-verify=false', `${host}/os-images/base:v1`]));
    const pulled = await podmanLayers(`${host}/os-images/base:v1`);
    expect(pulled.RootFS.Layers).toEqual(fx.diffIds);
    expect(pulled.Digest).toBe(fx.manifestDigest);

    ok('podman tag', await ce.podman(['tag', `${host}/os-images/base:v1`, `${host}/mirror/base:v2`]));
    ok('podman push', await ce.podman(['push', '--tls-verify=false', `${host}/mirror/base:v2`]));
    ok('podman rmi', await ce.podman(['rmi', '--force', `${host}/os-images/base:v1`, `${host}/mirror/base:v2`]));
    const gone = await ce.podman(['image', 'exists', `${host}/mirror/base:v2`]);
    expect(gone.code).toBe(1);

    ok('podman pull (pushed copy)', await ce.podman(['pull', '--tls-verify=false', `${host}/mirror/base:v2`]));
    const back = await podmanLayers(`${host}/mirror/base:v2`);
    expect(back.RootFS.Layers).toEqual(fx.diffIds);
    expect((await inspect(`${host}/mirror/base:v2`)).Layers).toHaveLength(fx.layerDigests.length);
  }, SLOW);

  it.skipIf(!requireTool('skopeo') || !requireTool('buildah'))('buildah commits an image from scratch and pushes it; skopeo sees it', async () => {
    const ctr = ok('buildah from scratch', await ce.buildah(['from', 'scratch'])).trim();
    const file = join(root, 'hello.txt');
    writeFileSync(file, 'built by buildah for reef\n');
    ok('buildah copy', await ce.buildah(['copy', ctr, file, '/hello.txt']));
    ok('buildah config', await ce.buildah(['config', '--cmd', '/hello.txt', ctr]));
    ok('buildah commit', await ce.buildah(['commit', ctr, 'localhost/tools/built:1']));
    const digestFile = join(root, 'built.digest');
    ok(
      'buildah push',
      await ce.buildah(['push', '--tls-verify=false', '--digestfile', digestFile, 'localhost/tools/built:1', `docker://${host}/tools/built:1`]),
    );
    ok('buildah rm', await ce.buildah(['rm', ctr]));

    const info = await inspect(`${host}/tools/built:1`);
    expect(info.Digest).toBe(readFileSync(digestFile, 'utf8').trim());
    expect(info.Layers).toHaveLength(1);
    const out = join(root, 'built-out');
    ok('skopeo copy built → oci', await ce.skopeo(['copy', '--src-tls-verify=false', `docker://${host}/tools/built:1`, `oci:${out}:1`]));
    for (const l of info.Layers) expect(fileDigest(blobPath(out, l))).toBe(l);
  }, SLOW);

  it.skipIf(!requireTool('podman') || !requireTool('htpasswd') || !requireTool('curl'))('podman login against htpasswd auth; wrong password is refused; authenticated push works', async () => {
    const htpasswd = join(root, 'htpasswd');
    await writeHtpasswd(htpasswd, 'ci', 's3cret-pass');
    const secured = await startTestReef({ REGISTRY_AUTH_MODE: 'htpasswd', REGISTRY_HTPASSWD_FILE: htpasswd });
    reefs.push(secured);
    const sh = hostOf(secured);
    const authFile = join(root, 'login-auth.json');

    const bad = await ce.podman(['login', '--tls-verify=false', '--authfile', authFile, '-u', 'ci', '-p', 'wrong', sh]);
    expect(bad.code, `podman login with a wrong password should fail:\n${bad.stdout}${bad.stderr}`).not.toBe(0);
    const curl = await run('curl', ['-s', '-o', '/dev/null', '-D', '-', '-w', '%{http_code}', '-u', 'ci:wrong', `${secured.url}/v2/`]);
    expect(curl.stdout.trim().slice(-3)).toBe('401');
    expect(curl.stdout).toMatch(/www-authenticate: *basic/i);

    const good = await ce.podman(['login', '--tls-verify=false', '--authfile', authFile, '-u', 'ci', '-p', 's3cret-pass', sh]);
    expect(good.code, `podman login failed:\n${good.stdout}${good.stderr}`).toBe(0);
    expect(JSON.parse(readFileSync(authFile, 'utf8')).auths).toHaveProperty(sh);

    // Without credentials a push is refused; with the login's auth file it goes through.
    ok('podman pull oci fixture', await ce.podman(['pull', `oci:${fx.dir}:${fx.tag}`]));
    const images = JSON.parse(ok('podman images', await ce.podman(['images', '--format', 'json']))) as { Id: string; Digest: string }[];
    const local = images.find((i) => i.Digest === fx.manifestDigest);
    expect(local).toBeDefined();
    const noAuth = join(root, 'no-auth.json');
    writeFileSync(noAuth, JSON.stringify({ auths: {} }));
    const anon = await ce.podman(['push', '--tls-verify=false', '--authfile', noAuth, local!.Id, `docker://${sh}/secure/tools:v1`]);
    expect(anon.code, 'an anonymous push must be refused').not.toBe(0);
    expect(anon.stderr).toMatch(/unauthorized|authentication required|401/i);
    ok('podman push --authfile', await ce.podman(['push', '--tls-verify=false', '--authfile', authFile, local!.Id, `docker://${sh}/secure/tools:v1`]));
    const who = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-u', 'ci:s3cret-pass', `${secured.url}/v2/secure/tools/tags/list`]);
    expect(who.stdout).toBe('200');
    ok('podman logout', await ce.podman(['logout', '--authfile', authFile, sh]));
  }, SLOW);

  it.skipIf(!requireTool('skopeo'))('the storage directory is an OCI layout skopeo reads offline after the server stops', async () => {
    const dataDir = join(root, 'offline-data');
    const storage = join(root, 'offline-storage');
    mkdirSync(dataDir, { recursive: true });
    const r = await startTestReef({ REGISTRY_STORAGE: storage }, dataDir);
    reefs.push(r);
    await pushFixture(`${hostOf(r)}/os-images/tools:v1`);
    await r.stop();
    reefs.splice(reefs.indexOf(r), 1);

    expect(existsSync(join(storage, 'oci-layout'))).toBe(true);
    const index = JSON.parse(readFileSync(join(storage, 'index.json'), 'utf8'));
    const entry = index.manifests.find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === 'os-images/tools:v1');
    expect(entry?.digest).toBe(fx.manifestDigest);

    const out = join(root, 'offline-out');
    ok('skopeo copy oci(storage) → oci', await ce.skopeo(['copy', '--preserve-digests', `oci:${storage}:os-images/tools:v1`, `oci:${out}:x`]));
    const copied = JSON.parse(ok('skopeo inspect oci', await ce.skopeo(['inspect', `oci:${out}:x`])));
    expect(copied.Digest).toBe(fx.manifestDigest);
    expect(copied.Layers).toEqual(fx.layerDigests);
    if (requireTool('umoci')) expect(ok('umoci ls', await run('umoci', ['ls', '--layout', storage]))).toContain('os-images/tools:v1');
  }, SLOW);
});
