import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDataUrl } from '../../src/ignition/data-url.js';
import { readLoaderScript } from '../../src/ignition/precache/loader-script.js';
import { validateIgnition } from '../../src/ignition/validate.js';
import { startTestReef, type TestReef } from '../helpers/server.js';

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq3t0GZ0m8Jx2bq0t6Q7y2o6b1l5e8b4xv8Jm0p0a1b a@reef';
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq3t0GZ0m8Jx2bq0t6Q7y2o6b1l5e8b4xv8Jm0p0a1c b@reef';
const BASE = '/api/v1/prestage/ignition';

describe('GET /api/v1/prestage/ignition/*', () => {
  let reef: TestReef;
  beforeAll(async () => {
    reef = await startTestReef();
  });
  afterAll(() => reef.stop());

  it('discovery: the default override, valid, loader embedded', async () => {
    const r = await reef.json('GET', `${BASE}/discovery`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(validateIgnition(r.body, { versions: ['3.1.0', '3.2.0'] })).toEqual([]);
    expect(r.body.ignition.version).toBe('3.1.0');
    expect(r.body.systemd.units.map((u: { name: string }) => u.name)).toEqual(['var-mnt.mount', 'precache-images.service']);
    expect(decodeDataUrl(r.body.storage.files[0].contents.source).data.toString()).toBe(readLoaderScript());
    expect(r.body.passwd).toBeUndefined();
  });

  it('pointer with every query parameter, ssh_key repeated', async () => {
    const q = new URLSearchParams([
      ['label', 'cache'],
      ['version', '3.2.0'],
      ['images_dir', '/var/pre-cache'],
      ['ssh_key', KEY_A],
      ['ssh_key', KEY_B],
    ]);
    const r = await reef.json('GET', `${BASE}/pointer?${q}`);
    expect(r.status).toBe(200);
    expect(validateIgnition(r.body, { versions: ['3.1.0', '3.2.0'] })).toEqual([]);
    expect(r.body.ignition.version).toBe('3.2.0');
    expect(r.body.passwd.users).toEqual([{ name: 'core', sshAuthorizedKeys: [KEY_A, KEY_B] }]);
    expect(r.body.systemd.units[0].name).toBe('var-pre\\x2dcache.mount');
    expect(r.body.systemd.units[1].contents).toContain('--list ocp-images --partlabel cache --dir /var/pre-cache');
  });

  it('assisted: the three PATCH bodies; siteconfig: the YAML snippets', async () => {
    const r = await reef.json('GET', `${BASE}/assisted?label=cache`);
    expect(r.status).toBe(200);
    const infra = JSON.parse(r.body['PATCH /v2/infra-envs/{infra_env_id}'].ignition_config_override);
    const host = JSON.parse(r.body['PATCH /v2/infra-envs/{infra_env_id}/hosts/{host_id}/ignition'].config);
    expect(infra.systemd.units[1].name).toBe('precache-images.service');
    expect(host.systemd.units[1].name).toBe('precache-ocp-images.service');
    expect(r.body['PATCH /v2/infra-envs/{infra_env_id}/hosts/{host_id}/installer-args']).toEqual({ args: ['--save-partlabel', 'cache'] });

    const s = await reef.req(`${BASE}/siteconfig?version=3.2.0`);
    expect(s.status).toBe(200);
    expect(s.headers.get('content-type')).toMatch(/^application\/yaml/);
    const [site, ci] = yaml.loadAll(await s.text()) as any[];
    expect(JSON.parse(site.spec.clusters[0].ignitionConfigOverride).ignition.version).toBe('3.2.0');
    expect(JSON.parse(ci.spec.nodes[0].ignitionConfigOverride).systemd.units[1].name).toBe('precache-ocp-images.service');
  });

  it('answers 400 naming the query parameter', async () => {
    const cases: [string, string, RegExp][] = [
      ['discovery?version=3.4.0', 'version', /must be 3\.1\.0 or 3\.2\.0/],
      ['pointer?images_dir=relative/dir', 'images_dir', /absolute, normalized path/],
      ['assisted?label=a%20b', 'label', /GPT partition name/],
      ['discovery?label=a&label=b', 'label', /give this parameter once/],
      ['discovery?ssh_key=nope', 'ssh_key[0]', /not an SSH public key/],
      ['pointer?imagesdir=/x', 'imagesdir', /unknown key/],
    ];
    for (const [path, field, message] of cases) {
      const r = await reef.json('GET', `${BASE}/${path}`);
      expect(r.status, path).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
      expect(r.body.error.details).toEqual([{ path: field, message: expect.stringMatching(message) }]);
      expect(r.body.error.message).toContain(field);
    }
  });

  it('is documented in the OpenAPI document', async () => {
    const r = await reef.json('GET', '/api/v1/openapi.json');
    for (const p of ['discovery', 'pointer', 'assisted', 'siteconfig']) {
      const op = r.body.paths[`${BASE}/${p}`].get;
      expect(op.parameters.map((x: { name: string }) => x.name)).toEqual(['label', 'version', 'images_dir', 'ssh_key']);
    }
  });
});
