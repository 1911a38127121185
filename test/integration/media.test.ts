import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

const linux = JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8'));
const windows = JSON.parse(readFileSync('recipes/windows-server.json', 'utf8'));

let reef: TestReef;
let work: string;
beforeAll(async () => {
  reef = await startTestReef();
  work = mkdtempSync(join(tmpdir(), 'reef-media-'));
});
afterAll(async () => {
  await reef?.stop();
  rmSync(work, { recursive: true, force: true });
});

const isoFileOf = (jobId: string) => join(reef.dataDir, 'media', 'tasks', jobId, 'task.iso');
const xorriso = (...args: string[]) => execFileSync('xorriso', ['-abort_on', 'FAILURE', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const createJob = async (serial: string, recipe: unknown) => {
  const r = await reef.json('POST', '/api/v1/jobs', { server_serial: serial, recipe });
  expect(r.status).toBe(202);
  return r.body;
};

describe('task ISOs read back with xorriso', () => {
  it.skipIf(!requireTool('xorriso'))('Linux job: volume id, NoCloud seed, recipe and callback data', async () => {
    expect((await reef.json('POST', '/api/v1/recipes?name=ubuntu', linux)).status).toBe(201);
    const job = (await reef.json('POST', '/api/v1/jobs', { server_serial: 'ISO-LINUX', recipe_name: 'ubuntu' })).body;
    const res = await reef.req(new URL(job.task_iso_url).pathname);
    expect(res.status).toBe(200);
    const file = join(work, 'linux.iso');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    expect(xorriso('-indev', file, '-pvd_info')).toMatch(new RegExp(`Volume Id\\s*:\\s*TASK_${job.job_id}`));
    const out = join(work, 'linux');
    xorriso('-osirrox', 'on', '-indev', file, '-extract', '/', out);
    expect(execFileSync('ls', [out], { encoding: 'utf8' }).split('\n').filter(Boolean).sort()).toEqual(['meta-data', 'recipe.json', 'task.json', 'user-data']);
    const task = JSON.parse(readFileSync(join(out, 'task.json'), 'utf8'));
    expect(task).toMatchObject({ job_id: job.job_id, server_serial: 'ISO-LINUX', task_target: 'install-linux.target', controller_url: reef.publicUrl });
    expect(task.callback_url).toBe(`${reef.publicUrl}/api/v1/jobs/${job.job_id}/events`);
    expect(task.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.parse(readFileSync(join(out, 'recipe.json'), 'utf8'))).toEqual(job.recipe);
    expect(readFileSync(join(out, 'user-data'), 'utf8')).toMatch(/^#cloud-config\nhostname: server01\n/);
    expect(readFileSync(join(out, 'meta-data'), 'utf8')).toBe(`instance-id: ${job.job_id.toLowerCase()}\nlocal-hostname: server01.example.com\n`);
    // The token works against the callback: the ISO is what authenticates the machine.
    const cb = await reef.json('POST', `/api/v1/jobs/${job.job_id}/events`, { step: 'boot', message: 'agent up' }, { authorization: `Bearer ${task.token}` });
    expect(cb.status).toBe(200);
  });

  it.skipIf(!requireTool('xorriso'))('Windows job: unattend.xml, no NoCloud files', async () => {
    const job = await createJob('ISO-WIN', windows);
    const file = isoFileOf(job.job_id);
    expect(xorriso('-indev', file, '-pvd_info')).toContain(`TASK_${job.job_id}`);
    const out = join(work, 'win');
    xorriso('-osirrox', 'on', '-indev', file, '-extract', '/', out);
    expect(execFileSync('ls', [out], { encoding: 'utf8' }).split('\n').filter(Boolean).sort()).toEqual(['recipe.json', 'task.json', 'unattend.xml']);
    expect(readFileSync(join(out, 'unattend.xml'), 'utf8')).toBe('...');
    expect(statSync(file).size).toBeLessThan(128 * 1024);
  });
});

describe('/media Range answers, byte for byte', () => {
  let url: string;
  let bytes: Buffer;
  beforeAll(async () => {
    const job = await createJob('RANGE-1', linux);
    url = new URL(job.task_iso_url).pathname;
    bytes = readFileSync(isoFileOf(job.job_id));
  });

  it('full GET and HEAD carry length, ETag, Last-Modified, Accept-Ranges', async () => {
    const full = await reef.req(url);
    expect(Buffer.from(await full.arrayBuffer()).equals(bytes)).toBe(true);
    expect(full.headers.get('content-length')).toBe(String(bytes.length));
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(full.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(full.headers.get('last-modified')).toBe(statSync(isoFileOf(url.split('/')[3]!)).mtime.toUTCString());
    const head = await reef.req(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
    expect(head.headers.get('etag')).toBe(full.headers.get('etag'));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it.each([
    ['bytes=0-0', 0, 0],
    ['bytes=32768-34815', 32768, 34815],
    ['bytes=100-', 100, -1],
    ['bytes=-500', -500, -1],
    ['bytes=2048-99999999', 2048, -1],
  ])('%s → 206 with the exact bytes', async (range, from, to) => {
    const start = from < 0 ? bytes.length + from : from;
    const end = to < 0 ? bytes.length - 1 : to;
    const res = await reef.req(url, { headers: { range } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${bytes.length}`);
    expect(res.headers.get('content-length')).toBe(String(end - start + 1));
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, end + 1))).toBe(true);
  });

  it('unsatisfiable → 416 with Content-Range */size; garbage or multi-range → full 200', async () => {
    for (const range of [`bytes=${bytes.length}-`, 'bytes=-0']) {
      const res = await reef.req(url, { headers: { range } });
      expect(res.status).toBe(416);
      expect(res.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    }
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=9-3']) {
      const res = await reef.req(url, { headers: { range } });
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(bytes.length);
    }
  });

  it('If-Range: matching validator → 206, stale → 200 full; If-None-Match → 304', async () => {
    const head = await reef.req(url, { method: 'HEAD' });
    const etag = head.headers.get('etag')!;
    const lm = head.headers.get('last-modified')!;
    expect((await reef.req(url, { headers: { range: 'bytes=0-9', 'if-range': etag } })).status).toBe(206);
    expect((await reef.req(url, { headers: { range: 'bytes=0-9', 'if-range': lm } })).status).toBe(206);
    const stale = await reef.req(url, { headers: { range: 'bytes=0-9', 'if-range': '"0-0"' } });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(bytes.length);
    expect((await reef.req(url, { headers: { 'if-none-match': etag } })).status).toBe(304);
  });

  it.skipIf(!requireTool('curl'))('curl (as iPXE would fetch) resumes with a Range and gets identical bytes', async () => {
    // Async: the server runs in this process, so a blocking exec would deadlock it.
    const run = promisify(execFile);
    const out = join(work, 'curl.iso');
    await run('curl', ['-sS', '-r', '0-4095', '-o', out, `${reef.url}${url}`]);
    expect(statSync(out).size).toBe(4096);
    await run('curl', ['-sS', '-C', '-', '-o', out, `${reef.url}${url}`]);
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });
});

describe('signed media URLs and retention', () => {
  it('with REEF_MEDIA_SIGNING_SECRET, unsigned or tampered URLs get 403', async () => {
    const signed = await startTestReef({ REEF_MEDIA_SIGNING_SECRET: 'media-secret' });
    try {
      const job = (await signed.json('POST', '/api/v1/jobs', { server_serial: 'SIGN-1', recipe: linux })).body;
      const u = new URL(job.task_iso_url);
      expect(u.searchParams.get('sig')).toMatch(/^[0-9a-f]{64}$/);
      expect((await signed.req(`${u.pathname}${u.search}`)).status).toBe(200);
      expect((await signed.req(`${u.pathname}${u.search}`, { method: 'HEAD' })).status).toBe(200);
      const unsigned = await signed.req(u.pathname);
      expect(unsigned.status).toBe(403);
      expect(((await unsigned.json()) as any).error.code).toBe('FORBIDDEN');
      const tampered = u.search.replace(/sig=./, (m) => `sig=${m.endsWith('0') ? '1' : '0'}`);
      expect((await signed.req(`${u.pathname}${tampered}`)).status).toBe(403);
      const expired = `?expires=1000&sig=${u.searchParams.get('sig')}`;
      expect(((await (await signed.req(`${u.pathname}${expired}`)).json()) as any).error.message).toMatch(/expired/);
    } finally {
      await signed.stop();
    }
  });

  it('the sweep removes ISOs of jobs finished longer ago than REEF_MEDIA_RETENTION, and orphans', async () => {
    const short = await startTestReef({ REEF_MEDIA_RETENTION: '0s' });
    try {
      const done = (await short.json('POST', '/api/v1/jobs', { server_serial: 'RET-1', recipe: linux })).body;
      const live = (await short.json('POST', '/api/v1/jobs', { server_serial: 'RET-2', recipe: linux })).body;
      await short.json('POST', `/api/v1/jobs/${done.job_id}/cancel`);
      const orphanDir = join(short.dataDir, 'media', 'tasks', '01AAAAAAAAAAAAAAAAAAAAAAAA');
      execFileSync('mkdir', ['-p', orphanDir]);
      writeFileSync(join(orphanDir, 'task.iso'), 'left by a crash');
      const old = new Date(Date.now() - 2 * 3600_000);
      utimesSync(orphanDir, old, old);
      await new Promise((r) => setTimeout(r, 5));
      expect(await short.sweepMedia()).toEqual({ removed: 1, orphans: 1 });
      const gone = await short.req(`/media/tasks/${done.job_id}/task.iso`);
      expect(gone.status).toBe(404);
      expect(((await gone.json()) as any).error.message).toMatch(/retention/);
      expect((await short.req(`/media/tasks/${live.job_id}/task.iso`)).status).toBe(200);
      expect((await short.json('GET', `/api/v1/jobs/${done.job_id}`)).body.media_removed_at).not.toBeNull();
    } finally {
      await short.stop();
    }
  });
});
