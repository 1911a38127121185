/**
 * The hub → site sync's run history, kept in `<mirror working dir>/.reef/sync-runs.json` so a
 * restart does not forget what the last runs did. The file is rewritten whole (atomically) when a
 * run starts and when it ends. A run still `running` in the file was cut short by a stop or a
 * crash: it is loaded as failed, saying so.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../lib/atomic-file.js';

export const runSchema = z.object({
  id: z.number().int().positive(),
  trigger: z.enum(['schedule', 'api']),
  state: z.enum(['running', 'succeeded', 'failed']),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  images: z.number().int().nullable(),
  failed: z.array(z.object({ ref: z.string(), error: z.string() })),
  bytes: z.number(),
  error: z.string().nullable(),
});
export type MirrorRun = z.infer<typeof runSchema>;

export const runLogPath = (workingDir: string): string => join(workingDir, '.reef', 'sync-runs.json');

/** The runs in the file, newest first; [] when there is none. An unreadable file is an error naming it. */
export const loadRuns = async (path: string, loadedAt: string): Promise<MirrorRun[]> => {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not JSON (${(err as Error).message}); move it away to start a new run history`, { cause: err });
  }
  const runs = z.array(runSchema).safeParse(parsed);
  if (!runs.success) throw new Error(`${path}: not a mirror run history (${runs.error.issues[0]?.path.join('.')}: ${runs.error.issues[0]?.message}); move it away to start a new run history`);
  return runs.data.map((r) => (r.state === 'running' ? { ...r, state: 'failed', finished_at: loadedAt, error: 'reef stopped during this run; the next run picks up what it did not finish' } : r));
};

export const saveRuns = async (path: string, runs: MirrorRun[]): Promise<void> => {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, `${JSON.stringify(runs, null, 1)}\n`);
};
