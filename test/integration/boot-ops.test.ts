import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';

const linux = JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8'));

describe('/boot.ipxe', () => {
  let reef: TestReef;
  beforeAll(async () => {
    reef = await startTestReef({
      REEF_PUBLIC_URL: 'http://reef.example:8080',
      REEF_BOOT_KERNEL: '/assets/maint/vmlinuz',
      REEF_BOOT_INITRD: 'http://cdn.example/maint/initrd.img',
      REEF_BOOT_CMDLINE: 'console=ttyS0,115200 quiet',
    });
  });
  afterAll(async () => reef?.stop());

  const script = async (q: string) => {
    const res = await reef.req(`/boot.ipxe?${q}`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return { status: res.status, text: await res.text() };
  };

  it('boots the local disk for unknown machines and machines without an active job', async () => {
    const unknown = await script('serial=NEVER-SEEN');
    expect(unknown.status).toBe(200);
    expect(unknown.text).toMatch(/^#!ipxe\n/);
    // BIOS sanboots the disk; UEFI (and a failed sanboot) exits with failure so the firmware
    // tries its next boot option: a plain `exit` returns success and stops it in its setup screen.
    const lines = unknown.text.split('\n');
    expect(lines).toContain('iseq ${platform} efi && goto reef_uefi ||');
    expect(lines).toContain('sanboot --no-describe --drive 0x80 || goto reef_failed');
    expect(lines.filter((l) => l.startsWith('exit'))).toEqual(['exit 1', 'exit 1']);
    expect(lines.indexOf(':reef_uefi')).toBeGreaterThan(lines.indexOf('sanboot --no-describe --drive 0x80 || goto reef_failed'));
    await reef.json('POST', '/api/v1/machines', { serial: 'IDLE-1', macs: ['52:54:00:00:00:01'] });
    expect((await script('mac=52:54:00:00:00:01')).text).toContain('no active job for IDLE-1');
  });

  it('chains the maintenance OS with reef.controller, reef.job and reef.token for the active job', async () => {
    const job = (await reef.json('POST', '/api/v1/jobs', { server_serial: 'BOOT-1', recipe: linux, mac: '52:54:00:00:00:02' })).body;
    for (const q of ['serial=BOOT-1', 'mac=52-54-00-00-00-02']) {
      const { text } = await script(q);
      const kernel = text.split('\n').find((l) => l.startsWith('kernel '))!;
      expect(kernel.split(' ').slice(0, 3)).toEqual(['kernel', 'http://reef.example:8080/assets/maint/vmlinuz', 'initrd=initrd']);
      expect(kernel).toContain('reef.controller=http://reef.example:8080');
      expect(kernel).toContain(`reef.job=${job.job_id}`);
      expect(kernel).toMatch(/reef\.token=[A-Za-z0-9_-]{43}( |$)/);
      expect(kernel).toContain('console=ttyS0,115200 quiet');
      expect(text).toContain('initrd --name initrd http://cdn.example/maint/initrd.img\nboot\n');
    }
    // The token on the command line is the job's callback token.
    const token = /reef\.token=(\S+)/.exec((await script('serial=BOOT-1')).text)![1];
    const cb = await reef.json('POST', `/api/v1/jobs/${job.job_id}/events`, { step: 'boot', message: 'up' }, { authorization: `Bearer ${token}` });
    expect(cb.status).toBe(200);
    const events = (await reef.json('GET', `/api/v1/jobs/${job.job_id}`)).body.events;
    expect(events.some((e: any) => e.step === 'boot' && e.source === 'controller')).toBe(true);
  });

  it('needs serial or mac, and a valid one', async () => {
    const none = await reef.json('GET', '/boot.ipxe');
    expect(none.status).toBe(400);
    expect(none.body.error.details[0].path).toBe('serial');
    expect((await reef.json('GET', '/boot.ipxe?mac=zz')).body.error.details[0].path).toBe('mac');
  });

  it('sanboots the boot ISO when REEF_BOOT_ISO is set, and serves it with Range', async () => {
    const iso = await startTestReef({ REEF_BOOT_ISO: 'recipes/ubuntu-rootfs.json' });
    try {
      const job = (await iso.json('POST', '/api/v1/jobs', { server_serial: 'SAN-1', recipe: linux })).body;
      const text = await (await iso.req('/boot.ipxe?serial=SAN-1')).text();
      expect(text).toContain(`sanboot --no-describe --drive 0x81 ${iso.publicUrl}/media/tasks/${job.job_id}/boot.iso`);
      const part = await iso.req(`/media/tasks/${job.job_id}/boot.iso`, { headers: { range: 'bytes=0-0' } });
      expect(part.status).toBe(206);
      expect(await part.text()).toBe('{');
    } finally {
      await iso.stop();
    }
  });
});

describe('ops endpoints', () => {
  let reef: TestReef;
  beforeAll(async () => {
    reef = await startTestReef();
  });
  afterAll(async () => reef?.stop());

  it('healthz, readyz, request ids and JSON 404s', async () => {
    expect((await reef.json('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await reef.json('GET', '/readyz')).body).toEqual({ status: 'ready' });
    const res = await reef.req('/api/v1/nothing-here', { headers: { 'x-request-id': 'trace-123' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' }, request_id: 'trace-123' });
  });

  it('metrics: requests and latency by route and status, jobs by state', async () => {
    await reef.json('POST', '/api/v1/jobs', { server_serial: 'MET-1', recipe: linux });
    await reef.json('GET', '/api/v1/jobs/01ZZZZZZZZZZZZZZZZZZZZZZZZ');
    const text = await (await reef.req('/metrics')).text();
    expect(text).toMatch(/http_requests_total\{method="POST",route="\/api\/v1\/jobs",status="202"\} 1/);
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/api\/v1\/jobs\/:id",status="404"\} 1/);
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="0\.1",method="POST",route="\/api\/v1\/jobs",status="202"\} 1/);
    expect(text).toMatch(/reef_jobs\{state="queued"\} 1/);
    expect(text).toMatch(/reef_jobs\{state="succeeded"\} 0/);
  });

  it('openapi.json is generated from the zod schemas', async () => {
    const doc = (await reef.json('GET', '/api/v1/openapi.json')).body;
    expect(doc.openapi).toBe('3.0.3');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/recipes', '/api/v1/jobs', '/api/v1/jobs/{id}/events', '/media/tasks/{id}/task.iso']));
    const recipe = doc.components.schemas.Recipe;
    expect(recipe.properties.task_target.pattern).toBe('^[A-Za-z0-9_.-]+\\.target$');
    expect(recipe.additionalProperties).toBe(false);
    expect(doc.components.schemas.JobEvent.properties.level.enum).toEqual(['debug', 'info', 'warn', 'error']);
  });
});
