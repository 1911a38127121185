/**
 * OpenSSH's sshd as a test server on 127.0.0.1: its own host key, one client key allowed for the
 * user the tests run as, SFTP built in, everything in a temp dir; a known_hosts naming its key.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, stopChild, waitListening } from './child-server.js';

export const SSHD_BIN = '/usr/sbin/sshd';
const run = promisify(execFile);

export interface TestSshd {
  port: number;
  user: string;
  /** known_hosts holding this server's key as `[127.0.0.1]:<port>`. */
  knownHosts: string;
  /** A known_hosts naming another key for the same host (a host that is not who it claims). */
  wrongKnownHosts: string;
  /** The client's private key. */
  identity: string;
  stop(): Promise<void>;
}

const keygen = (file: string) => run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'reef-test', '-f', file]);

export const startSshd = async (): Promise<TestSshd> => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-sshd-'));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  await Promise.all([keygen(join(dir, 'host_key')), keygen(join(dir, 'other_host_key')), keygen(join(dir, 'id'))]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id.pub')));
  const port = await freePort();
  const hostLine = (pub: string) => `[127.0.0.1]:${port} ${readFileSync(join(dir, pub), 'utf8').split(' ').slice(0, 2).join(' ')}\n`;
  writeFileSync(join(dir, 'known_hosts'), hostLine('host_key.pub'));
  writeFileSync(join(dir, 'wrong_known_hosts'), hostLine('other_host_key.pub'));
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(SSHD_BIN, ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await waitListening('sshd', port, child, () => output, 20_000);
  return {
    port,
    user: userInfo().username,
    knownHosts: join(dir, 'known_hosts'),
    wrongKnownHosts: join(dir, 'wrong_known_hosts'),
    identity: join(dir, 'id'),
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
