import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import type { RegistryConfig } from '../config.js';

const sha = (s: string) => createHash('sha256').update(s).digest();
const same = (a: string, b: string) => timingSafeEqual(sha(a), sha(b));

/** The file could not be read when a credential had to be checked: nobody can log in until it can. */
export class CredentialsUnavailable extends Error {}

/**
 * htpasswd entries (bcrypt, as `htpasswd -B` writes them), re-read whenever the file changes
 * (size, mtime or inode), so a user removed from it loses access at the next request.
 */
const htpasswdFile = (file: string, onChange: () => void) => {
  let stamp = '';
  let users = new Map<string, string>();
  return (): Map<string, string> => {
    let text: string;
    let now: string;
    try {
      const st = statSync(file);
      now = `${st.ino}:${st.size}:${st.mtimeMs}`;
      if (now === stamp) return users;
      text = readFileSync(file, 'utf8');
    } catch (err) {
      stamp = '';
      users = new Map();
      onChange();
      throw new CredentialsUnavailable(`REGISTRY_HTPASSWD_FILE ${file} cannot be read: ${(err as Error).message}`);
    }
    users = new Map();
    for (const line of text.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) users.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    stamp = now;
    onChange();
    return users;
  };
};

const bcryptHash = (hash: string | undefined) => (hash && /^\$2[aby]\$\d\d\$/.test(hash) ? hash.replace(/^\$2y\$/, '$2b$') : undefined);

/**
 * Checks a user name and password. A wrong password costs the same for a known and an unknown
 * user (an unknown one is checked against a dummy hash of the file's cost), so timing does not
 * tell which names exist. bcrypt is slow on purpose: a verified credential is remembered, as a
 * hash, for a few minutes, in a bounded cache emptied whenever the file changes.
 */
export const createCredentialCheck = (auth: Extract<RegistryConfig['auth'], { mode: 'basic' | 'htpasswd' }>, opts: { cacheMs?: number; cacheSize?: number } = {}) => {
  const cacheMs = opts.cacheMs ?? 5 * 60_000;
  const cacheSize = opts.cacheSize ?? 256;
  const verified = new Map<string, number>();
  const users = auth.mode === 'htpasswd' ? htpasswdFile(auth.file, () => verified.clear()) : undefined;
  const dummies = new Map<string, string>();
  /** A hash of a random password at `cost`, made once per cost. */
  const dummyAt = (cost: string) => {
    let d = dummies.get(cost);
    if (!d) {
      d = bcrypt.hashSync(sha(String(Math.random())).toString('hex'), Number(cost));
      dummies.set(cost, d);
    }
    return d;
  };
  const remember = (key: string) => {
    if (verified.size >= cacheSize) {
      const now = Date.now();
      for (const [k, until] of verified) if (until <= now) verified.delete(k);
      if (verified.size >= cacheSize) verified.delete(verified.keys().next().value!);
    }
    verified.set(key, Date.now() + cacheMs);
  };

  /** Whether this credential was verified lately (and the file has not changed since): no hashing. */
  const cached = (user: string, pass: string): boolean => {
    if (auth.mode === 'basic') return same(user, auth.username) && same(pass, auth.password);
    users!();
    const until = verified.get(sha(`${user}\0${pass}`).toString('hex'));
    return until !== undefined && until > Date.now();
  };

  const check = async (user: string, pass: string): Promise<boolean> => {
    if (auth.mode === 'basic') return same(user, auth.username) && same(pass, auth.password);
    const table = users!();
    const key = sha(`${user}\0${pass}`).toString('hex');
    const until = verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    const hash = bcryptHash(table.get(user));
    const cost = (hash ?? bcryptHash([...table.values()][0]))?.slice(4, 6) ?? '10';
    const ok = await bcrypt.compare(pass, hash ?? dummyAt(cost));
    if (ok && hash) {
      remember(key);
      return true;
    }
    return false;
  };
  return Object.assign(check, { cached });
};
