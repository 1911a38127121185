/**
 * Policy for tests that need something from the host (a command-line tool, a kernel feature):
 * when it is missing, the test FAILS under CI (`CI=true`) and is skipped with a loud warning
 * everywhere else, so a CI machine without the tool can never pass silently.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const found = new Map<string, boolean>();

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** True when `name` is an executable file in one of the `PATH` directories (or a path to one). */
export const findOnPath = (name: string): boolean => {
  const cached = found.get(name);
  if (cached !== undefined) return cached;
  const dirs = name.includes('/') ? [''] : (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const result = dirs.some((dir) => isExecutable(dir ? join(dir, name) : name));
  found.set(name, result);
  return result;
};

/**
 * Applies the policy to any requirement: returns true when `available`; otherwise throws when
 * `CI=true`, or prints a loud warning and returns false so the caller can skip.
 */
export const requireAvailable = (what: string, available: boolean): boolean => {
  if (available) return true;
  if (process.env.CI === 'true') {
    throw new Error(`${what} is required but missing (CI=true: failing instead of skipping)`);
  }
  console.warn(
    `\n${'!'.repeat(72)}\n!!! SKIPPING TEST: ${what} is missing on this machine.\n` +
      `!!! Install it (or run with CI=true to turn this skip into a failure).\n${'!'.repeat(72)}\n`,
  );
  return false;
};

/** Returns true when the command `name` is installed; see `requireAvailable` for the rest. */
export const requireTool = (name: string): boolean =>
  requireAvailable(`system tool "${name}"`, findOnPath(name));
