/**
 * Copy to another machine with OpenSSH's scp over the SFTP protocol (`-s`: no remote shell reads
 * the path), host keys checked against a known_hosts file from config
 * (`StrictHostKeyChecking=yes`, `UserKnownHostsFile=…`, the global file ignored), never asking
 * for anything (`BatchMode=yes`). Spawned with an argv array, `--` before the operands, the
 * destination checked by parseDestination first. scp reports no progress without a terminal: it
 * is told at the start and the end. No `-q`: it would silence ssh's diagnostics too ("Host key
 * verification failed"), which the error passes on.
 */
import { stat } from 'node:fs/promises';
import { runTool } from '../run-tool.js';
import type { Destination } from './destination.js';

export interface SshSettings {
  /** known_hosts holding the keys of the hosts reef may copy to (required: no key, no copy). */
  knownHostsFile: string;
  /** The private key reef logs in with; else ssh's defaults for the user reef runs as. */
  identityFile?: string;
  port?: number;
  /** Default 1 hour. */
  timeoutMs?: number;
  /** Default `scp`. */
  command?: string;
}

export class CopyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyError';
  }
}

/** scp's arguments for copying `file` to `to` (exported for tests: what runs is exactly this). */
export const scpArgs = (file: string, to: Extract<Destination, { kind: 'remote' }>, ssh: SshSettings): string[] => [
  '-s',
  '-o', 'BatchMode=yes',
  '-o', 'StrictHostKeyChecking=yes',
  '-o', `UserKnownHostsFile=${ssh.knownHostsFile}`,
  '-o', 'GlobalKnownHostsFile=/dev/null',
  '-o', 'ConnectTimeout=30',
  ...(ssh.identityFile ? ['-i', ssh.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
  ...(ssh.port ? ['-P', String(ssh.port)] : []),
  '--',
  file,
  `${to.user ? `${to.user}@` : ''}${to.host}:${to.path}`,
];

export const copyScp = async (o: { file: string; to: Extract<Destination, { kind: 'remote' }>; ssh: SshSettings; onProgress?: (done: number, total: number) => void; signal?: AbortSignal }) => {
  const total = (await stat(o.file)).size;
  o.onProgress?.(0, total);
  // No HOME: ssh takes the home directory (for ~/.ssh/config and keys) from the passwd entry.
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin' };
  const r = await runTool(o.ssh.command ?? 'scp', scpArgs(o.file, o.to, o.ssh), { env, timeoutMs: o.ssh.timeoutMs ?? 3_600_000, ...(o.signal ? { signal: o.signal } : {}) }).catch((err: NodeJS.ErrnoException) => {
    throw new CopyError(err.code === 'ENOENT' ? 'scp is not installed on the server' : `scp: ${err.message}`);
  });
  if (r.aborted) throw o.signal?.reason ?? new CopyError('aborted');
  if (r.timedOut) throw new CopyError(`scp to ${o.to.host} ran out of time`);
  if (r.code !== 0) throw new CopyError(`scp to ${o.to.host} failed (exit ${r.code}): ${r.tail.trim().split('\n').slice(-3).join(' | ')}`);
  o.onProgress?.(total, total);
  return { target: `${o.to.user ? `${o.to.user}@` : ''}${o.to.host}:${o.to.path}`, bytes: total };
};
