import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * A network namespace joined to this one by a veth pair: the host side gets `hostAddress`, the
 * namespace side `peerAddress`. A client run with `exec` reaches the host's listeners from an
 * address that is not loopback, as a machine on the network would. Root only.
 */
export const createPeerNamespace = () => {
  const id = `${process.pid % 10_000}${Math.floor(Math.random() * 90 + 10)}`;
  const ns = `reef-peer-${id}`;
  const hostIf = `rph${id}`;
  const peerIf = `rpn${id}`;
  const subnet = 64 + (process.pid % 60);
  const octet = Math.floor(Math.random() * 60) * 4;
  const hostAddress = `10.${subnet}.${octet}.1`;
  const peerAddress = `10.${subnet}.${octet}.2`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  ip('netns', 'add', ns);
  try {
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf);
    ip('link', 'set', peerIf, 'netns', ns);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${peerAddress}/30`, 'dev', peerIf);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', peerIf, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    throw err;
  }
  return {
    hostAddress,
    peerAddress,
    /** Runs a command inside the namespace (asynchronously: it may call a server in this process); its stdout. */
    exec: async (cmd: string, args: string[]) => (await execFileAsync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' })).stdout,
    remove() {
      // Deleting the namespace deletes the veth pair with it.
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    },
  };
};
