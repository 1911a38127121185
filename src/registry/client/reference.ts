import { isDigest } from '../core/digest.js';
import { checkName, checkTag } from '../core/names.js';

export interface ImageRef {
  registry: string;
  repository: string;
  /** A tag or a digest. */
  reference: string;
}

/** `host[:port]/repo[:tag|@digest]` (tag defaults to `latest`). */
export const parseImageRef = (text: string): ImageRef => {
  const slash = text.indexOf('/');
  if (slash <= 0) throw new Error(`reference ${JSON.stringify(text)}: expected host[:port]/repository[:tag|@digest]`);
  const registry = text.slice(0, slash);
  let rest = text.slice(slash + 1);
  let reference = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(reference)) throw new Error(`reference ${JSON.stringify(text)}: bad digest`);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      reference = checkTag(rest.slice(colon + 1));
      rest = rest.slice(0, colon);
    }
  }
  return { registry, repository: checkName(rest), reference };
};

/** Loopback registries speak plain HTTP unless told otherwise (the docker/containerd convention). */
export const isLoopback = (registry: string): boolean => /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(registry);
