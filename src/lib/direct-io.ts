/**
 * Direct I/O (O_DIRECT) for bulk files that are written once and read once, not kept hot: a
 * mirror's blob cache and its archives. Written through the page cache, every GiB costs a GiB of
 * fresh page-cache memory (on a VM with free-page reporting, each page a host fault: 1.3–2.5 s of
 * kernel CPU per GiB measured here, against 0.1 s for the same bytes written direct) and, on a small
 * edge box, evicts what the controller and the registry keep hot. Direct transfers go between the
 * device and our own reused buffers.
 *
 * O_DIRECT wants the buffer's address, the file offset and the length aligned to the device's
 * logical block (512 B or 4 KiB). Node cannot ask for an aligned allocation, so a buffer is
 * over-allocated by 4 KiB and the aligned window inside it is found by trying a 4 KiB transfer at
 * each 16-byte step (malloc's alignment) on the file at hand: EINVAL means "not aligned". Offsets
 * and lengths are kept at multiples of 4 KiB; a file whose size is not is written padded and cut
 * back with ftruncate. A filesystem without O_DIRECT (EINVAL at open) gets the buffered path.
 */
import { constants, openSync, readSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createBufferPool } from './buffer-pool.js';

/** Offsets and lengths of direct transfers are multiples of this. */
export const DIRECT_ALIGN = 4096;
const MALLOC_STEP = 16;
const O_DIRECT = constants.O_DIRECT ?? 0;

/**
 * Opens `path` with O_DIRECT added to `flags` (numeric open flags), or returns undefined when the
 * filesystem refuses direct I/O. Linux creates the file before it checks O_DIRECT, so a refused
 * O_CREAT|O_EXCL open has already made it: the caller's buffered retry must drop O_EXCL.
 */
export const openDirect = async (path: string, flags: number, mode = 0o644): Promise<FileHandle | undefined> => {
  if (!directAllowed()) return undefined;
  return open(path, flags | O_DIRECT, mode).catch(refusedDirect);
};

/** openDirect for an existing file, on the event loop (a registry upload switching to direct I/O mid-body): its fd, or undefined. */
export const openDirectSync = (path: string, flags: number): number | undefined => {
  if (!directAllowed()) return undefined;
  try {
    return openSync(path, flags | O_DIRECT);
  } catch (err) {
    return refusedDirect(err);
  }
};

const directAllowed = () => O_DIRECT !== 0 && process.env.REEF_NO_DIRECT_IO !== '1';

/** An open with O_DIRECT failed: undefined when the filesystem refuses direct I/O (EINVAL), else the error is thrown. */
const refusedDirect = (err: unknown): undefined => {
  if ((err as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
  throw err;
};

/** Aligned windows kept for reuse (apart from buffer-pool's plain buffers, which are not aligned). */
const aligned = createBufferPool();

/**
 * A `bytes`-long buffer whose address suits direct transfers on `fd` (probed with a 4 KiB write at
 * offset 0 for a file being written from the start, or a read at offset 0 of a non-empty file), or
 * undefined when no window works (then use buffered I/O). `bytes` must be a multiple of DIRECT_ALIGN.
 * `firstBytes`: what the probe writes (the file's real first 4 KiB, so that a crash right after the
 * probe leaves bytes that belong there rather than zeros); zeros when not given.
 */
export const takeAligned = (bytes: number, fd: number, probe: 'write' | 'read', firstBytes?: Buffer): Buffer | undefined => {
  /** One 4 KiB transfer at offset 0 from `window`: false when the device refuses its alignment (EINVAL). */
  const fits = (window: Buffer): boolean => {
    try {
      if (probe === 'write') {
        window.fill(0, 0, DIRECT_ALIGN);
        firstBytes?.copy(window, 0, 0, DIRECT_ALIGN);
        writeSync(fd, window, 0, DIRECT_ALIGN, 0);
      } else readSync(fd, window, 0, DIRECT_ALIGN, 0);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      return false;
    }
  };
  // A kept window was aligned for the file it was probed on; another filesystem may want more
  // (512-byte against 4 KiB sectors): tried again here, and dropped if it does not fit.
  for (let reused = aligned.reuse(bytes); reused; reused = aligned.reuse(bytes)) if (fits(reused)) return reused;
  const raw = Buffer.allocUnsafeSlow(bytes + DIRECT_ALIGN);
  for (let at = 0; at < DIRECT_ALIGN; at += MALLOC_STEP) {
    const window = raw.subarray(at, at + bytes);
    if (fits(window)) return window;
  }
  return undefined;
};

/** Gives an aligned buffer back for reuse (the holder must not touch it afterwards). */
export const giveAligned = (buffer: Buffer): void => aligned.keep(buffer);

/** `n` rounded up to a multiple of DIRECT_ALIGN. */
export const alignUp = (n: number): number => Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN;
