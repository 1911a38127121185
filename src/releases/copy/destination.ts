/**
 * A copy destination, from the network: an absolute local path (`/srv/tftp/iso/`), or scp's
 * `[user@]host:path` (`root@pxe.gw.lo:/srv/tftp/iso/`). Checked before anything runs: nothing
 * that scp or ssh could read as an option (a leading `-` anywhere it would land), no whitespace,
 * control characters, quotes or shell characters, a user, host and path of the usual shapes.
 * Errors name the field `destination`.
 */
import { fieldError } from '../../core/errors.js';

export type Destination = { kind: 'local'; path: string } | { kind: 'remote'; user?: string; host: string; path: string };

const MAX = 1024;
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6 = /^\[[0-9A-Fa-f:.]{2,45}\]$/;
/** Path characters taken: letters, digits and `._/+@%=,~-`; no `:` (scp would read a host), no shell characters. */
const PATH = /^[A-Za-z0-9._/+@%=,~-]+$/;

const bad = (message: string) => fieldError('destination', message);

const checkPath = (path: string, where: string) => {
  if (!PATH.test(path)) throw bad(`${where} may hold only letters, digits and . _ / + @ % = , ~ - (got ${JSON.stringify(path)})`);
  if (path.split('/').some((s) => s.startsWith('-'))) throw bad(`${where} has a part starting with "-", which a tool could read as an option`);
};

export const parseDestination = (text: unknown): Destination => {
  if (typeof text !== 'string' || text === '') throw bad('is required: an absolute local path, or [user@]host:path');
  if (text.length > MAX) throw bad(`is longer than ${MAX} characters`);
  if (text.startsWith('-')) throw bad('must not start with "-" (it would be read as an option)');
  if (/[\s\x00-\x1f\x7f]/.test(text)) throw bad('must not hold whitespace or control characters');
  if (text.startsWith('/')) {
    checkPath(text, 'the path');
    if (text.split('/').includes('..')) throw bad('the path must not hold ".." parts');
    return { kind: 'local', path: text };
  }
  const colon = text.startsWith('[') ? text.indexOf(']:') + 1 : text.indexOf(':');
  if (colon <= 0) throw bad('must be an absolute local path, or [user@]host:path');
  const login = text.slice(0, colon);
  const path = text.slice(colon + 1);
  const at = login.lastIndexOf('@');
  const user = at >= 0 ? login.slice(0, at) : undefined;
  const host = at >= 0 ? login.slice(at + 1) : login;
  if (user !== undefined && !USER.test(user)) throw bad(`the user ${JSON.stringify(user)} is not a login name`);
  if (!HOSTNAME.test(host) && !IPV6.test(host)) throw bad(`the host ${JSON.stringify(host)} is not a host name or address`);
  if (path === '') throw bad('names no path after the host (host:/dir/)');
  checkPath(path, 'the remote path');
  return { kind: 'remote', ...(user !== undefined ? { user } : {}), host, path };
};
