/**
 * The boot network of the e2e test: a network namespace holding a tap device for the VM's NIC
 * (10.99.N.1/24, where dnsmasq and reef answer) and one end of a veth pair whose other end stays
 * on the host (10.98.N.1/30 ↔ 10.98.N.2/30), so the test reaches reef's API from the host as an
 * operator on another machine would. Processes started in it are this test's children; `remove`
 * deletes the namespace, and with it the tap and the veth pair. Root only.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

export interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export interface BootNet {
  ns: string;
  tap: string;
  /** The namespace's address on the VM's network: dnsmasq, reef and the file server answer here. */
  gateway: string;
  /** The namespace's end of the veth pair, which the host reaches. */
  nsSide: string;
  dhcpRange: [string, string];
  /** Starts `cmd args` inside the namespace (its pid is the command's own: `ip netns exec` execs it). */
  start(cmd: string, args: string[], env?: Record<string, string>): Started;
  /** Runs a command inside the namespace to its end; its stdout. */
  run(cmd: string, args: string[]): string;
  remove(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' }).toString();

/** A /24 in 10.99 and a /30 in 10.98 that no route on the host uses yet. */
const freeSubnet = (): number => {
  const routes = ip('-4', 'route', 'show', 'table', 'all');
  for (let i = 0; i < 250; i++) {
    const n = (process.pid + i) % 250;
    if (!routes.includes(`10.99.${n}.`) && !routes.includes(`10.98.${n}.`)) return n;
  }
  throw new Error('no free 10.99.N.0/24 for the e2e boot network');
};

export const createBootNet = (): BootNet => {
  const n = freeSubnet();
  const ns = `reef-e2e-${n}`;
  const tap = 'reeftap0';
  const hostIf = `re2h${n}`;
  const nsIf = `re2n${n}`;
  const gateway = `10.99.${n}.1`;
  const nsSide = `10.98.${n}.2`;
  ip('netns', 'add', ns);
  const inNs = (...args: string[]) => ip('netns', 'exec', ns, 'ip', ...args);
  try {
    inNs('link', 'set', 'lo', 'up');
    inNs('tuntap', 'add', 'dev', tap, 'mode', 'tap');
    inNs('addr', 'add', `${gateway}/24`, 'dev', tap);
    inNs('link', 'set', tap, 'up');
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', ns);
    ip('addr', 'add', `10.98.${n}.1/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    inNs('addr', 'add', `${nsSide}/30`, 'dev', nsIf);
    inNs('link', 'set', nsIf, 'up');
  } catch (err) {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    throw err;
  }
  return {
    ns,
    tap,
    gateway,
    nsSide,
    dhcpRange: [`10.99.${n}.100`, `10.99.${n}.150`],
    start(cmd, args, env = {}) {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      return { child, output: () => out, exited };
    },
    run: (cmd, args) => execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'pipe' }).toString(),
    remove() {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    },
  };
};

/** Stops a process this test started (SIGTERM, then SIGKILL after `graceMs`) and waits for it. */
export const stop = async (p: Started | undefined, graceMs = 5000): Promise<void> => {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
};

/** Resolves once `pattern` shows in the process's output; rejects with the output if it exits or `timeoutMs` passes first. */
export const waitForOutput = (p: Started, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<RegExpExecArray> =>
  new Promise((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(p.output());
      if (!m) return;
      cleanup();
      resolve(m);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} did not print ${pattern} within ${timeoutMs / 1000} s:\n${p.output()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      p.child.stdout!.off('data', check);
      p.child.stderr!.off('data', check);
    };
    p.child.stdout!.on('data', check);
    p.child.stderr!.on('data', check);
    p.exited.then((code) => {
      cleanup();
      reject(new Error(`${what} exited (${code}) before printing ${pattern}:\n${p.output()}`));
    });
    check();
  });
