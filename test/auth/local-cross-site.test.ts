/**
 * REEF_API_AUTH=local trusts loopback clients (curl, reef's CLI), not every page a browser on the
 * controller opens: a change a browser was made to send by another page (Sec-Fetch-Site other
 * than same-origin/none, or an Origin that is not reef) needs a token. Reads stay open from
 * loopback, and the GET forms of release reset/verify/extract count as changes: guarded and audited.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';

const recipe = (name: string) => ({ ...JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8')), name });

describe('REEF_API_AUTH=local: changes a web page asked a local browser to make', () => {
  let reef: TestReef;
  beforeAll(async () => {
    reef = await startTestReef();
  });
  afterAll(async () => reef?.stop());

  it('refuses a POST sent for another site or another port of this host, naming why', async () => {
    const asked: Record<string, string>[] = [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'http://127.0.0.1:3000' }, { origin: 'null' }];
    for (const headers of asked) {
      const r = await reef.json('POST', '/api/v1/recipes', recipe('xsite'), headers);
      expect(r.status, JSON.stringify(headers)).toBe(401);
      expect(r.body.error.message).toContain('came from a web page');
    }
    expect((await reef.json('GET', '/api/v1/recipes/xsite')).status).toBe(404);
  });

  it('takes the same change from curl-like clients and from reef’s own pages', async () => {
    const host = new URL(reef.url).host;
    expect((await reef.json('POST', '/api/v1/recipes', recipe('direct'))).status).toBe(201);
    expect((await reef.json('POST', '/api/v1/recipes', recipe('same-origin'), { 'sec-fetch-site': 'same-origin', origin: `http://${host}` })).status).toBe(201);
    expect((await reef.json('POST', '/api/v1/recipes', recipe('typed'), { 'sec-fetch-site': 'none' })).status).toBe(201);
  });

  it('leaves reads open from loopback, whoever asked', async () => {
    expect((await reef.json('GET', '/api/v1/recipes', undefined, { 'sec-fetch-site': 'cross-site' })).status).toBe(200);
  });

  it('treats GET …/reset as a change: an <img> on another page cannot trigger it, and a direct one is audited', async () => {
    const img = await reef.json('GET', '/admin/releases/4.20.3/reset', undefined, { 'sec-fetch-site': 'cross-site' });
    expect(img.status).toBe(401);
    const direct = await reef.json('GET', '/admin/releases/4.20.3/reset');
    expect(direct.status).not.toBe(401);
    const audit = (await reef.json('GET', '/api/v1/audit')).body.items as { method: string; path: string; actor: string; status: number }[];
    expect(audit.find((e) => e.method === 'GET' && e.path === '/admin/releases/4.20.3/reset')).toMatchObject({ actor: 'local', status: direct.status });
  });
});
