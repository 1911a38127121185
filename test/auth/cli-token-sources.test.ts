/**
 * `reef gc` against a reef that demands tokens: the token comes from --token-file or REEF_TOKEN
 * (never seen in `ps`), and --token still works but warns that it is visible.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reefResult } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';

describe('reef gc: where the API token comes from', () => {
  let reef: TestReef;
  let token: string;
  const dir = mkdtempSync(join(tmpdir(), 'reef-cli-token-'));
  beforeAll(async () => {
    reef = await startTestReef({ REEF_API_AUTH: 'token' });
    const admin = readFileSync(join(reef.dataDir, 'admin.token'), 'utf8').trim();
    const r = await reef.json('POST', '/api/v1/tokens', { name: 'gc-op', role: 'operator' }, { authorization: `Bearer ${admin}` });
    expect(r.status).toBe(201);
    token = r.body.token;
    writeFileSync(join(dir, 'op.token'), `${token}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await reef?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is refused without a token (HTTP 401)', async () => {
    const r = await reefResult(['gc', '--dry-run', '--server', reef.url], { REEF_TOKEN: '' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('HTTP 401');
  });

  it('takes it from --token-file, and from REEF_TOKEN, without a warning', async () => {
    for (const [args, env] of [[['--token-file', join(dir, 'op.token')], {}], [[], { REEF_TOKEN: token }]] as const) {
      const r = await reefResult(['gc', '--dry-run', '--server', reef.url, ...args], env);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ dry_run: true });
      expect(r.stderr).not.toContain('warning');
    }
  });

  it('takes --token too, with a warning that names the safer ways', async () => {
    const r = await reefResult(['gc', '--dry-run', '--server', reef.url, '--token', token], { REEF_TOKEN: '' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: --token shows the token to every local user');
    expect(r.stderr + r.stdout).not.toContain(token.slice(8));
  });

  it('an empty token file is an error naming the file', async () => {
    writeFileSync(join(dir, 'empty.token'), '\n');
    const r = await reefResult(['gc', '--dry-run', '--server', reef.url, '--token-file', join(dir, 'empty.token')], {});
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`--token-file ${join(dir, 'empty.token')}: the file is empty`);
  });
});
