import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Recipe } from '../recipes/recipe-normalize.js';
import { writeFileAtomic } from '../lib/atomic-file.js';
import { StepError, type Runner } from './exec.js';

/**
 * Opens the running maintenance OS to an operator, as the recipe's maintenance_access says:
 * root's password hash in /etc/shadow (console and serial login), and SSH keys in
 * /root/.ssh/authorized_keys. `systemRoot` is `/` on the machine. Returns what it did, for the log.
 */
export const applyMaintenanceAccess = async (access: Recipe['maintenance_access'], systemRoot = '/'): Promise<string[]> => {
  if (!access) return [];
  const done: string[] = [];
  if (access.root_password_hash) {
    const shadow = join(systemRoot, 'etc/shadow');
    const text = await readFile(shadow, 'utf8').catch((err: Error) => {
      throw new StepError(`maintenance_access: cannot read ${shadow}: ${err.message}`);
    });
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.startsWith('root:'));
    if (i < 0) throw new StepError(`maintenance_access: ${shadow} has no root entry`);
    const fields = lines[i]!.split(':');
    fields[1] = access.root_password_hash;
    lines[i] = fields.join(':');
    const mode = (await stat(shadow)).mode & 0o777;
    await writeFileAtomic(shadow, lines.join('\n'), { mode });
    done.push('root password set (console and serial login)');
  }
  if (access.ssh_authorized_keys.length) {
    const dir = join(systemRoot, 'root/.ssh');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    await writeFile(join(dir, 'authorized_keys'), `${access.ssh_authorized_keys.join('\n')}\n`, { mode: 0o600 });
    done.push(`${access.ssh_authorized_keys.length} SSH key(s) for root${existsSync(join(systemRoot, 'usr/sbin/sshd')) ? '' : ' (this image has no sshd: console only)'}`);
  }
  return done;
};

/** Reboots or powers off the machine once the install's final report is delivered (recipe `after`, default reboot). */
export const afterInstall = async (run: Runner, after: Recipe['after']): Promise<string> => {
  const what = after ?? 'reboot';
  if (what === 'none') return 'after: none — the machine stays in the maintenance OS';
  await run.run('systemctl', [what]);
  return `after: ${what}`;
};
