import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Credentials {
  username: string;
  password: string;
}

/** Registry credentials read from a docker config / containers auth.json file. */
export interface AuthFile {
  /** The file they came from; undefined when no file was given or found. */
  readonly path: string | undefined;
  /** The hosts (and namespaces) it holds credentials for, normalised; never the credentials. */
  readonly registries: readonly string[];
  /**
   * The credentials for `registry` (`quay.io`, `127.0.0.1:5000`): an entry for
   * `registry/<repository prefix>` (the containers auth.json form) wins over the host's.
   */
  credentialsFor(registry: string, repository?: string): Credentials | undefined;
}

/** Where to look when no file is named; the CLI reads them from the environment. */
export interface AuthFileLocations {
  /** `$XDG_RUNTIME_DIR`: `<it>/containers/auth.json` is tried first. */
  xdgRuntimeDir?: string;
  /** The home directory for `~/.docker/config.json` (default: os.homedir()). */
  home?: string;
}

const DOCKER_HUB = new Set(['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/**
 * The key an auths entry or a registry name stands for: no scheme, lower-case host, Docker Hub's
 * aliases as `docker.io`. With a scheme the path is dropped (`https://quay.io/v1/` → `quay.io`);
 * without, it is a namespace (`quay.io/team` stays, without a trailing slash).
 */
export const normaliseRegistryKey = (key: string): string => {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(key);
  const rest = scheme ? key.slice(scheme[0].length) : key;
  const slash = rest.indexOf('/');
  const host = (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
  const path = slash < 0 || scheme ? '' : rest.slice(slash).replace(/\/+$/, '');
  return `${DOCKER_HUB.has(host) ? 'docker.io' : host}${path}`;
};

const decodeAuth = (auth: string, source: string, key: string): Credentials => {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) throw new Error(`${source}: auths["${key}"].auth is not base64 of user:password`);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
};

/** Reads the `auths` of a docker config JSON (`auth` = base64 user:password, or `username` and `password`). */
export const parseAuthFile = (text: string, source: string): AuthFile => {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`${source}: not JSON (an auth file is docker config JSON: {"auths": {"<host>": {"auth": "<base64 user:password>"}}})`);
  }
  const auths = (doc as { auths?: unknown } | null)?.auths;
  if (doc === null || typeof doc !== 'object' || (auths !== undefined && (auths === null || typeof auths !== 'object' || Array.isArray(auths)))) {
    throw new Error(`${source}: expected an object with "auths": {"<host>": {…}}`);
  }
  const entries = new Map<string, Credentials>();
  for (const [key, value] of Object.entries((auths ?? {}) as Record<string, unknown>)) {
    const e = (value ?? {}) as { auth?: unknown; username?: unknown; password?: unknown };
    let creds: Credentials | undefined;
    if (typeof e.auth === 'string' && e.auth !== '') creds = decodeAuth(e.auth, source, key);
    else if (typeof e.username === 'string' && typeof e.password === 'string') creds = { username: e.username, password: e.password };
    // An entry with neither (a credential helper keeps the secret) gives nothing to use.
    if (creds) entries.set(normaliseRegistryKey(key), creds);
  }
  return {
    path: source,
    registries: [...entries.keys()].sort(),
    credentialsFor(registry, repository) {
      const host = normaliseRegistryKey(registry);
      if (repository) {
        const parts = repository.split('/');
        for (let i = parts.length; i > 0; i--) {
          const hit = entries.get(`${host}/${parts.slice(0, i).join('/')}`);
          if (hit) return hit;
        }
      }
      return entries.get(host);
    },
  };
};

const NONE: AuthFile = { path: undefined, registries: [], credentialsFor: () => undefined };

const readIfPresent = async (path: string): Promise<string | undefined> => {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the auth file ${path}: ${(err as Error).message}`, { cause: err });
  }
};

/**
 * Loads registry credentials: the file named (`--authfile`; it must exist), else
 * `<xdgRuntimeDir>/containers/auth.json`, else `<home>/.docker/config.json`; none found gives an
 * empty AuthFile (anonymous access). Errors name the file, never a credential.
 */
export const loadAuthFile = async (path?: string, where: AuthFileLocations = {}): Promise<AuthFile> => {
  if (path !== undefined) {
    const text = await readIfPresent(path);
    if (text === undefined) throw new Error(`the auth file ${path} does not exist`);
    return parseAuthFile(text, path);
  }
  const candidates = [...(where.xdgRuntimeDir ? [join(where.xdgRuntimeDir, 'containers', 'auth.json')] : []), join(where.home ?? homedir(), '.docker', 'config.json')];
  for (const candidate of candidates) {
    const text = await readIfPresent(candidate);
    if (text !== undefined) return parseAuthFile(text, candidate);
  }
  return NONE;
};
