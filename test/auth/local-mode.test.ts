import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPeerNamespace } from '../helpers/netns.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { requireAvailable, requireTool } from '../helpers/tools.js';

const canNetns = requireTool('ip') && requireTool('curl') && requireAvailable('root (network namespaces)', process.getuid?.() === 0);

/** curl's status code and body. */
const curl = async (run: (cmd: string, args: string[]) => Promise<string>, args: string[]) => {
  const out = await run('curl', ['-s', '-w', '\n%{http_code}', ...args]);
  const i = out.lastIndexOf('\n');
  return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
};
const here = async (cmd: string, args: string[]) => (await promisify(execFile)(cmd, args, { encoding: 'utf8' })).stdout;

describe.skipIf(!canNetns)('REEF_API_AUTH=local: loopback is trusted, the network needs a token', () => {
  let reef: TestReef;
  let peer: ReturnType<typeof createPeerNamespace>;
  let port: string;
  const recipe = readFileSync('recipes/ubuntu-rootfs.json', 'utf8');
  beforeAll(async () => {
    peer = createPeerNamespace();
    reef = await startTestReef({ REEF_LISTEN: '0.0.0.0:0' });
    port = new URL(reef.url).port;
  });
  afterAll(async () => {
    await reef?.stop();
    peer?.remove();
  });

  it('the seed documents\' curl examples run as printed from 127.0.0.1; the same from another address gets 401', async () => {
    const post = ['-X', 'POST', '-H', 'Content-Type: application/json', '-d', recipe];
    const local = await curl(here, [...post, `http://127.0.0.1:${port}/api/v1/recipes?name=ubuntu`]);
    expect(local.status, local.body).toBe(201);
    const remote = await curl(peer.exec, [...post, `http://${peer.hostAddress}:${port}/api/v1/recipes?name=ubuntu-remote`]);
    expect(remote.status).toBe(401);
    expect(JSON.parse(remote.body).error.message).toContain('needs an API token');
    // Reads need a token from the network too; machine-facing paths stay open.
    expect((await curl(peer.exec, [`http://${peer.hostAddress}:${port}/api/v1/recipes`])).status).toBe(401);
    expect((await curl(peer.exec, [`http://${peer.hostAddress}:${port}/boot.ipxe?mac=52:54:00:aa:bb:cc`])).status).toBe(200);
    expect((await curl(peer.exec, [`http://${peer.hostAddress}:${port}/healthz`])).status).toBe(200);
    expect((await curl(peer.exec, ['-X', 'POST', `http://${peer.hostAddress}:${port}/admin/gc?dry_run=true`])).status).toBe(401);
  });

  it('a token works from the network, and its name is what the audit records with the peer address', async () => {
    const admin = readFileSync(join(reef.dataDir, 'admin.token'), 'utf8').trim();
    const made = await curl(peer.exec, ['-X', 'POST', '-H', `Authorization: Bearer ${admin}`, '-H', 'Content-Type: application/json', '-d', '{"name":"floor","role":"operator"}', `http://${peer.hostAddress}:${port}/api/v1/tokens`]);
    expect(made.status).toBe(201);
    const token = JSON.parse(made.body).token as string;
    const posted = await curl(peer.exec, ['-X', 'POST', '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/json', '-d', recipe, `http://${peer.hostAddress}:${port}/api/v1/recipes?name=ubuntu-floor`]);
    expect(posted.status).toBe(201);
    const audit = JSON.parse((await curl(here, [`http://127.0.0.1:${port}/api/v1/audit`])).body).items as { actor: string; source: string; object: string }[];
    expect(audit.find((e) => e.object === 'recipe:ubuntu-floor')).toMatchObject({ actor: 'floor', source: peer.peerAddress });
    expect(audit.find((e) => e.object === 'recipe:ubuntu')).toMatchObject({ actor: 'local', source: '127.0.0.1' });
  });
});
