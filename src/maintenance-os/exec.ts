import { spawn } from 'node:child_process';

/** A step failed; `reason` is what the operator sees (for a tool: its exit status and stderr tail). */
export class StepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepError';
  }
}

/** The tool is not on PATH: callers that can do without it (the BCD store) report what is missing instead of failing. */
export class ToolMissing extends StepError {
  constructor(readonly tool: string) {
    super(`${tool} is not installed (not found on PATH)`);
    this.name = 'ToolMissing';
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  /** Exit codes that count as success (default [0]). */
  okCodes?: number[];
  input?: string;
}

/**
 * Runs system tools for the agent. The real runner spawns them; the dry-run runner prints each
 * command line and runs nothing, so `reef agent --dry-run` shows exactly what would happen.
 * `query` is for read-only probes (blkid, blockdev) that dry runs still answer with a placeholder.
 */
export interface Runner {
  readonly dryRun: boolean;
  run(cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Runs a read-only probe (blkid, blockdev, sgdisk -p): for real even in a dry run. */
  query(cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Logs an action done in-process (a file written, a directory moved), as dry runs print it. */
  note(text: string): void;
}

const TAIL = 2000;
export const tail = (text: string, max = TAIL) => (text.length > max ? `…${text.slice(-max)}` : text).trim();

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
export const commandLine = (cmd: string, args: string[]) => [cmd, ...args].map(quote).join(' ');

const spawnTool = (cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-64 * 1024)));
      if (opts.input !== undefined) child.stdin!.end(opts.input);
      child.on('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'ENOENT' ? new ToolMissing(cmd) : new StepError(`${cmd}: ${err.message}`)),
      );
      child.on('close', (code, signal) => {
        if ((opts.okCodes ?? [0]).includes(code ?? -1)) resolve({ stdout, stderr, code: code ?? -1 });
        else reject(new StepError(`${commandLine(cmd, args)} failed (${signal ? `signal ${signal}` : `exit ${code}`}): ${tail(stderr || stdout) || 'no output'}`));
      });
    });

export const createRunner = (log: (line: string) => void): Runner => ({
  dryRun: false,
  note: (text) => log(text),
  run: (cmd, args, opts) => {
    log(`+ ${commandLine(cmd, args)}`);
    return spawnTool(cmd, args, opts);
  },
  query: spawnTool,
});

export const createDryRunner = (log: (line: string) => void): Runner => ({
  dryRun: true,
  note: (text) => log(`(dry run) ${text}`),
  run: async (cmd, args) => {
    log(`(dry run) ${commandLine(cmd, args)}`);
    return { stdout: '', stderr: '', code: 0 };
  },
  query: spawnTool,
});
