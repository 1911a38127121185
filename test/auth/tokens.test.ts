import { readFileSync, statSync } from 'node:fs';
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
    ({ reef, lines } = await startLogged(dataDir, { REEF_API_AUTH: 'token', REEF_AUTH_FAILURES: '5' }));
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

  it('records every change with the token name in the audit, for admins only; no token reaches the log or the audit', async () => {
    const audit = await call(reef, 'GET', '/api/v1/audit', admin);
    expect(audit.status).toBe(200);
    const entries = audit.body.items as { actor: string; method: string; path: string; status: number; object: string | null; source: string; request_id: string }[];
    const made = entries.find((e) => e.method === 'POST' && e.path === '/api/v1/recipes');
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
  it('answers 429 with Retry-After after a burst of wrong tokens from one address, and a good token still fails then', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await call(reef, 'GET', '/api/v1/jobs', `reef_wrong${i}`)).status);
    // The revoked (twice) and the expired token above were three failures already (limit 5 a minute).
    expect(statuses).toEqual([401, 401, 429, 429, 429, 429, 429]);
    const limited = await call(reef, 'GET', '/api/v1/jobs', 'reef_wrong');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.error.code).toBe('TOO_MANY_REQUESTS');
  });

});
