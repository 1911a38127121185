/**
 * oc-mirror v2's history (internal/pkg/history): `<working-dir>/.history/.history-<RFC3339>`,
 * one blob digest per line (`sha256:<hex>\n`), cumulative: each run writes a new file holding the
 * previous history plus the blobs it archived (manifests, configs, layers: every blob file).
 * A run reads the latest file, or with `--since` the latest strictly older than that time, and
 * archives only blobs it does not list. reef writes the lines sorted (oc-mirror's order is a
 * Go map's); reading ignores order and blank lines.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest } from '../../registry/core/digest.js';
import { writeDurable } from './durable.js';
import { MirrorArchiveError } from './errors.js';

export const HISTORY_DIR = '.history';
export const HISTORY_PREFIX = '.history-';
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export const historyFileName = (time: string): string => `${HISTORY_PREFIX}${time}`;

/** The time in a history file name, or undefined for a name that is not one. */
const fileTime = (name: string): number | undefined => {
  if (!name.startsWith(HISTORY_PREFIX)) return undefined;
  const text = name.slice(HISTORY_PREFIX.length);
  if (!RFC3339.test(text)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
};

/** The name of the latest history file (strictly before `before` when given), or undefined. */
export const latestHistoryName = async (workingDir: string, before?: Date): Promise<string | undefined> => {
  const names = await readdir(join(workingDir, HISTORY_DIR)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  let best: { name: string; t: number } | undefined;
  for (const name of names) {
    const t = fileTime(name);
    if (t === undefined || (before && t >= before.getTime())) continue;
    if (!best || t > best.t) best = { name, t };
  }
  return best?.name;
};

export const readHistory = async (workingDir: string, name: string): Promise<Set<string>> => {
  const text = await readFile(join(workingDir, HISTORY_DIR, name), 'utf8');
  const out = new Set<string>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (!isDigest(line)) throw new MirrorArchiveError('HISTORY_INVALID', `${HISTORY_DIR}/${name} line ${i + 1} is not a digest`, { file: name });
    out.add(line);
  }
  return out;
};

/** Writes `.history/.history-<time>` with the digests sorted, one a line; returns its path. */
export const writeHistory = async (workingDir: string, time: string, digests: Iterable<string>): Promise<string> => {
  await mkdir(join(workingDir, HISTORY_DIR), { recursive: true });
  const path = join(workingDir, HISTORY_DIR, historyFileName(time));
  const lines = [...new Set(digests)].sort().map((d) => `${d}\n`);
  await writeDurable(path, lines.join(''));
  return path;
};
