/**
 * REGISTRY_AUTH_MODE=token: reef's API tokens as registry logins (user = token name, password =
 * token), driven by the real clients: skopeo and podman. A viewer may pull; operators and admins
 * may also push and delete; a revoked token stops at once; the audit names the token, never shows it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ContainerEnv, makeContainerEnv, ok, type RunResult } from '../helpers/containers.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { buildOciLayout, type FixtureImage, MT_MANIFEST } from '../registry/fixtures/oci-image.js';

const SLOW = 240_000;
const tools = requireTool('skopeo') && requireTool('podman');

interface Login {
  name: string;
  token: string;
}

const hostOf = (r: TestReef) => new URL(r.url).host;
const basic = (l: Login) => `Basic ${Buffer.from(`${l.name}:${l.token}`).toString('base64')}`;
const output = (r: RunResult) => `${r.stdout}\n${r.stderr}`;

/** Makes an API token as `local` (a request from 127.0.0.1 with REEF_API_AUTH=local, the default). */
const makeToken = async (reef: TestReef, name: string, role: 'viewer' | 'operator' | 'admin'): Promise<Login> => {
  const made = await reef.json('POST', '/api/v1/tokens', { name, role });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  expect(made.body.token).toMatch(/^reef_/);
  return { name, token: made.body.token as string };
};

describe.skipIf(!tools)('REGISTRY_AUTH_MODE=token: API tokens as registry logins, with skopeo and podman', () => {
  // Lower case only: `podman pull oci:<dir>` turns the path into an image name.
  const root = join(tmpdir(), `reef-regtoken-${randomBytes(6).toString('hex')}`);
  const reefs: TestReef[] = [];
  const secrets: string[] = [];
  let ce: ContainerEnv;
  let fx: FixtureImage;
  let reef: TestReef;
  let host: string;
  let operator: Login;
  let viewer: Login;

  /** `skopeo copy` of the fixture to `docker://<to>`, keeping its digests. */
  const push = (to: string, creds: string[]) =>
    ce.skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false', ...creds, `oci:${fx.dir}:${fx.tag}`, `docker://${to}`]);
  const inspect = (ref: string, creds: string[]) => ce.skopeo(['inspect', '--tls-verify=false', ...creds, `docker://${ref}`]);
  const credsOf = (l: Login) => [`${l.name}:${l.token}`];

  beforeAll(async () => {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    fx = await buildOciLayout(join(root, 'fixture'), 'v1');
    ce = makeContainerEnv(join(root, 'containers'));
    reef = await startTestReef({ REGISTRY_AUTH_MODE: 'token' });
    reefs.push(reef);
    host = hostOf(reef);
    secrets.push(readFileSync(join(reef.dataDir, 'admin.token'), 'utf8').trim());
    operator = await makeToken(reef, 'ci-pusher', 'operator');
    viewer = await makeToken(reef, 'ci-reader', 'viewer');
    secrets.push(operator.token, viewer.token);
  }, 120_000);

  afterAll(async () => {
    for (const r of reefs) await r.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('skopeo pushes with an operator token and reads back with a viewer token, same manifest digest', async () => {
    ok('skopeo copy --dest-creds operator', await push(`${host}/tok/app:v1`, ['--dest-creds', ...credsOf(operator)]));
    const info = JSON.parse(ok('skopeo inspect --creds viewer', await inspect(`${host}/tok/app:v1`, ['--creds', ...credsOf(viewer)])));
    expect(info.Digest).toBe(fx.manifestDigest);
    expect(info.Layers).toEqual(fx.layerDigests);
  }, SLOW);

  it('podman login with an operator token, then podman push of a tagged copy; a wrong token is refused at login', async () => {
    // A real token, but not the one named: the name and the token must match.
    const wrongAuth = join(root, 'wrong-auth.json');
    writeFileSync(wrongAuth, JSON.stringify({ auths: {} }));
    const bad = await ce.podman(['login', '--tls-verify=false', '--authfile', wrongAuth, '-u', operator.name, '-p', viewer.token, host]);
    expect(bad.code, `podman login with a wrong token should fail:\n${output(bad)}`).not.toBe(0);
    expect(output(bad)).toMatch(/401|unauthorized|invalid username\/password/i);
    expect(JSON.parse(readFileSync(wrongAuth, 'utf8')).auths ?? {}).not.toHaveProperty(host);

    const good = await ce.podman(['login', '--tls-verify=false', '--authfile', ce.authFile, '-u', operator.name, '-p', operator.token, host]);
    expect(good.code, `podman login failed:\n${output(good)}`).toBe(0);
    expect(JSON.parse(readFileSync(ce.authFile, 'utf8')).auths).toHaveProperty(host);

    // The image in podman's store, tagged for reef, pushed with the stored login (REGISTRY_AUTH_FILE = ce.authFile).
    ok('skopeo copy (seed tok/base:v1)', await push(`${host}/tok/base:v1`, ['--dest-creds', ...credsOf(operator)]));
    ok('podman pull (logged in)', await ce.podman(['pull', '--tls-verify=false', `${host}/tok/base:v1`]));
    ok('podman tag', await ce.podman(['tag', `${host}/tok/base:v1`, `${host}/tok/copy:v2`]));
    ok('podman push (logged in)', await ce.podman(['push', '--tls-verify=false', `${host}/tok/copy:v2`]));
    const copied = JSON.parse(ok('skopeo inspect copy --creds viewer', await inspect(`${host}/tok/copy:v2`, ['--creds', ...credsOf(viewer)])));
    expect(copied.Layers).toHaveLength(fx.layerDigests.length);
    ok('podman logout', await ce.podman(['logout', '--authfile', ce.authFile, host]));
  }, SLOW);

  it('a viewer token cannot push (skopeo: denied) nor delete (403 DENIED); an operator token deletes (202)', async () => {
    const refused = await push(`${host}/tok/by-viewer:v1`, ['--dest-creds', ...credsOf(viewer)]);
    expect(refused.code, 'a viewer push must fail').not.toBe(0);
    expect(output(refused)).toMatch(/denied|403/i);
    const absent = await inspect(`${host}/tok/by-viewer:v1`, ['--creds', ...credsOf(viewer)]);
    expect(absent.code, 'nothing was stored by the refused push').not.toBe(0);
    expect(output(absent)).toMatch(/manifest unknown|not found/i);

    ok('skopeo copy (seed tok/doomed:v1)', await push(`${host}/tok/doomed:v1`, ['--dest-creds', ...credsOf(operator)]));
    const manifest = `/v2/tok/doomed/manifests/${fx.manifestDigest}`;
    const byViewer = await reef.req(manifest, { method: 'DELETE', headers: { authorization: basic(viewer) } });
    expect(byViewer.status).toBe(403);
    const envelope = (await byViewer.json()) as { errors: { code: string; message: string }[] };
    expect(envelope.errors[0]?.code).toBe('DENIED');
    expect((await reef.req(manifest, { method: 'HEAD', headers: { authorization: basic(viewer) } })).status, 'still there after the refused delete').toBe(200);

    const byOperator = await reef.req(manifest, { method: 'DELETE', headers: { authorization: basic(operator) } });
    expect(byOperator.status).toBe(202);
    expect((await reef.req(manifest, { method: 'HEAD', headers: { authorization: basic(viewer) } })).status, 'gone after the delete').toBe(404);
  }, SLOW);

  it('without REGISTRY_ANONYMOUS_PULL an anonymous pull is refused (401)', async () => {
    const anon = await inspect(`${host}/tok/app:v1`, ['--no-creds']);
    expect(anon.code, 'an anonymous pull must fail without REGISTRY_ANONYMOUS_PULL').not.toBe(0);
    expect(output(anon)).toMatch(/401|authentication required|unauthorized/i);
  }, SLOW);

  describe('with REGISTRY_ANONYMOUS_PULL=true', () => {
    let open: TestReef;
    let oh: string;
    let pusher: Login;

    beforeAll(async () => {
      open = await startTestReef({ REGISTRY_AUTH_MODE: 'token', REGISTRY_ANONYMOUS_PULL: 'true' });
      reefs.push(open);
      oh = hostOf(open);
      pusher = await makeToken(open, 'ci-open-pusher', 'operator');
    });

    it('anyone pulls with skopeo, no login; an anonymous push is still refused', async () => {
      // Seeded over the OCI API with the operator's Basic credentials (the client push is the next test).
      const auth = { authorization: basic(pusher) };
      for (const digest of [fx.configDigest, ...fx.layerDigests]) {
        const bytes = readFileSync(join(fx.dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
        const res = await open.req(`/v2/pub/app/blobs/uploads/?digest=${digest}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: bytes });
        expect(res.status, `seed blob ${digest}: ${await res.text()}`).toBe(201);
      }
      const put = await open.req('/v2/pub/app/manifests/v1', { method: 'PUT', headers: { ...auth, 'content-type': MT_MANIFEST }, body: fx.manifest });
      expect(put.status, `seed manifest: ${await put.text()}`).toBe(201);

      const read = JSON.parse(ok('skopeo inspect --no-creds (anonymous pull)', await inspect(`${oh}/pub/app:v1`, ['--no-creds'])));
      expect(read.Digest).toBe(fx.manifestDigest);
      const anonPush = await push(`${oh}/pub/anon:v1`, ['--dest-no-creds']);
      expect(anonPush.code, 'an anonymous push must fail even with anonymous pull').not.toBe(0);
      expect(output(anonPush)).toMatch(/401|authentication required|unauthorized/i);
    }, SLOW);

    it('an operator token still pushes with skopeo; podman login still refuses a wrong token', async () => {
      const pushed = await push(`${oh}/pub/pushed:v1`, ['--dest-creds', ...credsOf(pusher)]);
      expect.soft(pushed.code, `skopeo push with an operator token on an anonymous-pull reef:\n${output(pushed)}`).toBe(0);
      const wrongAuth = join(root, 'open-wrong-auth.json');
      writeFileSync(wrongAuth, JSON.stringify({ auths: {} }));
      const bad = await ce.podman(['login', '--tls-verify=false', '--authfile', wrongAuth, '-u', pusher.name, '-p', `reef_${'x'.repeat(43)}`, oh]);
      expect(bad.code, `podman login with a wrong token should fail:\n${output(bad)}`).not.toBe(0);
    }, SLOW);
  });

  it('a revoked token fails at once, right after it last worked', async () => {
    const deployer = await makeToken(reef, 'ci-deployer', 'operator');
    secrets.push(deployer.token);
    ok('skopeo copy (deployer, before revocation)', await push(`${host}/tok/deploy:v1`, ['--dest-creds', ...credsOf(deployer)]));
    ok('skopeo inspect (deployer, before revocation)', await inspect(`${host}/tok/deploy:v1`, ['--creds', ...credsOf(deployer)]));

    const revoked = await reef.req(`/api/v1/tokens/${deployer.name}`, { method: 'DELETE' });
    expect(revoked.status).toBe(204);

    const after = await inspect(`${host}/tok/deploy:v1`, ['--creds', ...credsOf(deployer)]);
    expect(after.code, 'a revoked token must not pull').not.toBe(0);
    expect(output(after)).toMatch(/401|authentication required|unauthorized/i);
    const pushAfter = await push(`${host}/tok/deploy:v2`, ['--dest-creds', ...credsOf(deployer)]);
    expect(pushAfter.code, 'a revoked token must not push').not.toBe(0);
    expect((await reef.req('/v2/', { headers: { authorization: basic(deployer) } })).status).toBe(401);
  }, SLOW);

  it('the audit names the operator token for its manifest push, and shows no token anywhere', async () => {
    const res = await reef.req('/api/v1/audit?limit=1000');
    expect(res.status).toBe(200);
    const text = await res.text();
    const { items } = JSON.parse(text) as { items: { actor: string; role: string | null; method: string; path: string; object: string | null; status: number }[] };
    const put = items.find((e) => e.method === 'PUT' && e.path === '/v2/tok/app/manifests/v1');
    expect(put, `no audit entry for the manifest push in:\n${text}`).toBeDefined();
    expect(put!.actor).toBe(operator.name);
    expect(put!.role).toBe('operator');
    expect(put!.object).toMatch(/^manifest:/);
    expect(put!.status).toBe(201);
    const del = items.find((e) => e.method === 'DELETE' && e.path.startsWith('/v2/tok/doomed/manifests/') && e.status === 202);
    expect(del?.actor, 'the delete is recorded under the operator token name').toBe(operator.name);

    expect(secrets.length, 'admin, operator, viewer and the revoked token').toBe(4);
    for (const s of secrets) expect(text.includes(s), 'a token string is in the audit').toBe(false);
    expect(text).not.toMatch(/reef_[A-Za-z0-9_-]{20,}/);
  });
});
