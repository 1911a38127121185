import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { haveChromium, launchChromium, screenshot, seriousViolations, timesLocalised, VIEWPORTS, watchedPage } from './helpers/browser.js';
import { type Seeded, seed } from './helpers/seed.js';

/**
 * Every page of the web UI in real Chromium against a real reef with seeded data, signed in as
 * loopback under REEF_API_AUTH=local (no login): no console error, no failed request, no serious
 * or critical axe-core violation, at a laptop's and a tablet's size; screenshots of each.
 */
const enabled = haveChromium();

describe.skipIf(!enabled)('web UI pages', () => {
  let reef: TestReef;
  let browser: Browser;
  let data: Seeded;
  beforeAll(async () => {
    reef = await startTestReef({ REEF_API_AUTH: 'local', REGISTRY_GC_GRACE_PERIOD: '0s' });
    data = await seed(reef);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await reef?.stop();
  });

  const pages = (): [string, string][] => [
    ['overview', '/ui'],
    ['jobs', '/ui/jobs'],
    ['jobs-filtered', '/ui/jobs?status=failed'],
    ['job-active', `/ui/jobs/${data.jobs[1]!.id}`],
    ['job-failed', `/ui/jobs/${data.jobs[3]!.id}`],
    ['machines', '/ui/machines'],
    ['recipes', '/ui/recipes'],
    ['recipe', '/ui/recipes/ubuntu'],
    ['recipe-new', '/ui/recipes/new'],
    ['recipe-edit', '/ui/recipes/windows/edit'],
    ['registry', '/ui/registry'],
    ['registry-tags', `/ui/registry/tags?repo=${encodeURIComponent(data.repo)}`],
    ['registry-manifest', `/ui/registry/manifest?repo=${encodeURIComponent(data.repo)}&ref=22.04`],
    ['releases', '/ui/releases'],
    ['mirror', '/ui/mirror'],
    ['isos', '/ui/isos'],
    ['prestage', '/ui/prestage'],
    ['prestage-partition', '/ui/prestage?device=%2Fdev%2Fnvme0n1&size=100G#h-partition'],
    ['audit', '/ui/audit'],
    ['login', '/ui/login'],
  ];

  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    it(`every page loads cleanly, passes axe and is saved as a screenshot at ${viewport.width}×${viewport.height}`, async () => {
      const context = await browser.newContext({ viewport });
      const shots: string[] = [];
      try {
        for (const [name, path] of pages()) {
          const { page, problems } = await watchedPage(context);
          const res = await page.goto(`${reef.url}${path}`, { waitUntil: 'load' });
          expect(res?.status(), path).toBe(200);
          // ui.js has run: times are in the browser's zone.
          await timesLocalised(page);
          expect(await page.locator('main h1').count(), `${path} has its heading`).toBe(1);
          expect(await seriousViolations(page), `axe on ${path}`).toEqual([]);
          shots.push(await screenshot(page, `${name}-${size}`));
          await page.close();
          expect(problems, `problems on ${path}`).toEqual({ console: [], failed: [] });
        }
      } finally {
        await context.close();
      }
      expect(shots).toHaveLength(pages().length);
    });
  }

  it('shows times in the browser\'s zone, from the ISO time the server renders', async () => {
    const context = await browser.newContext({ timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(`${reef.url}/ui/jobs/${data.jobs[0]!.id}`);
    const time = page.locator('time[datetime]').first();
    await expect.poll(() => time.getAttribute('data-local')).toBe('1');
    const iso = (await time.getAttribute('datetime'))!;
    const tokyo = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'Asia/Tokyo' }).format(new Date(iso));
    expect(await time.textContent()).toBe(tokyo);
    await context.close();
  });
});
