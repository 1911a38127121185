/**
 * Runs a tool reef did not write (openshift-install, scp) as a child: an argv array (never a
 * shell), the environment given and nothing else, stdout and stderr to a log file or kept in
 * memory (the last 16 KiB), in its own process group so a timeout or an abort ends it and every
 * child it started.
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';

export interface RunToolOptions {
  cwd?: string;
  env: Record<string, string>;
  /** Appends the child's output here; else the tail is kept in memory. */
  logFile?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Told of each chunk of output (for progress parsing). */
  onOutput?: (text: string) => void;
}

export interface RunToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** The last 16 KiB of output (when not logging to a file, or as well). */
  tail: string;
}

const TAIL = 16 * 1024;

export const runTool = async (command: string, args: string[], o: RunToolOptions): Promise<RunToolResult> => {
  const log = o.logFile ? await open(o.logFile, 'a', 0o600) : undefined;
  try {
    o.signal?.throwIfAborted();
    const child = spawn(command, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let tail = '';
    let timedOut = false;
    let aborted = false;
    const writes: Promise<unknown>[] = [];
    const onData = (d: Buffer) => {
      const text = d.toString('utf8');
      tail = (tail + text).slice(-TAIL);
      o.onOutput?.(text);
      if (log) writes.push(log.write(d));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, o.timeoutMs);
    const onAbort = () => {
      aborted = true;
      killGroup();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (c, s) => resolve([c, s]));
      });
      await Promise.all(writes);
      return { code, signal, timedOut, aborted, tail };
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      // Grandchildren left behind (the tool exited, its helpers did not) go with it.
      killGroup();
    }
  } finally {
    await log?.close();
  }
};
