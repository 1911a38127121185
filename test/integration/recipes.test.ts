import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';

const linux = JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8'));
const windows = JSON.parse(readFileSync('recipes/windows-server.json', 'utf8'));

let reef: TestReef;
beforeAll(async () => {
  reef = await startTestReef();
});
afterAll(async () => {
  await reef?.stop();
});

const post = (body: string, type = 'application/json', query = '?name=bad') =>
  reef.req(`/api/v1/recipes${query}`, { method: 'POST', headers: { 'content-type': type }, body });

describe('recipes: the Shoal documentation examples', () => {
  it('accepts the Linux example as printed and normalises it', async () => {
    const r = await reef.json('POST', '/api/v1/recipes?name=ubuntu', linux);
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe('/api/v1/recipes/ubuntu');
    expect(r.body.recipe).toEqual(linux);
    const n = r.body.normalized;
    expect(n.partitions.map((p: any) => [p.number, p.role, p.format, p.mountpoint, p.size_bytes])).toEqual([
      [1, 'esp', 'vfat', '/boot/efi', 512 * 2 ** 20],
      [2, 'root', 'ext4', '/', 0],
    ]);
    expect(n.partitions[0].type_guid).toBe('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
    expect(n.oci).toEqual({ registry: 'controller.example.com:8080', repository: 'os-images/ubuntu-rootfs', tag: '22.04' });
    expect(n.user_data).toBe('#cloud-config\nhostname: server01\nfqdn: server01.example.com\nusers:\n  - name: admin\n    ssh_authorized_keys:\n      - ssh-rsa AAAA...\n');
  });

  it('accepts the Windows example as printed, adding the ESP it lacks', async () => {
    const r = await reef.json('POST', '/api/v1/recipes', { name: 'windows-2022', ...windows });
    expect(r.status).toBe(201);
    const n = r.body.normalized;
    expect(n.partitions.map((p: any) => [p.role, p.type_guid, p.format])).toEqual([
      ['esp', 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', 'vfat'],
      ['msr', 'E3C9E316-0B5C-4DB8-817D-F92DF00215AE', null],
      ['windows', 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', 'ntfs'],
    ]);
    expect(n.wim_index).toBe(1);
    expect(n.unattend_xml).toBe('...');
    expect(n.warnings[0]).toMatch(/no EFI system partition/);
  });

  it('takes YAML bodies and the long partition form', async () => {
    const yamlRes = await post(readFileSync('recipes/ubuntu-rootfs.yaml', 'utf8'), 'application/yaml', '?name=ubuntu-yaml');
    expect(yamlRes.status).toBe(201);
    const fromYaml = (await yamlRes.json()) as any;
    const fromJson = (await reef.json('GET', '/api/v1/recipes/ubuntu')).body;
    expect(fromYaml.normalized).toEqual(fromJson.normalized);

    const long = await post(readFileSync('recipes/long-form-layout.yaml', 'utf8'), 'application/yaml', '?name=long');
    expect(long.status).toBe(201);
    const n = ((await long.json()) as any).normalized;
    expect(n.partitions.map((p: any) => [p.role, p.format, p.label])).toEqual([
      ['esp', 'vfat', 'EFI'],
      ['swap', 'swap', 'swap'],
      ['root', 'xfs', 'root'],
    ]);
    expect(n.user_data).toContain('hostname: edge-042');
    expect(n.oci.digest).toMatch(/^sha256:/);
  });

  it('takes the pre-staging recipe as shipped (prestage.target, no partitions, no oci_url)', async () => {
    const res = await post(readFileSync('recipes/sno-prestage.yaml', 'utf8'), 'application/yaml', '?name=sno-prestage');
    expect(res.status).toBe(201);
    const { normalized } = (await res.json()) as any;
    expect(normalized.prestage).toEqual({
      label: 'data',
      size: '250G',
      size_bytes: 250 * 2 ** 30,
      fs: 'xfs',
      release: '4.14.1',
      ai_images: expect.arrayContaining(['quay.io/edge-infrastructure/assisted-installer-agent:latest']),
      ocp_images: [],
    });
    expect([normalized.task_target, normalized.partitions, normalized.oci_url]).toEqual(['prestage.target', [], null]);
  });

  it('lists, replaces and deletes', async () => {
    const list = await reef.json('GET', '/api/v1/recipes');
    expect(list.body.items.map((r: any) => r.name)).toEqual(expect.arrayContaining(['ubuntu', 'windows-2022']));
    const dup = await reef.json('POST', '/api/v1/recipes?name=ubuntu', linux);
    expect(dup.status).toBe(409);
    const put = await reef.json('PUT', '/api/v1/recipes/ubuntu', { ...linux, target_disk: '/dev/sdb' });
    expect(put.status).toBe(200);
    expect((await reef.json('GET', '/api/v1/recipes/ubuntu')).body.normalized.target_disk).toBe('/dev/sdb');
    expect((await reef.json('PUT', '/api/v1/recipes/fresh', linux)).status).toBe(201);
    expect((await reef.req('/api/v1/recipes/fresh', { method: 'DELETE' })).status).toBe(204);
    expect((await reef.json('GET', '/api/v1/recipes/fresh')).status).toBe(404);
    expect((await reef.req('/api/v1/recipes/fresh', { method: 'DELETE' })).status).toBe(404);
  });
});

const mutate = (f: (r: any) => void) => {
  const r = structuredClone(linux);
  f(r);
  return JSON.stringify(r);
};

// Each malformed recipe, the field the answer must name, and (optionally) words of the message.
const MALFORMED: [string, string, string, RegExp?][] = [
  ['task_target of the wrong type', mutate((r) => (r.task_target = 42)), 'task_target'],
  ['task_target without .target', mutate((r) => (r.task_target = 'install-linux')), 'task_target', /systemd target/],
  ['unknown top-level key', mutate((r) => (r.colour = 'blue')), 'colour', /unknown key/],
  ['unknown key in a partition', mutate((r) => (r.partitions[0].colour = 'blue')), 'partitions[0].colour', /unknown key/],
  ['size 12Q', mutate((r) => (r.partitions[0].size = '12Q')), 'partitions[0].size', /512M/],
  ['size as a number', mutate((r) => (r.partitions[0].size = 512)), 'partitions[0].size'],
  ['empty partitions', mutate((r) => (r.partitions = [])), 'partitions', /at least one/],
  ['oci_url with a scheme', mutate((r) => (r.oci_url = 'http://controller:8080/os/ubuntu:1')), 'oci_url', /scheme/],
  ['oci_url with upper-case repository', mutate((r) => (r.oci_url = 'controller:8080/OS/Ubuntu:1')), 'oci_url', /repository/],
  ['oci_url with a bad digest', mutate((r) => (r.oci_url = 'controller:8080/os/ubuntu@sha256:abc')), 'oci_url', /digest/],
  ['target_disk not a device', mutate((r) => (r.target_disk = 'sda')), 'target_disk'],
  ['fstype unknown', mutate((r) => (r.partitions[1].fstype = 'zfs')), 'partitions[1].fstype'],
  ['rest-of-disk not last', mutate((r) => (r.partitions[0].size = '0')), 'partitions[0].size', /last partition/],
  ['no root partition', mutate((r) => (r.partitions = [r.partitions[0]])), 'partitions', /mounted at \//],
  ['wim_index 0', mutate((r) => ((r.task_target = 'install-windows.target'), (r.wim_index = 0))), 'wim_index'],
  ['cloud_init and user_data together', mutate((r) => (r.user_data = '#cloud-config\n')), 'user_data', /not both/],
  ['bad ssh key', mutate((r) => (r.cloud_init.users[0].ssh_authorized_keys = ['hello'])), 'cloud_init.users[0].ssh_authorized_keys[0]'],
  ['env with a bad name', mutate((r) => (r.env = { 'BAD-NAME': 'x' })), 'env.BAD-NAME'],
  ['missing oci_url for install', mutate((r) => delete r.oci_url), 'oci_url'],
  ['prestage.target without prestage', mutate((r) => ((r.task_target = 'prestage.target'), delete r.partitions, delete r.oci_url)), 'prestage', /needs a prestage section/],
  ['prestage of size 0', mutate((r) => ((r.task_target = 'prestage.target'), (r.prestage = { size: '0', release: '4.14.1' }))), 'prestage.size', /end of the disk/],
  ['prestage with nothing to fill it', mutate((r) => ((r.task_target = 'prestage.target'), (r.prestage = { size: '100G' }))), 'prestage.release', /release, ai_images or ocp_images/],
  ['prestage image with a scheme', mutate((r) => ((r.task_target = 'prestage.target'), (r.prestage = { size: '100G', ai_images: ['docker://quay.io/a/b:1'] }))), 'prestage.ai_images[0]', /image reference/],
  ['prestage on an install target', mutate((r) => (r.prestage = { size: '100G', release: '4.14.1' })), 'prestage', /prestage.target only/],
  ['JSON syntax error', '{"task_target": "install-linux.target",', 'body', /JSON syntax error/],
  ['a JSON array', '[1,2]', 'body', /object/],
];

describe('recipes: bad input gets a 4xx naming the field, never a 500', () => {
  it.each(MALFORMED)('%s', async (_name, body, field, words) => {
    const res = await post(body);
    const json = (await res.json()) as any;
    expect(res.status).toBe(400);
    expect(json.error.code).toBe('VALIDATION_FAILED');
    expect(json.error.details.map((d: any) => d.path)).toContain(field);
    expect(json.error.message).toContain(field);
    if (words) expect(JSON.stringify(json.error)).toMatch(words);
    expect(json.request_id).toBeTruthy();
  });

  it('YAML syntax error names the line', async () => {
    const res = await post('task_target: install-linux.target\npartitions: [\n  - {mount: /\n', 'application/yaml');
    expect(res.status).toBe(400);
    const json = (await res.json()) as any;
    expect(json.error.details[0].path).toBe('body');
    expect(json.error.message).toMatch(/YAML syntax error at line \d+/);
  });

  it('a body over 1 MiB is refused with 413 without being read whole', async () => {
    const huge = mutate((r) => (r.notes = 'x'.repeat(1024 * 1024 + 10)));
    const res = await post(huge);
    expect(res.status).toBe(413);
    const json = (await res.json()) as any;
    expect(json.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(json.error.details[0].path).toBe('body');
  });

  it('a bad recipe name, a missing name and an unsupported Content-Type', async () => {
    const badName = await reef.json('POST', '/api/v1/recipes?name=Bad_Name!', linux);
    expect(badName.status).toBe(400);
    expect(badName.body.error.details[0].path).toBe('name');
    const noName = await reef.json('POST', '/api/v1/recipes', linux);
    expect(noName.status).toBe(400);
    expect(noName.body.error.details[0].path).toBe('name');
    const xml = await post('<recipe/>', 'application/xml');
    expect(xml.status).toBe(415);
  });
});
