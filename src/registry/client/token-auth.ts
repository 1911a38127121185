/**
 * Registry authentication as the distribution token spec describes it: a 401 names a scheme in
 * WWW-Authenticate. `Bearer realm=…,service=…,scope=…` → GET realm?service=&scope= (Basic
 * credentials when there are some) → {token | access_token, expires_in (default 60 s)}; `Basic`
 * → the credentials on every request. Tokens are cached per scope set and fetched again before
 * they expire, or when the registry refuses one. Nothing here logs or puts a credential or a
 * token in an error message.
 */
import type { Credentials } from './auth-file.js';
import { OciClientError } from './errors.js';
import type { RawResponse } from './http.js';
import { readAll } from './http.js';
import { parseRetryAfter } from './retry.js';

export interface Challenge {
  /** Lower case: `bearer`, `basic`. */
  scheme: string;
  params: Record<string, string>;
}

/**
 * The challenges of a WWW-Authenticate value. Values may be quoted (with `\` escapes) or bare;
 * a bare value runs to the next `, key=` so an unquoted `scope=repository:a:pull,push` stays whole.
 */
export const parseChallenges = (header: string | string[] | undefined): Challenge[] => {
  const text = Array.isArray(header) ? header.join(', ') : (header ?? '');
  const out: Challenge[] = [];
  let i = 0;
  const skip = (re: RegExp) => {
    const m = re.exec(text.slice(i));
    if (m) i += m[0].length;
    return m;
  };
  while (i < text.length) {
    skip(/^[\s,]+/);
    const scheme = skip(/^([A-Za-z][\w.+-]*)(?=\s|$|,)/);
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme[1]!.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      const start = i;
      skip(/^[\s,]*/);
      const key = skip(/^([A-Za-z][\w-]*)\s*=\s*/);
      if (!key) {
        i = start;
        break;
      }
      let value = '';
      if (text[i] === '"') {
        i++;
        for (; i < text.length && text[i] !== '"'; i++) {
          if (text[i] === '\\') i++;
          value += text[i] ?? '';
        }
        i++;
      } else {
        const rest = text.slice(i);
        // Up to the next parameter (`, key=`) or the next challenge (`, Scheme key=`).
        const end = rest.search(/,\s*(?:[A-Za-z][\w.+-]*\s+)?[A-Za-z][\w-]*\s*=/);
        value = (end < 0 ? rest : rest.slice(0, end)).trim();
        i += end < 0 ? rest.length : end;
      }
      challenge.params[key[1]!.toLowerCase()] = value;
    }
  }
  return out;
};

/** The scope to pull from `repo`; to push to it (push needs pull too). */
export const pullScope = (repo: string) => `repository:${repo}:pull`;
export const pushScope = (repo: string) => `repository:${repo}:pull,push`;

/** `want` (`type:name:actions`) is covered by one of `have`. */
const covered = (want: string, have: string[]) => {
  const cut = want.lastIndexOf(':');
  const [resource, actions] = [want.slice(0, cut), want.slice(cut + 1).split(',')];
  return have.some((h) => {
    const c = h.lastIndexOf(':');
    const granted = h.slice(c + 1).split(',');
    return h.slice(0, c) === resource && actions.every((a) => granted.includes(a) || granted.includes('*'));
  });
};

interface Token {
  value: string;
  expiresAt: number;
  lifetime: number;
  /** The scopes asked for (the operation's plus any a challenge added). */
  scopes: string[];
}

export interface TokenAuthDeps {
  /** The registry's host, for messages. */
  registry: string;
  credentials: Credentials | undefined;
  /** One GET of the token endpoint (the transport's TLS rules, no registry auth). */
  get: (url: string, headers: Record<string, string>) => Promise<RawResponse>;
  /** Retries a failed token request as the client retries anything else. */
  retrying: <T>(what: string, attempt: () => Promise<T>) => Promise<T>;
  now?: () => number;
}

export interface TokenAuth {
  /** The Authorization header for a request needing `scopes`, fetching a token first when needed. */
  headers(scopes: string[]): Promise<Record<string, string>>;
  /**
   * After a 401: learns the challenge and gets what should work next time (a fresh token).
   * False when another attempt would not help (credentials already refused, or none to give).
   */
  challenged(wwwAuthenticate: string | string[] | undefined, scopes: string[], sent: Record<string, string>): Promise<boolean>;
}

export const createTokenAuth = (deps: TokenAuthDeps): TokenAuth => {
  const now = deps.now ?? Date.now;
  const creds = deps.credentials;
  const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
  /** What the registry asked for; before any 401, Basic credentials are sent when there are some. */
  let scheme: { kind: 'basic' } | { kind: 'bearer'; realm: string; service: string | undefined } | undefined;
  const tokens = new Map<string, Token>();
  const pending = new Map<string, Promise<Token>>();
  const keyOf = (scopes: string[]) => [...new Set(scopes)].sort().join(' ');

  const fetchToken = async (realm: string, service: string | undefined, scopes: string[]): Promise<Token> => {
    let target: URL;
    try {
      target = new URL(realm);
      if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new Error('not http(s)');
    } catch {
      throw new OciClientError(`the registry ${deps.registry} names a token service that is no http(s) URL (realm ${JSON.stringify(realm.slice(0, 200))})`, 401);
    }
    if (service !== undefined) target.searchParams.set('service', service);
    for (const s of scopes) target.searchParams.append('scope', s);
    const where = `${target.origin}${target.pathname}`;
    return deps.retrying('token', async () => {
      const asked = now();
      const res = await deps.get(target.toString(), basic ? { Authorization: basic } : {});
      const body = await readAll(res.body);
      if (res.status === 401 || res.status === 403) {
        throw new OciClientError(
          creds
            ? `the token service of ${deps.registry} (${where}) refused the credentials given for ${deps.registry}: HTTP ${res.status}`
            : `the token service of ${deps.registry} (${where}) refused anonymous access: HTTP ${res.status}; credentials for ${deps.registry} are needed (an auth file entry)`,
          401,
        );
      }
      if (res.status !== 200) {
        const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
        throw new OciClientError(`the token service of ${deps.registry} (${where}): HTTP ${res.status}`, res.status, retryAfterMs !== undefined ? { retryAfterMs } : {});
      }
      let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
      try {
        doc = JSON.parse(body.toString('utf8'));
      } catch {
        throw new OciClientError(`the token service of ${deps.registry} (${where}) answered with no JSON`, 502);
      }
      const value = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
      if (!value) throw new OciClientError(`the token service of ${deps.registry} (${where}) answered without a token`, 502);
      const lifetime = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in * 1000 : 60_000;
      return { value, expiresAt: asked + lifetime, lifetime, scopes };
    });
  };

  /** A cached token still good for a while: a quarter of its life or 30 s, whichever is less, is kept in hand. */
  const fresh = (t: Token | undefined) => t !== undefined && now() < t.expiresAt - Math.min(30_000, t.lifetime / 4);

  const tokenFor = async (key: string, scopes: string[]): Promise<Token> => {
    const known = tokens.get(key);
    if (fresh(known)) return known!;
    const inFlight = pending.get(key);
    if (inFlight) return inFlight;
    if (scheme?.kind !== 'bearer') throw new Error('no bearer challenge');
    const asked = fetchToken(scheme.realm, scheme.service, [...new Set([...(known?.scopes ?? []), ...scopes])])
      .then((t) => {
        tokens.set(key, t);
        return t;
      })
      .finally(() => pending.delete(key));
    pending.set(key, asked);
    return asked;
  };

  return {
    async headers(scopes): Promise<Record<string, string>> {
      if (scheme?.kind === 'bearer') return { Authorization: `Bearer ${(await tokenFor(keyOf(scopes), scopes)).value}` };
      return basic ? { Authorization: basic } : {};
    },

    async challenged(wwwAuthenticate, scopes, sent) {
      const challenges = parseChallenges(wwwAuthenticate);
      const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
      if (bearer) {
        scheme = { kind: 'bearer', realm: bearer.params.realm!, service: bearer.params.service };
        const key = keyOf(scopes);
        const extra = (bearer.params.scope ?? '').split(' ').filter((s) => s && !covered(s, scopes));
        const known = tokens.get(key);
        // A token this request carried was refused (expired early, revoked): drop it.
        if (known && sent.Authorization === `Bearer ${known.value}`) tokens.delete(key);
        const wanted = [...new Set([...(known?.scopes ?? scopes), ...extra])];
        await tokenFor(key, wanted);
        return true;
      }
      if (challenges.some((c) => c.scheme === 'basic')) {
        scheme = { kind: 'basic' };
        return basic !== undefined && sent.Authorization !== basic;
      }
      return false;
    },
  };
};
