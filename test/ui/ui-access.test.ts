import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_TABLE } from '../../src/controller/auth/route-rules.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { haveChromium, launchChromium, screenshot, seriousViolations, watchedPage } from './helpers/browser.js';
import { type Seeded, seed } from './helpers/seed.js';
import { postForm, signIn, type UiSessionCookie } from './helpers/session.js';

const RANK = { viewer: 0, operator: 1, admin: 2 } as const;
type Role = keyof typeof RANK;

/**
 * Who may use the web UI under REEF_API_AUTH=token: sign-in with an API token, a session that
 * ends with its token, what a viewer is offered (nothing that writes) and refused, and the CSRF
 * token every change must carry.
 */
describe('web UI access', () => {
  let reef: TestReef;
  let data: Seeded;
  const tokens = {} as Record<Role, string>;
  const sessions = {} as Record<Role, UiSessionCookie>;
  beforeAll(async () => {
    reef = await startTestReef({ REEF_API_AUTH: 'token', REEF_AUTH_FAILURES: '5' });
    tokens.admin = readFileSync(join(reef.dataDir, 'admin.token'), 'utf8').trim();
    const admin = { authorization: `Bearer ${tokens.admin}` };
    data = await seed(reef, admin);
    for (const role of ['viewer', 'operator'] as const) {
      tokens[role] = (await reef.json('POST', '/api/v1/tokens', { name: `ui-${role}`, role }, admin)).body.token;
    }
    for (const role of ['viewer', 'operator', 'admin'] as const) sessions[role] = await signIn(reef, tokens[role]);
  });
  afterAll(async () => reef?.stop());

  it('sends a visitor to the sign-in form, and back to the page after it; a wrong token is named on the field', async () => {
    const res = await reef.req('/ui/jobs?status=failed', { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/login?next=%2Fui%2Fjobs');
    const form = await reef.req('/ui/login');
    const cookie = /reef_ui=[^;]*/.exec(form.headers.get('set-cookie')!)![0];
    expect(form.headers.get('set-cookie')).toMatch(/HttpOnly/);
    expect(form.headers.get('set-cookie')).toMatch(/SameSite=Strict/);
    expect(form.headers.get('set-cookie')).toMatch(/Path=\/ui/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const wrong = await postForm(reef, '/ui/login', { cookie }, { _csrf: csrf, token: 'reef_not-a-token', next: '/ui/jobs' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('token: this token is not valid');
    // A login form posted from elsewhere (no CSRF token) is refused before the token is looked at.
    expect((await postForm(reef, '/ui/login', { cookie }, { token: tokens.viewer })).status).toBe(403);
    const good = await postForm(reef, '/ui/login', { cookie }, { _csrf: csrf, token: tokens.viewer, next: '/ui/jobs' });
    expect(good.status).toBe(303);
    expect(good.headers.get('location')).toBe('/ui/jobs');
    // Only paths under /ui are followed after sign-in.
    const away = await postForm(reef, '/ui/login', { cookie }, { _csrf: csrf, token: tokens.viewer, next: '//evil.example/ui' });
    expect(away.headers.get('location')).toBe('/ui');
  });

  it('refuses a change without the session\'s CSRF token, or with another session\'s, and takes it with its own', async () => {
    const job = data.jobs[0]!;
    const cancel = `/ui/jobs/${job.id}/cancel`;
    const op = sessions.operator;
    for (const fields of [{}, { _csrf: 'forged' }, { _csrf: sessions.admin.csrf }] as Record<string, string>[]) {
      const res = await postForm(reef, cancel, op, fields);
      expect(res.status, JSON.stringify(fields)).toBe(403);
      expect(await res.text()).toContain('CSRF');
    }
    expect((await reef.json('GET', `/api/v1/jobs/${job.id}`, undefined, { authorization: `Bearer ${tokens.admin}` })).body.status).toBe('queued');
    const ok = await postForm(reef, cancel, op, { _csrf: op.csrf });
    expect(ok.status).toBe(303);
    expect((await reef.json('GET', `/api/v1/jobs/${job.id}`, undefined, { authorization: `Bearer ${tokens.admin}` })).body.status).toBe('canceled');
    // The change is in the audit, under the token's name.
    const audit = (await reef.json('GET', '/api/v1/audit?actor=ui-operator', undefined, { authorization: `Bearer ${tokens.admin}` })).body.items;
    expect(audit[0]).toMatchObject({ method: 'POST', path: cancel, status: 303, object: `job:${job.id}` });
    expect(audit.filter((a: { status: number }) => a.status === 403)).toHaveLength(3);
  });

  it('bounds a form before reading it: over REEF_MAX_BODY is 413, with no length 400, and nothing is changed', async () => {
    const op = sessions.operator;
    const big = await reef.req('/ui/recipes', {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: op.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: op.csrf, name: 'huge', rest: 'x'.repeat(2 * 1024 * 1024) }).toString(),
    });
    expect(big.status, await big.clone().text()).toBe(413);
    const chunked = await reef.req('/ui/recipes', {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: op.cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': op.csrf },
      body: new ReadableStream({ start: (ctl) => { ctl.enqueue(new TextEncoder().encode('name=chunked')); ctl.close(); } }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(400);
    expect(await chunked.text()).toContain('a web UI form must say its length');
    expect((await reef.json('GET', '/api/v1/recipes', undefined, { authorization: `Bearer ${tokens.admin}` })).body.items.map((r: { name: string }) => r.name)).toEqual(['ubuntu', 'windows']);
  });

  it('gives each role exactly the UI routes its rule allows', async () => {
    const seen: string[] = [];
    for (const d of ROUTE_TABLE.filter((r) => r.ui && r.rule in RANK)) {
      const path = d.path.replace(':id', data.jobs[3]!.id).replace(':name', 'ubuntu').replace(':kind', 'discovery');
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const s = sessions[role];
        const res = d.method === 'GET' ? await reef.req(path, { redirect: 'manual', headers: { cookie: s.cookie } }) : await postForm(reef, path, s, { _csrf: s.csrf });
        await res.arrayBuffer();
        if (RANK[role] >= RANK[d.rule as Role]) expect([401, 403], `${role} ${d.method} ${path}`).not.toContain(res.status);
        else expect(res.status, `${role} ${d.method} ${path}`).toBe(403);
        seen.push(`${role} ${d.method} ${path}`);
      }
    }
    expect(seen.length).toBeGreaterThan(60);
  });

  it('ends a session when its token is revoked, and ignores a cookie that was tampered with', async () => {
    const admin = { authorization: `Bearer ${tokens.admin}` };
    const t = (await reef.json('POST', '/api/v1/tokens', { name: 'ui-short', role: 'operator' }, admin)).body.token;
    const s = await signIn(reef, t);
    expect((await reef.req('/ui/recipes', { headers: { cookie: s.cookie } })).status).toBe(200);
    const [body, sig] = s.cookie.slice('reef_ui='.length).split('.');
    const claims = JSON.parse(Buffer.from(body!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, n: 'admin' })).toString('base64url');
    expect((await reef.req('/ui/audit', { redirect: 'manual', headers: { cookie: `reef_ui=${forged}.${sig}` } })).status).toBe(303);
    expect((await reef.json('DELETE', '/api/v1/tokens/ui-short', undefined, admin)).status).toBe(204);
    const after = await reef.req('/ui/recipes', { redirect: 'manual', headers: { cookie: s.cookie } });
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toMatch(/^\/ui\/login/);
  });

  it('answers 429 with Retry-After past REEF_AUTH_FAILURES wrong sign-ins from one address; a good token still signs in', async () => {
    const form = await reef.req('/ui/login');
    const cookie = /reef_ui=[^;]*/.exec(form.headers.get('set-cookie')!)![0];
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await postForm(reef, '/ui/login', { cookie }, { _csrf: csrf, token: `reef_wrong-${i}` });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(await res.text()).toContain('too many failed sign-ins');
      }
    }
    // One wrong try was made by the first test; the limit is 5 a minute.
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    expect((await postForm(reef, '/ui/login', { cookie }, { _csrf: csrf, token: tokens.viewer })).status).toBe(303);
  });

  describe.skipIf(!haveChromium())('in Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(async () => browser?.close());

    it('a viewer signs in with a token and is offered no write control anywhere', async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const { page, problems } = await watchedPage(context);
      await page.goto(`${reef.url}/ui/recipes`);
      expect(page.url()).toContain('/ui/login?next=%2Fui%2Frecipes');
      expect(await seriousViolations(page)).toEqual([]);
      await page.getByLabel('API token').fill(tokens.viewer);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${reef.url}/ui/recipes`);
      expect(await page.locator('header').textContent()).toContain('ui-viewer (viewer)');
      const cookie = (await context.cookies()).find((c) => c.name === 'reef_ui')!;
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/ui' });

      const active = data.jobs[1]!.id;
      for (const path of ['/ui', '/ui/jobs', `/ui/jobs/${active}`, '/ui/recipes', '/ui/recipes/ubuntu', '/ui/registry', '/ui/mirror', '/ui/machines', '/ui/isos', '/ui/prestage']) {
        await page.goto(`${reef.url}${path}`);
        // Nothing that writes: no form but search filters and sign-out, no edit or create links.
        const writeForms = await page.locator('form[method="post"]:not([action="/ui/logout"])').count();
        expect(writeForms, `write forms on ${path}`).toBe(0);
        expect(await page.getByRole('link', { name: /^(Edit|New recipe)$/ }).count(), path).toBe(0);
        expect(await page.getByRole('link', { name: 'Audit' }).count(), path).toBe(0);
        if (path === '/ui/registry') await screenshot(page, 'viewer-registry-laptop');
      }
      const audit = await page.goto(`${reef.url}/ui/audit`);
      expect(audit?.status()).toBe(403);
      expect(await page.locator('main').textContent()).toContain('needs admin');
      // The 403 just asked for is the only failure.
      expect(problems.failed).toEqual([`GET ${reef.url}/ui/audit: 403`]);

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/ui\/login/);
      await page.goto(`${reef.url}/ui`);
      expect(page.url()).toContain('/ui/login');
      await context.close();
    });
  });
});
