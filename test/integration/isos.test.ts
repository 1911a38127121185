import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { showIgnition } from '../../src/ignition/live-iso/live-iso.js';
import { type LiveIsoFixture, buildLiveIso, hashOutside, noise } from '../helpers/live-iso.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireAvailable, requireTool } from '../helpers/tools.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

/** curl as the client (async: the server runs in this process). */
const curl = async (args: string[]) => {
  const { stdout } = await run('curl', ['-sS', ...args], { encoding: 'buffer', maxBuffer: 64 << 20 });
  return stdout;
};
const upload = async (reef: TestReef, name: string, file: string) => {
  const out = await curl(['-X', 'PUT', '-T', file, '-H', 'Content-Type: application/octet-stream', '-w', '\n%{http_code}', `${reef.url}/api/v1/isos/bases/${name}`]);
  const text = out.toString();
  const cut = text.lastIndexOf('\n');
  return { status: Number(text.slice(cut + 1)), body: JSON.parse(text.slice(0, cut)) };
};

const IGNITION = { ignition: { version: '3.2.0' }, passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3 factory'] }] } };

const ok = () => requireTool('xorriso') && requireTool('curl');

/** A reef (started with `env`) and a temp directory holding a fixture live ISO, for one describe block. */
const reefWithIso = (env: Record<string, string>, variant: 'igninfo' | 'img-only') => {
  const ctx = {} as { reef: TestReef; dir: string; fx: LiveIsoFixture };
  beforeAll(async () => {
    ctx.dir = mkdtempSync(join(tmpdir(), 'reef-isos-'));
    if (!ok()) return;
    ctx.fx = buildLiveIso(ctx.dir, variant, 512 * 1024);
    ctx.reef = await startTestReef(env);
  });
  afterAll(async () => {
    await ctx.reef?.stop();
    rmSync(ctx.dir, { recursive: true, force: true });
  });
  return ctx;
};

describe('live ISOs over HTTP: bases, generated ISOs, /media/isos, /boot.ipxe?iso=', () => {
  const ctx = reefWithIso({}, 'igninfo');

  it('uploads a base (streamed), lists it, generates an ISO that carries the config and serves it with Range', async () => {
    if (!ok()) return;
    const put = await upload(ctx.reef, 'rhcos-4.16', ctx.fx.path);
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ name: 'rhcos-4.16', size: statSync(ctx.fx.path).size, embed_area: { file: 'images/ignition.img', length: 262144 }, has_embedded_config: false });
    expect((await upload(ctx.reef, 'rhcos-4.16', ctx.fx.path)).status).toBe(200);
    expect(readFileSync(join(ctx.reef.dataDir, 'isos', 'bases', 'rhcos-4.16.iso')).equals(readFileSync(ctx.fx.path))).toBe(true);
    const list = await ctx.reef.json('GET', '/api/v1/isos/bases');
    expect(list.body.items).toEqual([{ name: 'rhcos-4.16', size: statSync(ctx.fx.path).size, updated_at: expect.any(String) }]);

    const made = await ctx.reef.json('POST', '/api/v1/isos', { base: 'rhcos-4.16', ignition: IGNITION });
    expect(made.status).toBe(201);
    const { id, url, size } = made.body;
    expect(url).toBe(`${ctx.reef.publicUrl}/media/isos/${id}.iso`);
    expect(size).toBe(statSync(ctx.fx.path).size);
    expect(made.headers.get('location')).toBe(`/api/v1/isos/${id}`);
    expect((await ctx.reef.json('GET', `/api/v1/isos/${id}`)).body).toMatchObject({ id, url, size });

    const got = join(ctx.dir, 'got.iso');
    await curl(['-f', '-o', got, url]);
    expect((await showIgnition(got)).config?.toString()).toBe(JSON.stringify(IGNITION));
    expect(hashOutside(got, ctx.fx.areaOffset, ctx.fx.areaOffset + ctx.fx.areaLength)).toBe(hashOutside(ctx.fx.path, ctx.fx.areaOffset, ctx.fx.areaOffset + ctx.fx.areaLength));
    const whole = readFileSync(got);

    const first = await ctx.reef.req(`/media/isos/${id}.iso`, { headers: { Range: 'bytes=0-0' } });
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-0/${size}`);
    expect(Buffer.from(await first.arrayBuffer()).equals(whole.subarray(0, 1))).toBe(true);
    const mid = await ctx.reef.req(`/media/isos/${id}.iso`, { headers: { Range: `bytes=${ctx.fx.areaOffset - 10}-${ctx.fx.areaOffset + 99}` } });
    expect(mid.status).toBe(206);
    expect(Buffer.from(await mid.arrayBuffer()).equals(whole.subarray(ctx.fx.areaOffset - 10, ctx.fx.areaOffset + 100))).toBe(true);
    const past = await ctx.reef.req(`/media/isos/${id}.iso`, { headers: { Range: `bytes=${size}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${size}`);

    const boot = await ctx.reef.req(`/boot.ipxe?iso=${id}`);
    expect(boot.status).toBe(200);
    const script = await boot.text();
    expect(script).toMatch(/^#!ipxe\n/);
    expect(script).toContain(`sanboot --no-describe --drive 0x81 ${url}`);
  });

  it('keeps an ignition given as a JSON string byte for byte, and gzip on request', async () => {
    if (!ok()) return;
    await upload(ctx.reef, 'base-b', ctx.fx.path);
    const text = '{ "ignition": { "version": "3.1.0" },\n  "storage": {} }\n';
    const made = await ctx.reef.json('POST', '/api/v1/isos', { base: 'base-b', ignition: text, compression: 'gzip' });
    expect(made.status).toBe(201);
    expect(made.body.compression).toBe('gzip');
    const got = join(ctx.dir, 'b.iso');
    await curl(['-f', '-o', got, made.body.url]);
    const shown = await showIgnition(got);
    expect(shown.config?.toString()).toBe(text);
    expect(shown.compression).toBe('gzip');
    expect((await ctx.reef.req(`/api/v1/isos/${made.body.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(made.body.url)).status).toBe(404);
  });

  it('bad input: 400 naming the field; unknown base or ISO: 404; nothing left behind', async () => {
    if (!ok()) return;
    await upload(ctx.reef, 'good', ctx.fx.path);
    const junk = join(ctx.dir, 'junk.bin');
    writeFileSync(junk, noise(300_000, 3));
    const notIso = await upload(ctx.reef, 'junk', junk);
    expect(notIso.status).toBe(400);
    expect(notIso.body.error.details[0].path).toBe('body');
    expect(notIso.body.error.message).toMatch(/not a CoreOS live ISO/);
    const plain = join(ctx.dir, 'plain.iso');
    const tree = join(ctx.dir, 'plain');
    mkdirSync(tree);
    writeFileSync(join(tree, 'readme.txt'), 'no embed area here\n');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', plain, tree], { stdio: 'pipe' });
    const noArea = await upload(ctx.reef, 'plain', plain);
    expect(noArea.status).toBe(400);
    expect(noArea.body.error.message).toMatch(/neither coreos\/igninfo.json nor images\/ignition.img/);
    const badName = await upload(ctx.reef, '.hidden', ctx.fx.path);
    expect(badName.status).toBe(400);
    expect(badName.body.error.details[0].path).toBe('name');
    expect(readdirSync(join(ctx.reef.dataDir, 'isos', 'bases')).sort()).toEqual(['base-b.iso', 'good.iso', 'rhcos-4.16.iso']);

    const cases: [unknown, string, RegExp][] = [
      [{ ignition: IGNITION }, 'base', /expected string|required/i],
      [{ base: 'good' }, 'ignition', /required/],
      [{ base: 'good', ignition: 'variant: fcos' }, 'ignition', /not JSON/],
      [{ base: 'good', ignition: { passwd: {} } }, 'ignition', /ignition\.version/],
      [{ base: 'good', ignition: [1] }, 'ignition', /object or a JSON string/],
      [{ base: 'good', ignition: IGNITION, compression: 'zstd' }, 'compression', /./],
      [{ base: 'good', ignition: IGNITION, colour: 'red' }, 'colour', /unknown key/],
      [{ base: 'good', ignition: { ...IGNITION, blob: noise(400_000, 8).toString('base64') } }, 'ignition', /does not fit the embed area: \d+ bytes compress to \d+ bytes \(xz\), the area holds 262144 bytes/],
    ];
    for (const [body, field, message] of cases) {
      const r = await ctx.reef.json('POST', '/api/v1/isos', body);
      expect({ field, status: r.status }).toEqual({ field, status: 400 });
      expect(r.body.error.details[0].path).toBe(field);
      expect(r.body.error.details[0].message).toMatch(message);
    }
    const unknown = await ctx.reef.json('POST', '/api/v1/isos', { base: 'nope', ignition: IGNITION });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('base ISO "nope" not found');
    expect(readdirSync(join(ctx.reef.dataDir, 'media', 'isos')).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    expect((await ctx.reef.req('/media/isos/01ARZ3NDEKTSV4RRFFQ69G5FAV.iso')).status).toBe(404);
    expect((await ctx.reef.req('/media/isos/../../secret.iso')).status).toBe(404);
    expect((await ctx.reef.req('/boot.ipxe?iso=01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(404);
    const badIso = await ctx.reef.json('GET', '/boot.ipxe?iso=x');
    expect(badIso.status).toBe(400);
    expect(badIso.body.error.details[0].path).toBe('iso');
  });
});

describe('live ISOs on a full disk', () => {
  let reef: TestReef;
  let dir: string;
  const mounts: string[] = [];
  const okFull = () => requireAvailable('root (to mount a small tmpfs)', isRoot) && ok();
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reef-isos-full-'));
    if (!okFull()) return;
    reef = await startTestReef();
    for (const sub of [['isos', 'bases'], ['media', 'isos']]) {
      const mnt = join(reef.dataDir, ...sub);
      mkdirSync(mnt, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
      mounts.push(mnt);
    }
  });
  afterAll(async () => {
    for (const m of mounts) execFileSync('umount', [m]);
    await reef?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!isRoot || !ok())('answers 507 for an upload and a generation that do not fit, keeping no partial file', async () => {
    const small = buildLiveIso(dir, 'img-only', 512 * 1024); // ~1.1 MiB: fits a 3 MiB tmpfs twice, not thrice
    const big = buildLiveIso(dir, 'igninfo', 4 * 1024 * 1024); // ~6.3 MiB: never fits
    const tooBig = await upload(reef, 'big', big.path);
    expect(tooBig.status).toBe(507);
    expect(tooBig.body.error.code).toBe('STORAGE_FULL');
    expect(readdirSync(mounts[0]!)).toEqual([]);

    expect((await upload(reef, 'small', small.path)).status).toBe(201);
    const made: number[] = [];
    for (let i = 0; i < 3; i++) made.push((await reef.json('POST', '/api/v1/isos', { base: 'small', ignition: IGNITION })).status);
    expect(made).toEqual([201, 201, 507]);
    const left = readdirSync(mounts[1]!);
    expect(left).toHaveLength(2);
    expect(left.every((f) => /^[0-9A-Z]{26}\.iso$/.test(f))).toBe(true);
  });
});

describe('generated ISOs with signed media URLs', () => {
  const ctx = reefWithIso({ REEF_MEDIA_SIGNING_SECRET: 'iso-signing-secret-0123456789' }, 'img-only');

  it('hands out signed URLs (API and boot script) and refuses unsigned or tampered ones', async () => {
    if (!ok()) return;
    const { reef, fx } = ctx;
    expect((await upload(reef, 'signed-base', fx.path)).status).toBe(201);
    const made = await reef.json('POST', '/api/v1/isos', { base: 'signed-base', ignition: IGNITION });
    expect(made.status).toBe(201);
    const url = new URL(made.body.url);
    expect(url.searchParams.get('sig')).toMatch(/^[0-9a-f]{64}$/);
    expect((await fetch(made.body.url, { headers: { Range: 'bytes=0-0' } })).status).toBe(206);
    expect((await reef.req(url.pathname)).status).toBe(403);
    url.searchParams.set('sig', '0'.repeat(64));
    expect((await fetch(url)).status).toBe(403);
    const script = await (await reef.req(`/boot.ipxe?iso=${made.body.id}`)).text();
    const booted = /sanboot --no-describe --drive 0x81 (\S+)/.exec(script)![1]!;
    expect(new URL(booted).searchParams.get('sig')).toMatch(/^[0-9a-f]{64}$/);
    expect((await fetch(booted, { method: 'HEAD' })).status).toBe(200);
  });
});
