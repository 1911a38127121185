import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { isDiskFull } from './atomic-file.js';

/**
 * A file held on the data disk so that, once the disk is full, the operations that free
 * space (deleting tags, GC) still have room for their own database writes: they release it and
 * try again. Re-made once there is room again.
 */
export interface SpaceReserve {
  /** Frees the reserved space; true when there was some to free. */
  release(): boolean;
  /** Makes (or completes) the reserve; false when the disk has no room for it now. */
  restore(): boolean;
}

export const createSpaceReserve = (file: string, bytes: number): SpaceReserve => {
  // Random, not zeros: a compressing file system (ZFS, btrfs with compression) would store zeros in next to nothing.
  const filler = randomBytes(Math.max(1, Math.min(bytes, 1024 * 1024)));
  const size = () => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  return {
    release() {
      const had = size() > 0;
      rmSync(file, { force: true });
      return had;
    },
    /** Never takes the disk's last bytes: made only while at least as much again stays free. */
    restore() {
      if (bytes <= 0) return true;
      let at = size();
      if (at >= bytes) return true;
      const fs = statfsSync(dirname(file));
      if (fs.bavail * fs.bsize < 2 * (bytes - at)) return false;
      const fd = openSync(file, 'a', 0o600);
      try {
        while (at < bytes) at += writeSync(fd, filler, 0, Math.min(filler.length, bytes - at), at);
        return true;
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        rmSync(file, { force: true });
        return false;
      } finally {
        closeSync(fd);
      }
    },
  };
};

/**
 * Runs `fn`; when it fails for want of space, releases the reserve and runs it once more. The
 * reserve is made again afterwards if there is room (else at the next call).
 */
export const withSpaceReserve = async <T>(reserve: SpaceReserve | undefined, fn: () => Promise<T>): Promise<T> => {
  try {
    return await fn();
  } catch (err) {
    if (!reserve || !isDiskFull(err) || !reserve.release()) throw err;
    return await fn();
  } finally {
    reserve?.restore();
  }
};
