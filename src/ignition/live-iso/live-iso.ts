/**
 * Embedding an Ignition config into a CoreOS live ISO on disk (what `coreos-installer iso
 * ignition embed|show|remove` does), by positioned reads and writes: the ISO is never read
 * whole. With an output path the input is copied first (fs.copyFile: a reflink or
 * copy_file_range where the file system allows, else a kernel-side copy) to a temp file beside
 * the output, the area is written there, and the temp file is renamed into place.
 */
import { type FileHandle, open, rename } from 'node:fs/promises';
import { type Compression, decodeArea, encodeArea } from './area-codec.js';
import { type EmbedArea, locateEmbedArea } from './embed-area.js';
import { isInPlace, type PendingCopy, startCopy } from './copy.js';
import { LiveIsoError } from './errors.js';

/** An area larger than this is not an Ignition embed area (guards memory on odd images). */
const MAX_AREA = 64 * 1024 * 1024;

const readArea = async (fh: FileHandle): Promise<{ area: EmbedArea; bytes: Buffer }> => {
  const area = await locateEmbedArea(fh);
  if (area.length > MAX_AREA) throw new LiveIsoError('NOT_LIVE_ISO', `the embed area is ${area.length} bytes; refusing more than ${MAX_AREA}`);
  const bytes = Buffer.alloc(area.length);
  const { bytesRead } = await fh.read(bytes, 0, area.length, area.offset);
  if (bytesRead !== area.length) throw new LiveIsoError('NOT_LIVE_ISO', `the ISO ends inside its embed area (${area.file})`);
  return { area, bytes };
};

const writeAll = async (fh: FileHandle, bytes: Buffer, position: number) => {
  let done = 0;
  while (done < bytes.length) done += (await fh.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
};

/** Runs `fn` on a read-write handle of the file, fsyncing it first when asked. */
const withFile = async <T>(path: string, sync: boolean, fn: (fh: FileHandle) => Promise<T>): Promise<T> => {
  const fh = await open(path, 'r+');
  try {
    const result = await fn(fh);
    if (sync) await fh.sync();
    return result;
  } finally {
    await fh.close();
  }
};

/**
 * Writes the area of `input` (in place), or of a copy of it at `output`: `change` sees the
 * current area and returns the new bytes, or throws to leave everything untouched.
 */
const rewriteArea = async (
  opts: { input: string; output?: string; sync?: boolean; copy?: PendingCopy },
  change: (area: EmbedArea, current: Buffer) => Buffer,
): Promise<EmbedArea> => {
  const inPlace = isInPlace(opts.input, opts.output);
  const apply = async (fh: FileHandle) => {
    const { area, bytes } = await readArea(fh);
    await writeAll(fh, change(area, bytes), area.offset);
    return area;
  };
  if (inPlace) return withFile(opts.input, opts.sync ?? false, apply);
  // The copy runs while the change is decided on the input (a refusal discards it), then the
  // change is decided again on the copy (the input may have been replaced meanwhile): the copy
  // is what gets renamed into place.
  const copy = opts.copy ?? startCopy(opts.input, opts.output!);
  try {
    const src = await open(opts.input, 'r');
    try {
      const { area, bytes } = await readArea(src);
      change(area, bytes);
    } finally {
      await src.close();
    }
    await copy.done;
    const area = await withFile(copy.tmp, opts.sync ?? false, apply);
    await rename(copy.tmp, opts.output!);
    return area;
  } catch (err) {
    await copy.discard();
    throw err;
  }
};

export interface EmbedOptions {
  input: string;
  /** Write a new ISO here; in place when absent. */
  output?: string;
  config: Buffer;
  compression: Compression;
  /** Replace a config that is already embedded. */
  force?: boolean;
  /** fsync the written ISO before returning (the server does; the CLI, like cp, does not). */
  sync?: boolean;
  /** A copy of input to output already under way (startCopy). */
  copy?: PendingCopy;
}

/** Embeds `config`; returns the area used and the compressed size. */
export const embedIgnition = async (o: EmbedOptions): Promise<{ area: EmbedArea; packedBytes: number }> => {
  // The change is decided on the input and again on the copy: compress once per area size.
  let encoded: { length: number; bytes: Buffer; packedBytes: number } | undefined;
  const area = await rewriteArea(o, (a, current) => {
    if (!o.force && decodeIfAny(current)) throw new LiveIsoError('ALREADY_EMBEDDED', 'the ISO already has an embedded Ignition config; use --force to replace it');
    if (encoded?.length !== a.length) encoded = { length: a.length, ...encodeArea(o.config, a.length, o.compression) };
    return encoded.bytes;
  });
  return { area, packedBytes: encoded!.packedBytes };
};

/** Zeroes the embed area (a pristine ISO again), in place or into `output`. */
export const resetIgnition = (o: { input: string; output?: string; sync?: boolean; copy?: PendingCopy }): Promise<EmbedArea> =>
  rewriteArea(o, (a) => Buffer.alloc(a.length));

/** The embedded config of an ISO, or `config: undefined` when it is pristine. */
export const showIgnition = async (path: string): Promise<{ area: EmbedArea; config: Buffer | undefined; compression?: Compression }> => {
  const fh = await open(path, 'r');
  try {
    const { area, bytes } = await readArea(fh);
    const got = decodeArea(bytes);
    return { area, config: got?.config, compression: got?.compression };
  } finally {
    await fh.close();
  }
};

/** An area that is not pristine counts as embedded, even when it is unreadable (refuse without --force). */
const decodeIfAny = (area: Buffer): boolean => {
  try {
    return decodeArea(area) !== undefined;
  } catch {
    return true;
  }
};
