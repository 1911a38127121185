import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

export type Algorithm = 'sha256' | 'sha512';
const HEX_LENGTH: Record<Algorithm, number> = { sha256: 64, sha512: 128 };
const DIGEST = /^(sha256|sha512):([a-f0-9]+)$/;

export interface Digest {
  algorithm: Algorithm;
  hex: string;
  /** `<algorithm>:<hex>` */
  text: string;
}

/** Parses a digest string, or throws DIGEST_INVALID naming it. Never a path: hex only. */
export const parseDigest = (text: string): Digest => {
  const m = DIGEST.exec(text);
  if (!m || m[2]!.length !== HEX_LENGTH[m[1] as Algorithm]) {
    throw new RegistryError('DIGEST_INVALID', `invalid digest ${JSON.stringify(text)}: expected sha256:<64 hex> or sha512:<128 hex>`, { detail: { digest: text } });
  }
  return { algorithm: m[1] as Algorithm, hex: m[2]!, text };
};

export const isDigest = (text: string): boolean => {
  const m = DIGEST.exec(text);
  return !!m && m[2]!.length === HEX_LENGTH[m[1] as Algorithm];
};

export const hasher = (algorithm: Algorithm): Hash => createHash(algorithm);

export const digestOf = (bytes: Uint8Array, algorithm: Algorithm = 'sha256'): string =>
  `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
