import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionScript } from '../../src/ignition/prestage/partition-script.js';
import { parseSize } from '../../src/ignition/prestage/sizes.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { haveChromium, launchChromium, timesLocalised, watchedPage } from './helpers/browser.js';
import { report, type Seeded, seed } from './helpers/seed.js';

/** Layout shifts the page has had since it loaded (the Layout Instability API), summed. */
const TRACK_SHIFTS = `window.__shifts = 0; new PerformanceObserver((l) => { for (const e of l.getEntries()) if (!e.hadRecentInput) window.__shifts += e.value; }).observe({ type: 'layout-shift', buffered: true });`;

const enabled = haveChromium();

describe.skipIf(!enabled)('web UI, live and interactive', () => {
  let reef: TestReef;
  let browser: Browser;
  let data: Seeded;
  let page: Page;
  let problems: Awaited<ReturnType<typeof watchedPage>>['problems'];
  beforeAll(async () => {
    reef = await startTestReef({ REEF_API_AUTH: 'local', REGISTRY_GC_GRACE_PERIOD: '0s', REEF_UI_STREAM_POLL: '100ms' });
    data = await seed(reef);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(TRACK_SHIFTS);
    ({ page, problems } = await watchedPage(context));
  });
  afterAll(async () => {
    await browser?.close();
    await reef?.stop();
  });

  it("moves a job's step, bytes and timeline on screen as the agent posts its events, without moving the page", async () => {
    const job = data.jobs[0]!;
    await page.goto(`${reef.url}/ui/jobs/${job.id}`);
    await timesLocalised(page);
    const step = page.getByTestId('job-step');
    const bytes = page.getByTestId('job-bytes');
    expect(await step.textContent()).toBe('—');

    await report(reef, job, { step: 'pull', message: 'pulling the rootfs', bytes_done: 1024 ** 3, bytes_total: 4 * 1024 ** 3 });
    await expect.poll(() => step.textContent()).toBe('pull');
    await expect.poll(() => bytes.textContent()).toContain('1.0 GiB of 4.0 GiB (25 %)');
    expect(await page.locator('#job-bar').getAttribute('value')).toBe('25');

    await report(reef, job, { step: 'pull', bytes_done: 3 * 1024 ** 3, bytes_total: 4 * 1024 ** 3 });
    await expect.poll(() => bytes.textContent()).toContain('(75 %)');
    await report(reef, job, { step: 'extract', message: 'unpacking into /' });
    await expect.poll(() => step.textContent()).toBe('extract');
    await expect.poll(() => page.locator('ol.timeline li').last().textContent()).toContain('extract: unpacking into /');
    expect(await page.getByTestId('job-events-total').textContent()).toBe('4');

    await report(reef, job, { status: 'succeeded' });
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('succeeded');
    // New times in the swapped parts are shown in the browser's zone too.
    await timesLocalised(page);
    expect(await page.evaluate('window.__shifts')).toBe(0);
    expect(problems).toEqual({ console: [], failed: [] });
  });

  it('cancels an active job from its page, as POST /api/v1/jobs/{id}/cancel does', async () => {
    const job = data.jobs[1]!;
    await page.goto(`${reef.url}/ui/jobs/${job.id}`);
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.waitForURL(/canceled=1/);
    expect(await page.getByTestId('job-status').textContent()).toBe('canceled');
    expect((await reef.json('GET', `/api/v1/jobs/${job.id}`)).body.status).toBe('canceled');
    expect(await page.getByRole('button', { name: 'Cancel job' }).count()).toBe(0);
  });

  it('shows a bad partition size on that field, with the message the API gives, and saves once it is fixed', async () => {
    await page.goto(`${reef.url}/ui/recipes/new`);
    await page.getByLabel('Name').fill('rack-linux');
    await page.getByLabel('task_target').fill('install-linux.target');
    await page.getByLabel('target_disk').fill('/dev/nvme0n1');
    await page.getByLabel('oci_url').fill('127.0.0.1:5000/os-images/ubuntu-rootfs:22.04');
    await page.getByLabel('partition 1 mount').fill('/boot/efi');
    await page.getByLabel('partition 1 size').fill('512M');
    await page.getByLabel('partition 1 fstype').fill('vfat');
    await page.getByLabel('partition 2 mount').fill('/');
    await page.getByLabel('partition 2 size').fill('12 parsecs');
    await page.getByLabel('partition 2 fstype').fill('ext4');
    await page.getByLabel(/Other fields/).fill('cloud_init:\n  hostname: rack-1\n');
    await page.getByRole('button', { name: 'Create recipe' }).click();

    const size = page.getByLabel('partition 2 size');
    expect(await size.getAttribute('aria-invalid')).toBe('true');
    const errorId = (await size.getAttribute('aria-describedby'))!;
    const shown = await page.locator(`#${errorId}`).textContent();
    // The same document through the JSON API: the same field, the same message.
    const api = await reef.json('POST', '/api/v1/recipes?name=rack-linux', {
      task_target: 'install-linux.target', target_disk: '/dev/nvme0n1', oci_url: '127.0.0.1:5000/os-images/ubuntu-rootfs:22.04',
      partitions: [{ mount: '/boot/efi', size: '512M', fstype: 'vfat' }, { mount: '/', size: '12 parsecs', fstype: 'ext4' }], cloud_init: { hostname: 'rack-1' },
    });
    expect(api.status).toBe(400);
    expect(api.body.error.details).toEqual([{ path: 'partitions[1].size', message: shown }]);
    // Only that field is marked; what was typed is kept.
    expect(await page.locator('[aria-invalid="true"]').count()).toBe(1);
    expect(await page.getByLabel('partition 1 size').inputValue()).toBe('512M');

    await size.fill('0');
    await page.getByRole('button', { name: 'Create recipe' }).click();
    await page.waitForURL(/\/ui\/recipes\/rack-linux\?saved=1$/);
    const stored = await reef.json('GET', '/api/v1/recipes/rack-linux');
    expect(stored.body.recipe.partitions[1]).toEqual({ mount: '/', size: '0', fstype: 'ext4' });
    expect(stored.body.recipe.cloud_init).toEqual({ hostname: 'rack-1' });
    // The refused form came back as a 400 page (what Chromium logs for it), and nothing else went wrong.
    expect(problems.console).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    expect(problems.failed).toEqual([`POST ${reef.url}/ui/recipes: 400`]);
    problems.console.length = 0;
    problems.failed.length = 0;
  });

  it("shows the API's numbers for a GC dry run, and for the run", async () => {
    await page.goto(`${reef.url}/ui/registry`);
    await page.getByRole('button', { name: 'Dry run' }).click();
    const blobs = page.getByTestId('gc-blobs');
    await blobs.waitFor();
    expect(await page.locator('#gc-result h3').textContent()).toContain('Dry run');
    const api = await reef.json('POST', '/admin/gc?dry_run=true');
    expect(api.body.blobs_deleted).toBeGreaterThan(0);
    expect(Number(await blobs.textContent())).toBe(api.body.blobs_deleted);
    expect(Number(await page.getByTestId('gc-bytes').textContent())).toBe(api.body.bytes_freed);
    expect(Number(await page.getByTestId('gc-manifests').textContent())).toBe(api.body.manifests_deleted);

    await page.getByRole('button', { name: 'Run GC now' }).click();
    await expect.poll(() => page.locator('#gc-result h3').textContent()).toBe('GC removed');
    expect(Number(await blobs.textContent())).toBe(api.body.blobs_deleted);
    expect((await reef.json('POST', '/admin/gc?dry_run=true')).body.blobs_deleted).toBe(0);
    await page.goto(`${reef.url}/ui`);
    expect(await page.locator('#h-gc + p').textContent()).toContain(`${api.body.blobs_deleted} blobs`);
    expect(problems).toEqual({ console: [], failed: [] });
  });

  it('writes the data partition script `reef prestage partition --print` writes, and names a bad size on its field', async () => {
    await page.goto(`${reef.url}/ui/prestage`);
    await page.getByLabel(/Disk of the node/).fill('/dev/nvme0n1');
    await page.getByLabel(/Size of the data partition/).fill('12 parsecs');
    await page.getByRole('button', { name: 'Make the script' }).click();
    const size = page.getByLabel(/Size of the data partition/);
    expect(await size.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#p-size-error').textContent()).toContain('is not a size');
    await size.fill('100G');
    await page.getByRole('button', { name: 'Make the script' }).click();
    const expected = partitionScript({ device: '/dev/nvme0n1', size: parseSize('100G', '--size'), label: 'data' });
    expect(await page.getByLabel('Partition script', { exact: true }).textContent()).toBe(expected);
    const download = await reef.req('/ui/prestage/partition?device=%2Fdev%2Fnvme0n1&size=100G&label=data');
    expect(await download.text()).toBe(expected);
    expect(problems).toEqual({ console: [], failed: [] });
  });

  it("ends a job page's live stream when reef stops, rather than holding the shutdown", async () => {
    const other = await startTestReef({ REEF_API_AUTH: 'local', REEF_SHUTDOWN_GRACE: '1h', REEF_UI_STREAM_POLL: '100ms' });
    const more = await seed(other);
    const res = await other.req(`/ui/jobs/${more.jobs[0]!.id}/stream`);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('event: progress');
    // Without the stop signal this waits out the 1 h grace period (and the test times out).
    await other.stop();
    let done = false;
    while (!done) done = (await reader.read()).done;
    expect(done).toBe(true);
  });
});
