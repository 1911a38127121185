/**
 * The journal of an archive run, `<working-dir>/.reef/archive-journal.json`, rewritten whole and
 * durably at each step. It pins what must not change when a killed run is started again with the
 * same command: the run's time (names `isc_<time>` and `.history-<time>`, and is every member's
 * mtime, so rewritten chunks are byte-identical), the history read at the start, and each chunk
 * completed: its fingerprint, size and sha256. It is written before a chunk's `.partial` is
 * renamed, so a finished `mirror_*.tar` is always in it; it is removed once the history is written.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDurable } from './durable.js';

export const JOURNAL_FILE = 'archive-journal.json';

export interface JournalChunk {
  fingerprint: string;
  sha256: string;
  size: number;
}

export interface Journal {
  version: 1;
  /** RFC3339 UTC, whole seconds. */
  startedAt: string;
  /** The history file the run diffs against (name in .history/), or null for none. */
  baseline: string | null;
  /** Digests the caller said were shipped already, on top of the baseline. */
  alreadyShipped: string[];
  chunks: Record<string, JournalChunk>;
}

export const readJournal = async (stateDir: string): Promise<Journal | undefined> => {
  const text = await readFile(join(stateDir, JOURNAL_FILE), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (text === undefined) return undefined;
  const j = JSON.parse(text) as Journal;
  if (j.version !== 1 || typeof j.startedAt !== 'string' || typeof j.chunks !== 'object') throw new Error(`${JOURNAL_FILE}: not a reef archive journal (version ${String(j.version)})`);
  return j;
};

export const writeJournal = (stateDir: string, j: Journal): Promise<void> => writeDurable(join(stateDir, JOURNAL_FILE), `${JSON.stringify(j, null, 1)}\n`);

export const removeJournal = (stateDir: string): Promise<void> => rm(join(stateDir, JOURNAL_FILE), { force: true });
