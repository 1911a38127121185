/** Helpers for servers a test runs as child processes on 127.0.0.1 (docker-registry, sshd). */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

/** A port free on 127.0.0.1 a moment ago. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });

export const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/** Waits until `port` accepts connections; fails with the child's output when it exits or takes longer than `ms`. */
export const waitListening = async (what: string, port: number, child: ChildProcess, output: () => string, ms = 30_000) => {
  const started = Date.now();
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`${what} exited (code ${child.exitCode}):\n${output()}`);
    if (Date.now() - started > ms) throw new Error(`${what} did not start within ${ms / 1000} s:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** SIGTERM, then wait for the exit (nothing to do when it has exited). */
export const stopChild = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
};
