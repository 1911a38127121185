import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyMaintenanceAccess } from '../../src/maintenance-os/after-install.js';
import { validateRecipe } from '../../src/recipes/validate-recipe.js';

const base = JSON.parse(readFileSync('recipes/ubuntu-rootfs.json', 'utf8'));
const HASH = '$6$Ab1Cd2Ef$e0VqIu9wCJ3x4iPNlqbrFm8N9rOsBGp8fXrNfWsu4qLmNn3bx.kZtp3nB6fZ7GeDTiMbhjWpk8dN8vQ1mJZYb0';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvK ops@floor';

describe('maintenance access and after', () => {
  it('recipes take after (default reboot) and maintenance_access with a crypt hash; a plain password is refused naming the field', () => {
    expect(validateRecipe(base, 'recipe').recipe.after).toBe('reboot');
    const r = validateRecipe({ ...base, after: 'poweroff', maintenance_access: { root_password_hash: HASH, ssh_authorized_keys: [KEY] } }, 'recipe').recipe;
    expect(r.after).toBe('poweroff');
    expect(r.maintenance_access).toEqual({ root_password_hash: HASH, ssh_authorized_keys: [KEY] });
    expect(() => validateRecipe({ ...base, maintenance_access: { root_password_hash: 'hunter2' } }, 'recipe')).toThrow(/maintenance_access\.root_password_hash: must be a crypt\(3\) hash/);
    expect(() => validateRecipe({ ...base, after: 'halt' }, 'recipe')).toThrow(/after/);
    expect(() => validateRecipe({ ...base, maintenance_access: {} }, 'recipe')).toThrow(/give root_password_hash or ssh_authorized_keys/);
  });

  it('sets root\'s hash in /etc/shadow (mode and other entries kept) and writes authorized_keys 0600 under 0700', async () => {
    const root = mkdtempSync(join(tmpdir(), 'reef-access-'));
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/shadow'), 'root:*:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\n');
    chmodSync(join(root, 'etc/shadow'), 0o640);
    const done = await applyMaintenanceAccess({ root_password_hash: HASH, ssh_authorized_keys: [KEY] }, root);
    expect(done[0]).toBe('root password set (console and serial login)');
    expect(readFileSync(join(root, 'etc/shadow'), 'utf8')).toBe(`root:${HASH}:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\n`);
    expect(statSync(join(root, 'etc/shadow')).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(root, 'root/.ssh/authorized_keys'), 'utf8')).toBe(`${KEY}\n`);
    expect(statSync(join(root, 'root/.ssh/authorized_keys')).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, 'root/.ssh')).mode & 0o777).toBe(0o700);
    expect(await applyMaintenanceAccess(null, root)).toEqual([]);
  });
});
