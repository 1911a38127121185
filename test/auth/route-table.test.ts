import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_TABLE, type RouteDeclaration } from '../../src/controller/auth/route-rules.js';
import { startTestReef, type TestReef } from '../helpers/server.js';

const ROLES = ['viewer', 'operator', 'admin'] as const;
const RANK = { viewer: 0, operator: 1, admin: 2 } as const;

/** A concrete request path for a declared route: params and wildcards filled with harmless values. */
const concrete = (d: RouteDeclaration) => d.path.replace(/:[A-Za-z]+/g, 'no-such-thing').replace(/\*$/, 'library/none/tags/list');

describe('the route table', () => {
  let reef: TestReef;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    reef = await startTestReef({ REEF_API_AUTH: 'token' });
    const admin = readFileSync(join(reef.dataDir, 'admin.token'), 'utf8').trim();
    tokens.admin = admin;
    for (const role of ['viewer', 'operator'] as const) {
      const r = await reef.json('POST', '/api/v1/tokens', { name: `t-${role}`, role }, { authorization: `Bearer ${admin}` });
      expect(r.status).toBe(201);
      tokens[role] = r.body.token;
    }
  });
  afterAll(async () => reef?.stop());

  it('declares every route the app serves, and nothing it does not', () => {
    const served = reef.declaredRoutes().map((r) => `${r.method} ${r.path}`);
    const declared = ROUTE_TABLE.map((d) => `${d.method} ${d.path}`);
    expect(served.filter((r) => !declared.includes(r))).toEqual([]);
    expect(declared.filter((d) => !served.includes(d))).toEqual([]);
    expect(served.length).toBeGreaterThan(30);
  });

  // The web UI's routes sign in by session cookie, not bearer token: test/ui/ui-access.test.ts checks them.
  const roleRoutes = ROUTE_TABLE.filter((d) => !d.ui && (d.rule === 'viewer' || d.rule === 'operator' || d.rule === 'admin'));

  it('refuses every role-ruled route without a token (401), and below its role (403), from loopback too under REEF_API_AUTH=token', async () => {
    const seen: string[] = [];
    for (const d of roleRoutes) {
      const path = concrete(d);
      const init = (token?: string): RequestInit => ({
        method: d.method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(d.method === 'GET' ? {} : { body: '{}' }),
      });
      const anonymous = await reef.req(path, init());
      expect(anonymous.status, `${d.method} ${d.path} without a token`).toBe(401);
      expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      for (const role of ROLES) {
        const res = await reef.req(path, init(tokens[role]));
        await res.arrayBuffer();
        const allowed = RANK[role] >= RANK[d.rule as keyof typeof RANK];
        if (allowed) expect([401, 403], `${role} on ${d.method} ${d.path}`).not.toContain(res.status);
        else expect(res.status, `${role} on ${d.method} ${d.path}`).toBe(403);
        seen.push(`${role} ${d.method} ${d.path} ${res.status}`);
      }
    }
    expect(seen.length).toBe(roleRoutes.length * 3);
  });

  it('leaves machine-facing routes to their own checks: an API token opens none of them', async () => {
    for (const d of ROUTE_TABLE.filter((r) => r.rule === 'job-token' || r.rule === 'webhook')) {
      const res = await reef.req(concrete(d), { method: d.method, headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' }, ...(d.method === 'GET' ? {} : { body: '{}' }) });
      expect(res.status, `${d.method} ${d.path}`).toBeGreaterThanOrEqual(400);
      expect(res.status).not.toBe(500);
    }
    for (const path of ['/healthz', '/readyz', '/boot.ipxe?mac=52:54:00:12:34:56', '/metrics', '/api/v1/openapi.json']) {
      expect((await reef.req(path)).status, path).toBe(200);
    }
  });

  it('answers an unknown path as the strictest rule: 401 without a token', async () => {
    expect((await reef.req('/api/v1/nothing-here')).status).toBe(401);
    expect((await reef.req('/api/v1/nothing-here', { headers: { authorization: `Bearer ${tokens.admin}` } })).status).toBe(404);
  });
});
