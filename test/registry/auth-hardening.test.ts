/**
 * /v2 htpasswd authentication as an attacker or an unlucky operator meets it: the cost of a wrong
 * password does not tell which users exist, a burst of failures is slowed, a user removed from
 * the file loses access at once, a missing file is a clear answer and not a 500.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-auth-'));
const started: TestReef[] = [];
afterEach(async () => {
  for (const r of started.splice(0)) await r.stop();
});

/** An htpasswd file as `htpasswd -B` writes it ($2y$, cost 10). */
const writeUsers = (file: string, users: Record<string, string>) =>
  writeFileSync(file, Object.entries(users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 10).replace(/^\$2b\$/, '$2y$')}\n`).join(''));

const start = async (name: string, users: Record<string, string>) => {
  const file = join(dir, name);
  writeUsers(file, users);
  const reef = await startTestReef({ REGISTRY_AUTH_MODE: 'htpasswd', REGISTRY_HTPASSWD_FILE: file });
  started.push(reef);
  return { reef, file };
};
const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
const ping = (reef: TestReef, user: string, pass: string) => reef.req('/v2/', { headers: basic(user, pass) });
const timed = async (fn: () => Promise<Response>) => {
  const t = performance.now();
  const res = await fn();
  await res.arrayBuffer();
  return { ms: performance.now() - t, status: res.status };
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('htpasswd hardening', () => {
  it('a wrong password costs the same for an unknown user as for a known one', async () => {
    const { reef } = await start('timing', { ci: 'right pass' });
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 4; i++) {
      const k = await timed(() => ping(reef, 'ci', `wrong ${i}`));
      const u = await timed(() => ping(reef, `nobody-${i}`, `wrong ${i}`));
      expect([k.status, u.status]).toEqual([401, 401]);
      known.push(k.ms);
      unknown.push(u.ms);
    }
    // Before: an unknown user was refused without hashing, about 50 times faster than a known one.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.3);
  });

  it('a burst of failures for one user from one address is answered 429 with Retry-After; others from that address are not locked out', async () => {
    const { reef } = await start('burst', { ci: 'right pass', agent: 'agent pass' });
    expect((await ping(reef, 'agent', 'agent pass')).status).toBe(200); // verified before the burst
    for (let i = 0; i < 10; i++) expect((await ping(reef, 'ci', `wrong ${i}`)).status).toBe(401);
    const res = await ping(reef, 'ci', 'right pass');
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as any).errors[0].code).toBe('TOOMANYREQUESTS');
    // Another machine behind the same NAT or proxy, with its own credentials, still gets in.
    expect((await ping(reef, 'agent', 'agent pass')).status).toBe(200);
  });

  it('a user removed from the file loses access at the next request, even just after logging in', async () => {
    const { reef, file } = await start('removal', { ci: 'right pass', other: 'x' });
    expect((await ping(reef, 'ci', 'right pass')).status).toBe(200);
    writeUsers(file, { other: 'x' });
    expect((await ping(reef, 'ci', 'right pass')).status).toBe(401);
    expect((await ping(reef, 'other', 'x')).status).toBe(200);
  });

  it('a password file gone at run time is a 503 naming the cause, not a 500; back in place, logins work again', async () => {
    const { reef, file } = await start('missing', { ci: 'right pass' });
    expect((await ping(reef, 'ci', 'right pass')).status).toBe(200);
    renameSync(file, `${file}.moved`);
    const res = await ping(reef, 'ci', 'right pass');
    expect(res.status).toBe(503);
    const body = (await res.json()) as any;
    expect(body.errors[0].code).toBe('UNAVAILABLE');
    expect(body.errors[0].message).toMatch(/cannot read its password file/);
    renameSync(`${file}.moved`, file);
    expect((await ping(reef, 'ci', 'right pass')).status).toBe(200);
  });

  it('a missing file stops the start with a message naming the setting', async () => {
    await expect(startTestReef({ REGISTRY_AUTH_MODE: 'htpasswd', REGISTRY_HTPASSWD_FILE: join(dir, 'nope') })).rejects.toThrow(/REGISTRY_HTPASSWD_FILE: .*does not exist/);
  });
});

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
