import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import type { CommandResult, Runner } from './partition.js';

/** Runs a command without a shell (stdin closed), collecting its output; resolves with exit code 127 when it cannot start. */
export const runCommand: Runner = (cmd, args) =>
  new Promise<CommandResult>((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => resolve({ code: 127, stdout, stderr: `${stderr}${err.message}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

export const pathExists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );
