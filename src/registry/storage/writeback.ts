import { fdatasync } from 'node:fs';
import { promisify } from 'node:util';

export const fdatasyncAsync = promisify(fdatasync);

/**
 * Background writebacks in this process run one at a time, whatever the number of uploads: each
 * holds a threadpool thread for as long as the disk takes, and blob and manifest reads need those
 * threads too. Uploads that want one while another runs wait in line, first come first served.
 */
const writebacks = { running: false, waiting: [] as (() => void)[] };
const nextWriteback = () => {
  writebacks.running = false;
  writebacks.waiting.shift()?.();
};

export interface Writeback {
  /** Counts bytes written to the file; asks for a background fdatasync once `everyBytes` have piled up. */
  wrote(bytes: number): void;
  /**
   * Leaves the line, and settles once no writeback holds the fd (the file may be closed then),
   * with the error of a writeback that failed: the bytes are then not known to be on disk.
   */
  done(): Promise<{ error: unknown } | undefined>;
}

/**
 * Writeback of one open upload file: an fdatasync in the threadpool each time `everyBytes` have
 * been written (0 = never), so the disk works while the body is still arriving and a big upload
 * never piles up gigabytes of dirty pages.
 */
export const createWriteback = (fd: number, everyBytes: number, datasync: (fd: number) => Promise<void> = fdatasyncAsync): Writeback => {
  let syncing: Promise<void> | undefined;
  let failed: { error: unknown } | undefined;
  let unsynced = 0;
  let queued = false;
  const start = () => {
    queued = false;
    unsynced = 0;
    writebacks.running = true;
    syncing = datasync(fd).then(
      () => {
        syncing = undefined;
        nextWriteback();
      },
      (error: unknown) => {
        // Kept, not dropped: once seen here, the kernel would not report it to the commit's fsync.
        syncing = undefined;
        failed = { error };
        nextWriteback();
      },
    );
  };
  return {
    wrote(bytes) {
      unsynced += bytes;
      if (everyBytes <= 0 || unsynced < everyBytes || syncing || queued || failed) return;
      if (!writebacks.running) return start();
      queued = true;
      writebacks.waiting.push(start);
    },
    async done() {
      if (queued) writebacks.waiting.splice(writebacks.waiting.indexOf(start), 1);
      queued = false;
      await syncing;
      return failed;
    },
  };
};
