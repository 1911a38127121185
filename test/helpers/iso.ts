import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Reads one file out of an ISO image with xorriso (the real tool, Rock Ridge names). */
export const readIsoFile = (iso: Uint8Array, name: string): string => {
  const dir = mkdtempSync(join(tmpdir(), 'reef-iso-'));
  try {
    writeFileSync(join(dir, 'x.iso'), iso);
    execFileSync('xorriso', ['-osirrox', 'on', '-indev', join(dir, 'x.iso'), '-extract', `/${name}`, join(dir, 'out')], { stdio: 'pipe' });
    return readFileSync(join(dir, 'out'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/**
 * The per-job bearer token in a task ISO, found in its bytes (task.json is stored uncompressed).
 * For tests whose subject is the jobs API, not the ISO: they need no xorriso on the machine.
 */
export const taskTokenOf = (iso: Uint8Array): string => {
  const m = /"token": "([^"]+)"/.exec(Buffer.from(iso).toString('latin1'));
  if (!m) throw new Error('no "token" in the task ISO');
  return m[1]!;
};
