/**
 * The Releases pages in Chromium against a real reef with a `releases:` config and a local
 * token-demanding upstream (test/releases/release-upstream.ts): every view loads clean and
 * accessible at both sizes; a clone started from the page shows its counters moving until it is
 * cloned; extraction from the page takes a release to ready; the agent ISO form shows a bad
 * document's error on its field and, for good ones, the ISO's URL and boot link; a viewer is
 * offered no action and a forged POST is refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushSyntheticRelease } from '../fixtures/synthetic-release.js';
import { pushToolRelease } from '../fixtures/tool-release.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireAvailable, requireTool } from '../helpers/tools.js';
import { DISTRIBUTION_BIN } from '../registry/helpers/distribution.js';
import { type ReleaseUpstream, startReleaseUpstream, until } from '../releases/release-upstream.js';
import { haveChromium, launchChromium, screenshot, seriousViolations, timesLocalised, VIEWPORTS, watchedPage } from './helpers/browser.js';
import { postForm, signIn } from './helpers/session.js';

const COMPONENTS = 'openshift-release-dev/ocp-v4.0-art-dev';
const TABS = ['browse', 'news', 'cloning', 'events', 'downloads', 'log'] as const;
const ok = haveChromium() && requireTool('xorriso') && requireTool('zstd') && requireAvailable('docker-registry', existsSync(DISTRIBUTION_BIN));

// The seed document's configs (fastregistry-release-management.md, "Complete Workflow").
const INSTALL_CONFIG = 'apiVersion: v1\nbaseDomain: example.com\nmetadata:\n  name: my-cluster\n';
const AGENT_CONFIG = 'apiVersion: v1alpha1\nmetadata:\n  name: my-cluster\nrendezvousIP: 192.168.1.100\n';

describe.runIf(ok)('web UI: releases', () => {
  let up: ReleaseUpstream;
  let reef: TestReef;
  let browser: Browser;
  const tokens = { admin: '', operator: '', viewer: '' };
  let admin: Record<string, string>;

  beforeAll(async () => {
    up = await startReleaseUpstream();
    await pushToolRelease({ registry: up.distribution.host, plainHttp: true, version: '4.21.0', arches: ['x86_64'], dir: join(up.dir, 'x86'), repo: COMPONENTS });
    // Big enough that a clone takes a few seconds on loopback: its counters are seen moving.
    await pushSyntheticRelease({ registry: up.distribution.host, plainHttp: true, version: '4.20.3', arch: 'x86_64', components: 40, imageBytes: 1024 * 1024, listEvery: 0, sourceHost: up.front.host, releaseRepo: COMPONENTS });
    reef = await startTestReef({ REEF_API_AUTH: 'token', REEF_CONFIG: up.configFile({ repository: COMPONENTS }), REEF_UI_STREAM_POLL: '250ms' });
    tokens.admin = readFileSync(join(reef.dataDir, 'admin.token'), 'utf8').trim();
    admin = { authorization: `Bearer ${tokens.admin}` };
    for (const role of ['viewer', 'operator'] as const) tokens[role] = (await reef.json('POST', '/api/v1/tokens', { name: `ui-${role}`, role }, admin)).body.token;
    expect((await reef.json('POST', '/admin/releases/discover', undefined, admin)).status).toBe(200);
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await reef?.stop();
    await up?.stop();
  });

  const status = async (v: string) => (await reef.json('GET', `/admin/releases/${v}/status`, undefined, admin)).body;
  const signedIn = async (role: 'operator' | 'viewer', viewport: { width: number; height: number } = VIEWPORTS.laptop): Promise<{ context: BrowserContext; page: Page; problems: { console: string[]; failed: string[] } }> => {
    const context = await browser.newContext({ viewport });
    const { page, problems } = await watchedPage(context);
    await page.goto(`${reef.url}/ui/login`);
    await page.getByLabel('API token').fill(tokens[role]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${reef.url}/ui`);
    return { context, page, problems };
  };

  it('a clone started from the Browse view shows its counters moving on the Cloning view until it is cloned, without moving the page', async () => {
    const { context, page, problems } = await signedIn('operator');
    await page.goto(`${reef.url}/ui/releases`);
    await page.getByRole('button', { name: 'Clone 4.20.3-x86_64' }).click();
    await page.waitForURL(/tab=cloning/);
    expect(await page.getByRole('status').textContent()).toContain('Clone of 4.20.3-x86_64 started');
    const card = page.locator('[data-release="4.20.3-x86_64"]');
    const history = page.getByRole('heading', { name: 'Clone history' });
    const seen = new Set<string>();
    const tops = new Set<number>();
    let state = '';
    for (let i = 0; i < 600 && state !== 'cloned' && state !== 'failed'; i++) {
      seen.add(`${await card.getByTestId('clone-blobs').textContent()} | ${await card.getByTestId('clone-bytes').textContent()}`);
      tops.add(Math.round((await history.boundingBox())!.y));
      state = ((await card.getByTestId('clone-state').textContent()) ?? '').trim();
      if (i === 5) await screenshot(page, 'releases-cloning-live-laptop');
      await page.waitForTimeout(100);
    }
    expect(state).toBe('cloned');
    expect(seen.size, [...seen].join('\n')).toBeGreaterThanOrEqual(3);
    expect(await card.getByTestId('clone-percent').textContent()).toBe('100 %');
    expect(await card.getByTestId('clone-components').textContent()).toBe('40 of 40 (100 %)');
    expect([...tops], 'the clone history heading never moved').toHaveLength(1);
    await page.reload();
    expect(await page.getByRole('table', { name: /clones/ }).textContent()).toMatch(/4\.20\.3-x86_64.*cloned/s);
    expect(problems).toEqual({ console: [], failed: [] });
    await context.close();
  }, 180_000);

  it('extraction from the release page makes it ready; the agent ISO form shows a bad document\'s error on its field, and a good one\'s ISO and boot links', async () => {
    expect((await reef.json('POST', '/admin/releases/clone', { version: '4.21.0-x86_64' }, admin)).status).toBe(202);
    await until(() => status('4.21.0-x86_64'), (s) => s.release.state === 'cloned', '4.21.0 cloned');
    const { context, page, problems } = await signedIn('operator');
    await page.goto(`${reef.url}/ui/releases/4.21.0-x86_64`);
    await page.getByRole('button', { name: 'Extract 4.21.0-x86_64' }).click();
    await page.waitForURL(/did=extract/);
    // The page follows the extraction by itself and shows the release ready, with its artifacts.
    await page.locator('.kv dd').first().filter({ hasText: /^ready$/ }).waitFor({ timeout: 60_000 });
    expect(await page.getByRole('link', { name: 'openshift-install', exact: true }).count()).toBe(1);

    await page.getByLabel('Paste the YAML').first().fill('metadata: [not closed');
    await page.getByLabel('Paste the YAML').nth(1).fill(AGENT_CONFIG);
    await page.getByRole('button', { name: 'Create agent ISO' }).click();
    await page.waitForLoadState();
    const field = page.locator('#install_config');
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await field.getAttribute('aria-describedby')).toBe('install_config-error');
    expect(await page.locator('#install_config-error').textContent()).toContain('is not YAML');
    expect(await page.locator('#agent_config').getAttribute('aria-invalid')).toBeNull();
    expect(await page.locator('#agent_config').inputValue()).toBe(AGENT_CONFIG);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'releases-iso-error-laptop');

    // The good documents, the install-config uploaded as a file this time.
    await page.getByLabel('Paste the YAML').first().fill('');
    await page.getByLabel('or upload the file').first().setInputFiles({ name: 'install-config.yaml', mimeType: 'text/yaml', buffer: Buffer.from(INSTALL_CONFIG) });
    await page.getByRole('button', { name: 'Create agent ISO' }).click();
    await page.getByTestId('iso-url').waitFor({ timeout: 120_000 });
    const isoUrl = await page.getByTestId('iso-url').getAttribute('href');
    expect(isoUrl).toMatch(/^\/files\/installs\/[0-9a-f-]{36}\/agent\.iso$/);
    const id = isoUrl!.split('/')[3]!;
    expect(await page.getByTestId('iso-boot').getAttribute('href')).toBe(`/boot.ipxe?iso=${id}`);
    expect((await reef.req(isoUrl!, { method: 'HEAD' })).status).toBe(200);
    expect(await (await reef.req(`/boot.ipxe?iso=${id}`)).text()).toContain(id);
    await screenshot(page, 'releases-iso-created-laptop');
    // A download, for the Client Downloads view.
    const oc = await reef.req('/files/releases/4.21.0/oc');
    expect(oc.status).toBe(200);
    await oc.arrayBuffer();
    // The form's 400 with the error is the one failure asked for (Chromium logs it too).
    expect(problems.console).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    expect(problems.failed).toEqual([`POST ${reef.url}/ui/releases/4.21.0-x86_64/iso: 400`]);
    await context.close();
  }, 240_000);

  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    it(`every view loads clean and accessible at ${viewport.width}×${viewport.height}`, async () => {
      const { context, page, problems } = await signedIn('operator', viewport);
      for (const tab of TABS) {
        await page.goto(`${reef.url}/ui/releases?tab=${tab}`);
        await timesLocalised(page);
        expect(await page.locator('nav.tabs [aria-current="page"]').count(), tab).toBe(1);
        expect(await seriousViolations(page), tab).toEqual([]);
        await screenshot(page, `releases-${tab}-${size}`);
      }
      // The views hold what happened above.
      await page.goto(`${reef.url}/ui/releases?tab=downloads`);
      expect(await page.getByTestId('downloads-total').textContent()).toBe('1');
      await page.goto(`${reef.url}/ui/releases?tab=events&severity=success&type=cloned`);
      const rows = await page.getByRole('table', { name: /events/ }).locator('tbody tr').allTextContents();
      expect(rows.length).toBe(2);
      for (const r of rows) expect(r).toMatch(/successcloned/);
      await page.goto(`${reef.url}/ui/releases?tab=log`);
      const log = (await page.getByLabel('Release log').textContent())!.trim().split('\n');
      const newest = (await reef.json('GET', '/admin/releases/events?limit=1', undefined, admin)).body.events[0];
      expect(log.at(-1)).toContain(`${newest.type} ${newest.version}`);
      await page.goto(`${reef.url}/ui/releases/4.21.0-x86_64`);
      await timesLocalised(page);
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, `releases-detail-${size}`);
      // Keyboard: the tabs are links in the tab order, with a visible focus ring.
      await page.goto(`${reef.url}/ui/releases?tab=browse`);
      await page.locator('nav.tabs a').first().focus();
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement.textContent')).toBe('News');
      expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
      await page.keyboard.press('Enter');
      await page.waitForURL(/tab=news/);
      expect(problems).toEqual({ console: [], failed: [] });
      await context.close();
    }, 120_000);
  }

  it('offers a viewer no action, and refuses a forged POST (a viewer\'s, or an operator\'s without the CSRF token)', async () => {
    const { context, page, problems } = await signedIn('viewer');
    for (const path of [...TABS.map((t) => `/ui/releases?tab=${t}`), '/ui/releases/4.21.0-x86_64', '/ui/releases/4.20.3-x86_64']) {
      await page.goto(`${reef.url}${path}`);
      expect(await page.locator('form[method="post"]:not([action="/ui/logout"])').count(), path).toBe(0);
      expect(await page.getByRole('button', { name: /Clone|Extract|Reset|Verify|Discover|agent ISO/ }).count(), path).toBe(0);
    }
    await screenshot(page, 'releases-viewer-browse-laptop');
    expect(problems).toEqual({ console: [], failed: [] });
    await context.close();

    const viewer = await signIn(reef, tokens.viewer);
    const operator = await signIn(reef, tokens.operator);
    for (const [path, fields] of [
      ['/ui/releases/4.20.3-x86_64/reset', {}],
      ['/ui/releases/clone', { version: '4.20.3-x86_64' }],
      ['/ui/releases/discover', {}],
    ] as [string, Record<string, string>][]) {
      expect((await postForm(reef, path, viewer, { ...fields, _csrf: viewer.csrf })).status, `viewer ${path}`).toBe(403);
      const forged = await postForm(reef, path, operator, fields);
      expect(forged.status, `no CSRF ${path}`).toBe(403);
      expect(await forged.text()).toContain('CSRF');
    }
    expect((await status('4.20.3-x86_64')).release.state).toBe('cloned');
    // A version that is none is named on the clone form's field.
    const bad = await postForm(reef, '/ui/releases/clone', operator, { _csrf: operator.csrf, version: '4.21' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/id="clone-version-error">version: expected a release tag like 4\.21\.0-x86_64/);
    // The operator's own token goes through.
    const reset = await postForm(reef, '/ui/releases/4.20.3-x86_64/verify', operator, { _csrf: operator.csrf });
    expect(reset.status).toBe(303);
    expect(reset.headers.get('location')).toBe('/ui/releases/4.20.3-x86_64?did=verify');
  });
});
