/** `host[:port]/repo[:tag|@digest]`, as written in a recipe's oci_url. */
export interface OciRef {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const HOST = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)(?::(\d{1,5}))?$/;
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
export const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
export const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
export const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** Returns the parsed reference, or a message saying what is wrong with it. */
export const parseOciRef = (text: string): OciRef | string => {
  if (/^[a-z]+:\/\//i.test(text)) return 'must not carry a scheme: write host[:port]/repository[:tag|@digest]';
  const slash = text.indexOf('/');
  if (slash <= 0) return 'must be host[:port]/repository[:tag|@digest]';
  const registry = text.slice(0, slash);
  const hostMatch = HOST.exec(registry);
  if (!hostMatch) return `invalid registry host ${JSON.stringify(registry)}`;
  if (hostMatch[1] !== undefined && (Number(hostMatch[1]) < 1 || Number(hostMatch[1]) > 65535)) {
    return `invalid registry port ${hostMatch[1]}`;
  }
  let rest = text.slice(slash + 1);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return `invalid digest ${JSON.stringify(digest)} (expected sha256:<64 hex> or sha512:<128 hex>)`;
  }
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return `invalid tag ${JSON.stringify(tag)}`;
  }
  if (!REPOSITORY.test(rest)) return `invalid repository name ${JSON.stringify(rest)} (lowercase, digits, separators . _ __ -, nested with /)`;
  return { registry, repository: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
};
