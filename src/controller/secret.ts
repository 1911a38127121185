import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const SECRET_BYTES = 32;

/**
 * The controller's own secret (job tokens derive from it; `name` gives another, such as the web
 * UI's session key), created once under the data directory with mode 0600.
 * It is written to a temp file, synced, then renamed into place, so a start interrupted while
 * writing it (a crash, a power cut, a full disk) leaves either no file or a whole one. A shorter
 * file can only be what an older reef left half-written; no token was ever checked against it,
 * so it is replaced.
 */
export const loadOrCreateSecret = (dataDir: string, name = 'secret.key'): Buffer => {
  const file = join(dataDir, name);
  try {
    const existing = readFileSync(file);
    if (existing.length >= SECRET_BYTES) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(SECRET_BYTES);
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, secret);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    const dir = openSync(dataDir, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return secret;
};
