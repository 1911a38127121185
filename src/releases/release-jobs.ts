/**
 * The work running per release (a clone, an extraction, a verify), one at a time each, with a
 * real cancel: each job owns an AbortController whose signal runs through the engine.
 */
export interface RunningJob {
  kind: 'clone' | 'extract' | 'verify' | 'copy';
  controller: AbortController;
  done: Promise<void>;
}

export const createJobs = () => {
  const jobs = new Map<string, RunningJob>();
  return {
    get: (tag: string) => jobs.get(tag),
    /** Starts `work` for `tag`; the job is forgotten when it settles (its errors are the work's to handle). */
    start(tag: string, kind: RunningJob['kind'], work: (signal: AbortSignal) => Promise<void>): RunningJob {
      const controller = new AbortController();
      const job: RunningJob = { kind, controller, done: Promise.resolve() };
      job.done = work(controller.signal).finally(() => {
        if (jobs.get(tag) === job) jobs.delete(tag);
      });
      jobs.set(tag, job);
      return job;
    },
    /** Aborts the job of `tag` (if any) and waits for it to stop. */
    async cancel(tag: string, reason: string): Promise<boolean> {
      const job = jobs.get(tag);
      if (!job) return false;
      job.controller.abort(new Error(reason));
      await job.done.catch(() => undefined);
      return true;
    },
    async stopAll(reason: string) {
      const all = [...jobs.values()];
      for (const j of all) j.controller.abort(new Error(reason));
      await Promise.all(all.map((j) => j.done.catch(() => undefined)));
    },
    async settled() {
      while (jobs.size) await Promise.all([...jobs.values()].map((j) => j.done.catch(() => undefined)));
    },
  };
};
export type Jobs = ReturnType<typeof createJobs>;
