import { type ChildProcess, spawn } from 'node:child_process';

export interface ChildReef {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/** Runs `reef <args>` (from source, through tsx) as its own process, as an operator would. */
export const runReef = (args: string[], env: Record<string, string>) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
};

/** Starts `reef serve` and waits for its "reef listening on <url>" line. */
export const spawnReef = async (env: Record<string, string>): Promise<ChildReef> => {
  const r = runReef(['serve'], { REEF_LISTEN: '127.0.0.1:0', LOG_LEVEL: 'warn', ...env });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reef did not start:\n${r.output()}`)), 30_000);
    r.child.stdout!.on('data', () => {
      const m = /reef listening on (http:\/\/\S+)/.exec(r.output());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    r.exited.then((code) => reject(new Error(`reef exited (${code}) before listening:\n${r.output()}`)));
  });
  return { url, ...r };
};
