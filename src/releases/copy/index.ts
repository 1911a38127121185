/**
 * Copying a release artifact somewhere else (issue 19 point 7), for the server to run as a job:
 *
 *   copyArtifact({ file, destination, allowedBases, ssh?, onProgress?, signal? }): Promise<CopyResult>
 *
 * `destination` comes from the request and is checked first (parseDestination; errors name
 * `destination`): an absolute path → a local copy under one of `allowedBases` (no symlink on the
 * way; temp + rename); `[user@]host:path` → scp over SFTP with host keys checked against
 * `ssh.knownHostsFile` (no settings → a validation error: reef never copies with checking off).
 * `onProgress(done, total)` in bytes; `signal` stops it (the scp process group is killed).
 */
import { fieldError } from '../../core/errors.js';
import { parseDestination } from './destination.js';
import { copyLocal } from './local-copy.js';
import { copyScp, type SshSettings } from './scp-copy.js';

export { parseDestination, type Destination } from './destination.js';
export { CopyError, scpArgs, type SshSettings } from './scp-copy.js';

export interface CopyOptions {
  /** The artifact (a path reef chose, not the request's). */
  file: string;
  /** As the request gave it. */
  destination: unknown;
  /** Directories a local copy may write under. */
  allowedBases: string[];
  ssh?: SshSettings;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface CopyResult {
  kind: 'local' | 'scp';
  /** The file written, or `[user@]host:path`. */
  target: string;
  bytes: number;
}

export const copyArtifact = async (o: CopyOptions): Promise<CopyResult> => {
  const to = parseDestination(o.destination);
  const common = { file: o.file, ...(o.onProgress ? { onProgress: o.onProgress } : {}), ...(o.signal ? { signal: o.signal } : {}) };
  if (to.kind === 'local') return { kind: 'local', ...(await copyLocal({ ...common, destination: to.path, allowedBases: o.allowedBases })) };
  if (!o.ssh) throw fieldError('destination', 'copies over scp need a known_hosts file in the releases config (host keys are always checked)');
  return { kind: 'scp', ...(await copyScp({ ...common, to, ssh: o.ssh })) };
};
