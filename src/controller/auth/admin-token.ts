import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-file.js';
import type { TokenService } from './token-service.js';

/**
 * At first start, when no admin token exists, makes one and writes it to `<data>/admin.token`
 * (mode 0600, nowhere else: not in the log). Returns the file's path when it made one. A
 * leftover file from an earlier data directory is replaced.
 */
export const ensureAdminToken = async (tokens: TokenService, dataDir: string): Promise<string | undefined> => {
  const file = join(dataDir, 'admin.token');
  if (tokens.hasRole('admin')) return undefined;
  const taken = new Set(tokens.list().map((t) => t.name));
  let name = 'admin';
  for (let n = 2; taken.has(name); n++) name = `admin-${n}`;
  const { token } = tokens.create({ name, role: 'admin' });
  try {
    await writeFileAtomic(file, `${token}\n`, { mode: 0o600 });
  } catch (err) {
    // A token nobody can read would stop the next start from making one.
    tokens.revoke(name);
    throw err;
  }
  return file;
};
