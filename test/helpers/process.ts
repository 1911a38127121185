import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

export interface ChildReef {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/**
 * Runs `reef <args>` as its own process, as an operator would: from source through tsx, or,
 * with `built`, the compiled dist/cli.js that `npm start` runs (for memory measurements: tsx
 * itself adds tens of MB).
 */
export const runReef = (args: string[], env: Record<string, string>, opts: { built?: boolean } = {}) => {
  const entry = opts.built ? ['dist/cli.js'] : ['--import', 'tsx', 'src/cli.ts'];
  const child = spawn(process.execPath, [...entry, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
};

/** Runs `reef <args>` as a process to its end; stdout and stderr apart. */
export const reefResult = async (args: string[], env: Record<string, string> = {}, opts: { built?: boolean } = {}) => {
  const r = runReef(args, env, opts);
  let stdout = '';
  let stderr = '';
  r.child.stdout!.on('data', (d) => (stdout += d));
  r.child.stderr!.on('data', (d) => (stderr += d));
  const code = await r.exited;
  return { code, stdout, stderr };
};

/** Starts `reef serve` and waits for its "reef listening on <url>" line. */
export const spawnReef = async (env: Record<string, string>, opts: { built?: boolean } = {}): Promise<ChildReef> => {
  const r = runReef(['serve'], { REEF_LISTEN: '127.0.0.1:0', LOG_LEVEL: 'warn', ...env }, opts);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reef did not start:\n${r.output()}`)), 30_000);
    r.child.stdout!.on('data', () => {
      const m = /reef listening on (https?:\/\/\S+)/.exec(r.output());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    r.exited.then((code) => reject(new Error(`reef exited (${code}) before listening:\n${r.output()}`)));
  });
  return { url, ...r };
};

/** Compiles src/ to dist/ (what `npm start` runs), so a test of the built server tests this tree. */
export const buildDist = (): void => {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'pipe' });
};
