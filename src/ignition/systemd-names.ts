/**
 * systemd unit naming: the escaping `systemd-escape --path` applies (a mount unit for /var/mnt
 * must be named var-mnt.mount) and the unit-name rules systemd enforces.
 */

export const UNIT_SUFFIXES = ['service', 'socket', 'device', 'mount', 'automount', 'swap', 'target', 'path', 'timer', 'slice', 'scope'] as const;

const UNIT_NAME_MAX = 255;
const KEEP = /^[A-Za-z0-9:_.]$/;

const hexByte = (b: number): string => `\\x${b.toString(16).padStart(2, '0')}`;

/** Escapes one string the way systemd does: "/" becomes "-", a leading "." and anything outside [A-Za-z0-9:_.] become \xNN per UTF-8 byte. */
const escapeString = (s: string): string => {
  let out = '';
  let first = true;
  for (const ch of s) {
    if (ch === '/') out += '-';
    else if ((first && ch === '.') || !KEEP.test(ch)) out += [...Buffer.from(ch, 'utf8')].map(hexByte).join('');
    else out += ch;
    first = false;
  }
  return out;
};

/**
 * Simplifies an absolute path as systemd does (repeated and trailing slashes and "." components
 * dropped). Returns null for a relative path or one with a ".." component, which systemd refuses
 * in a mount point.
 */
export const simplifyPath = (path: string): string | null => {
  if (!path.startsWith('/')) return null;
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return null;
  return `/${parts.join('/')}`;
};

/** `systemd-escape --path`: "/var/mnt" → "var-mnt", "/" → "-", "/srv/my-data" → "srv-my\x2ddata". */
export const escapePath = (path: string): string => {
  const simple = simplifyPath(path);
  if (simple === null) throw new Error(`cannot escape ${JSON.stringify(path)}: not an absolute path without ".." components`);
  if (simple === '/') return '-';
  return escapeString(simple.slice(1));
};

/** The unit name systemd requires for a mount (or automount) at `where`: "/var/mnt" → "var-mnt.mount". */
export const mountUnitName = (where: string, suffix: 'mount' | 'automount' = 'mount'): string => `${escapePath(where)}.${suffix}`;

/**
 * Checks a unit name: a known suffix (".service", ".mount", ...), a non-empty prefix of
 * [A-Za-z0-9:_.\\-] with at most one "@" (templates and instances), 255 characters at most.
 * Returns a message, or null when the name is valid.
 */
export const unitNameProblem = (name: string): string | null => {
  const dot = name.lastIndexOf('.');
  const suffix = dot >= 0 ? name.slice(dot + 1) : '';
  if (dot < 0 || !(UNIT_SUFFIXES as readonly string[]).includes(suffix)) {
    return `unit name ${JSON.stringify(name)} has no valid unit suffix (${UNIT_SUFFIXES.map((s) => `.${s}`).join(', ')})`;
  }
  if (name.length > UNIT_NAME_MAX) return `unit name is longer than ${UNIT_NAME_MAX} characters`;
  const prefix = name.slice(0, dot);
  const at = prefix.indexOf('@');
  if (prefix === '' || at === 0) return `unit name ${JSON.stringify(name)} has an empty prefix`;
  if (at >= 0 && prefix.indexOf('@', at + 1) >= 0) return `unit name ${JSON.stringify(name)} has more than one "@"`;
  if (!/^[A-Za-z0-9:_.\\@-]+$/.test(prefix)) return `unit name ${JSON.stringify(name)} has characters systemd does not allow (escape them with systemd-escape)`;
  return null;
};
