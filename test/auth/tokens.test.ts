import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/controller/config.js';
import { startReef, type RunningReef } from '../../src/controller/main.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { reefResult } from '../helpers/process.js';

/** A reef whose log lines are kept, to check what reaches them. */
const startLogged = async (dataDir: string, env: Record<string, string> = {}) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig({ REEF_LISTEN: '127.0.0.1:0', REEF_DATA_DIR: dataDir, ...env } as NodeJS.ProcessEnv);
  const reef = await startReef(config, { log: pino({ level: 'info' }, sink) });
  return { reef, lines };
};

const call = async (reef: RunningReef, method: string, path: string, token?: string, body?: unknown) => {
  const res = await fetch(`${reef.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
};

describe('API tokens', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'reef-tokens-'));
  let reef: RunningReef;
  let lines: string[];
  let admin: string;
  const secrets: string[] = [];

  beforeAll(async () => {
    ({ reef, lines } = await startLogged(dataDir, { REEF_API_AUTH: 'token', REEF_AUTH_FAILURES: '5', REEF_METRICS_AUTH: 'token' }));
    admin = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    secrets.push(admin);
  });
  afterAll(async () => reef?.close());

  it('makes an admin token at first start, in <data>/admin.token (0600), says where, and never logs it', async () => {
    expect(admin).toMatch(/^reef_[A-Za-z0-9_-]{43}$/);
    expect(statSync(join(dataDir, 'admin.token')).mode & 0o777).toBe(0o600);
    expect(lines.some((l) => l.includes(join(dataDir, 'admin.token')))).toBe(true);
    expect((await call(reef, 'GET', '/api/v1/tokens', admin)).body.items.map((t: { name: string; role: string }) => `${t.name}:${t.role}`)).toEqual(['admin:admin']);
  });

  it('shows a token once; an operator may not make tokens; a revoked token is refused', async () => {
    const made = await call(reef, 'POST', '/api/v1/tokens', admin, { name: 'ci', role: 'operator', expires: '90d' });
    expect(made.status).toBe(201);
    expect(made.headers.get('cache-control')).toBe('no-store');
    const ci = made.body.token as string;
    secrets.push(ci);
    expect(Date.parse(made.body.expires_at) - Date.now()).toBeGreaterThan(89 * 86_400_000);
    const listed = await call(reef, 'GET', '/api/v1/tokens', admin);
    expect(JSON.stringify(listed.body)).not.toContain(ci);
    expect(listed.body.items.find((t: { name: string }) => t.name === 'ci').last_used_at).toBeNull();

    const recipe = JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8'));
    expect((await call(reef, 'POST', '/api/v1/recipes', ci, { ...recipe, name: 'r1' })).status).toBe(201);
    const denied = await call(reef, 'POST', '/api/v1/tokens', ci, { name: 'mine', role: 'admin' });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('needs admin');
    expect(denied.body.error.message).not.toContain(ci);
    expect((await call(reef, 'GET', '/api/v1/tokens', admin)).body.items.find((t: { name: string }) => t.name === 'ci').last_used_at).not.toBeNull();

    expect((await call(reef, 'POST', '/api/v1/tokens', admin, { name: 'ci', role: 'viewer' })).status).toBe(409);
    const bad = await call(reef, 'POST', '/api/v1/tokens', admin, { name: 'x y', role: 'root' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['name', 'role']);

    expect((await call(reef, 'DELETE', '/api/v1/tokens/ci', admin)).status).toBe(204);
    const revoked = await call(reef, 'GET', '/api/v1/jobs', ci);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toBe('the API token is not valid');
  });

  it('refuses an expired token, saying it expired', async () => {
    const made = await call(reef, 'POST', '/api/v1/tokens', admin, { name: 'brief', role: 'viewer', expires: '1s' });
    secrets.push(made.body.token);
    expect((await call(reef, 'GET', '/api/v1/jobs', made.body.token)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const late = await call(reef, 'GET', '/api/v1/jobs', made.body.token);
    expect(late.status).toBe(401);
    expect(late.body.error.message).toBe('the API token has expired');
  });

  it('records every change with the token name in the audit, for admins only; no token or recipe secret reaches the log or the audit', async () => {
    // A recipe carrying secrets, accepted once and refused once (the refusal names the field, not its value).
    const recipe = JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8'));
    const passwd = '$6$rounds=4096$Zz9SeCrEt$doNotLogMe';
    const withSecret = { ...recipe, name: 'with-secret', cloud_init: { users: [{ name: 'ops', passwd }] } };
    expect((await call(reef, 'POST', '/api/v1/recipes', admin, withSecret)).status).toBe(201);
    const refused = await call(reef, 'POST', '/api/v1/recipes', admin, { ...withSecret, name: 'bad', cloud_init: { users: [{ name: 'Bad Name', passwd }] } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).not.toContain(passwd);
    secrets.push(passwd, 'doNotLogMe');
    const audit = await call(reef, 'GET', '/api/v1/audit', admin);
    expect(audit.status).toBe(200);
    const entries = audit.body.items as { actor: string; method: string; path: string; status: number; object: string | null; source: string; request_id: string }[];
    const made = entries.find((e) => e.method === 'POST' && e.object === 'recipe:r1');
    expect(made).toMatchObject({ actor: 'ci', source: '127.0.0.1', object: 'recipe:r1' });
    expect(made!.request_id).toMatch(/\S/);
    expect(entries.find((e) => e.method === 'DELETE' && e.path === '/api/v1/tokens/ci')).toMatchObject({ actor: 'admin', status: 204, object: 'token:ci' });
    expect(entries.find((e) => e.path === '/api/v1/tokens' && e.status === 403)).toMatchObject({ actor: 'ci' });
    expect(entries.filter((e) => e.method === 'GET')).toEqual([]);
    expect((await call(reef, 'GET', '/api/v1/audit?actor=admin', admin)).body.items.every((e: { actor: string }) => e.actor === 'admin')).toBe(true);
    expect(lines.filter((l) => JSON.parse(l).msg === 'audit').length).toBeGreaterThanOrEqual(entries.length);

    const everything = lines.join('\n') + JSON.stringify(audit.body);
    for (const s of secrets) expect(everything).not.toContain(s);
  });

  it('/metrics needs a viewer token with REEF_METRICS_AUTH=token', async () => {
    expect((await call(reef, 'GET', '/metrics')).status).toBe(401);
    const viewer = await call(reef, 'POST', '/api/v1/tokens', admin, { name: 'scraper', role: 'viewer' });
    secrets.push(viewer.body.token);
    const res = await fetch(`${reef.url}/metrics`, { headers: { authorization: `Bearer ${viewer.body.token}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('reef_');
  });

  it('reef token create/list/revoke work on the box against the data directory', async () => {
    const env = { REEF_DATA_DIR: dataDir };
    const made = await reefResult(['token', 'create', '--name', 'cli', '--role', 'viewer', '--expires', '30d'], env);
    expect(made.code).toBe(0);
    const token = made.stdout.trim();
    expect(token).toMatch(/^reef_[A-Za-z0-9_-]{43}$/);
    expect(made.stderr).toContain('shown only now');
    expect((await call(reef, 'GET', '/api/v1/jobs', token)).status).toBe(200);
    const list = await reefResult(['token', 'list'], env);
    expect(list.stdout).toMatch(/^cli\s+viewer\s/m);
    expect(list.stdout).not.toContain(token);
    const bad = await reefResult(['token', 'create', '--name', 'x', '--role', 'boss'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--role');
    expect((await reefResult(['token', 'revoke', 'cli'], env)).code).toBe(0);
    expect((await call(reef, 'GET', '/api/v1/jobs', token)).status).toBe(401);
  });
  it('answers 429 with Retry-After after a burst of wrong tokens from one address; a good token from there still works', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await call(reef, 'GET', '/api/v1/jobs', `reef_wrong${i}`)).status);
    // The revoked (twice) and the expired token above were three failures already (limit 5 a minute).
    expect(statuses).toEqual([401, 401, 429, 429, 429, 429, 429]);
    const limited = await call(reef, 'GET', '/api/v1/jobs', 'reef_wrong');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.error.code).toBe('TOO_MANY_REQUESTS');
    expect((await call(reef, 'GET', '/api/v1/jobs', admin)).status).toBe(200);
  });

});

describe('start-up warnings about open doors', () => {
  it('warns when the registry takes anonymous pushes beyond loopback, and at every start with REEF_API_AUTH=none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-doors-'));
    const open = await startLogged(dir, { REEF_LISTEN: '0.0.0.0:0', REEF_API_AUTH: 'none' });
    await open.reef.close();
    expect(open.lines.some((l) => l.includes('the registry accepts anonymous pushes'))).toBe(true);
    expect(open.lines.some((l) => l.includes('REEF_API_AUTH=none'))).toBe(true);
    const closed = await startLogged(dir, { REGISTRY_AUTH_MODE: 'token' });
    await closed.reef.close();
    expect(closed.lines.some((l) => l.includes('anonymous pushes') || l.includes('REEF_API_AUTH=none'))).toBe(false);
    // The admin token was made at the first start only.
    expect(closed.lines.some((l) => l.includes('admin.token'))).toBe(false);
  });
});

describe('audit corners', () => {
  it('records anonymous registry pushes (REGISTRY_AUTH_MODE=none) as anonymous, and a malformed escape as a 403, not a 500', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-audit-'));
    const { reef } = await startLogged(dir, { REEF_API_AUTH: 'token' });
    try {
      const file = join(dir, 'payload.bin');
      writeFileSync(file, 'a small artifact\n');
      const pushed = await reefResult(['push', `${new URL(reef.url).host}/tools/thing:1`, file]);
      expect(pushed.code, pushed.stderr).toBe(0);
      const admin = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
      const viewer = (await call(reef, 'POST', '/api/v1/tokens', admin, { name: 'v', role: 'viewer' })).body.token as string;
      const res = await fetch(`${reef.url}/api/v1/recipes/%E0%A4%A`, { method: 'DELETE', headers: { authorization: `Bearer ${viewer}` } });
      expect(res.status).toBe(403);
      const items = (await call(reef, 'GET', '/api/v1/audit', admin)).body.items as { actor: string; method: string; object: string; status: number }[];
      expect(items.find((e) => e.method === 'PUT')).toMatchObject({ actor: 'anonymous', object: 'manifest:tools/thing@1', status: 201 });
      expect(items.find((e) => e.method === 'DELETE')).toMatchObject({ actor: 'v', object: 'recipe:%E0%A4%A', status: 403 });
    } finally {
      await reef.close();
    }
  });
});
