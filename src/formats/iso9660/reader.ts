/**
 * Reader of ISO 9660 (ECMA-119) directory structures by positioned reads: the volume descriptors
 * from sector 16, the Primary Volume Descriptor's root directory record, then directory records
 * down a path. The image is never loaded whole; only the descriptors and the directories walked
 * are read. Names are the plain ISO 9660 identifiers (upper case, `;1` version stripped), and
 * the Rock Ridge names where the image records them (NM).
 */
import { type ReadAt, readFully } from '../../lib/read-fully.js';
import { FLAG_DIRECTORY, PVD_LBA, SECTOR_SIZE, STANDARD_ID, VD_TYPE_PRIMARY, VD_TYPE_TERMINATOR } from './constants.js';

/** What the reader needs of a file: node's FileHandle fits. */
export type { ReadAt };

export interface IsoEntry {
  /** ISO 9660 identifier without the `;version` suffix and without a trailing '.' */
  name: string;
  /** First logical block of the data. */
  extent: number;
  /** Data length in bytes. */
  size: number;
  directory: boolean;
  /** The Rock Ridge (POSIX) name from the record's NM entries, when the image has them. */
  rrName?: string;
}

export interface IsoVolume {
  blockSize: number;
  root: IsoEntry;
}

export class IsoFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IsoFormatError';
  }
}

/** A directory listing larger than this is not a plausible live ISO (guards a corrupt length). */
const MAX_DIR_BYTES = 16 * 1024 * 1024;
/** Volume descriptors searched before giving up on a terminator. */
const MAX_DESCRIPTORS = 64;
/** Components a path lookup follows: no live ISO nests deeper; a crafted path may ask for thousands. */
export const MAX_PATH_DEPTH = 64;
/** Directory bytes one path lookup may read in all (a crafted image makes each listing 16 MiB). */
const MAX_WALK_BYTES = 64 * 1024 * 1024;

const readExactly = (src: ReadAt, position: number, length: number): Promise<Buffer> =>
  readFully(src, Buffer.alloc(length), position, () => new IsoFormatError(`not an ISO 9660 image: it ends before byte ${position + length}`));

const cleanName = (raw: string): string => raw.replace(/;\d*$/, '').replace(/\.$/, '');

/**
 * The Rock Ridge alternate name of a record: the NM entries of its System Use area (SUSP: a
 * 2-byte signature, a length, a version, data; NM data = flags + name part, flag 1 = continued).
 * Names spilled into a continuation area (CE) are not followed; the ISO name is used then.
 */
const rockRidgeName = (buf: Buffer, from: number, end: number): string | undefined => {
  let name: string | undefined;
  let at = from;
  while (at + 4 <= end) {
    const sig = buf.toString('latin1', at, at + 2);
    const len = buf[at + 2]!;
    if (len < 4 || at + len > end) break;
    if (sig === 'NM' && len >= 5) {
      const flags = buf[at + 4]!;
      if ((flags & 0x06) === 0) name = (name ?? '') + buf.toString('utf8', at + 5, at + len);
    }
    if (sig === 'ST') break;
    at += len;
  }
  return name;
};

/** Parses the directory record at `at` in `buf` (its first byte is the record length). */
export const parseDirRecord = (buf: Buffer, at: number): IsoEntry & { length: number } => {
  const length = buf[at]!;
  if (length < 34 || at + length > buf.length) throw new IsoFormatError(`corrupt directory record at offset ${at} (length ${length})`);
  const idLen = buf[at + 32]!;
  if (33 + idLen > length) throw new IsoFormatError(`corrupt directory record at offset ${at} (identifier longer than the record)`);
  const id = buf.subarray(at + 33, at + 33 + idLen);
  const name = idLen === 1 && id[0]! <= 1 ? (id[0] === 0 ? '.' : '..') : cleanName(id.toString('latin1'));
  // The System Use area follows the identifier (and its padding byte when the length is even).
  const rrName = rockRidgeName(buf, at + 33 + idLen + (idLen % 2 === 0 ? 1 : 0), at + length);
  return {
    length,
    name,
    extent: buf.readUInt32LE(at + 2),
    size: buf.readUInt32LE(at + 10),
    directory: (buf[at + 25]! & FLAG_DIRECTORY) !== 0,
    ...(rrName !== undefined ? { rrName } : {}),
  };
};

/** Walks the volume descriptors from sector 16 to the Primary Volume Descriptor. */
export const readVolume = async (src: ReadAt): Promise<IsoVolume> => {
  for (let i = 0; i < MAX_DESCRIPTORS; i++) {
    const vd = await readExactly(src, (PVD_LBA + i) * SECTOR_SIZE, SECTOR_SIZE);
    if (vd.toString('latin1', 1, 6) !== STANDARD_ID) throw new IsoFormatError(`not an ISO 9660 image: no volume descriptor at byte ${(PVD_LBA + i) * SECTOR_SIZE}`);
    if (vd[0] === VD_TYPE_TERMINATOR) break;
    if (vd[0] !== VD_TYPE_PRIMARY) continue;
    const blockSize = vd.readUInt16LE(128);
    if (blockSize !== 512 && blockSize !== 1024 && blockSize !== 2048) throw new IsoFormatError(`unsupported logical block size ${blockSize}`);
    const root = parseDirRecord(vd, 156);
    return { blockSize, root: { name: '', extent: root.extent, size: root.size, directory: true } };
  }
  throw new IsoFormatError('not an ISO 9660 image: no primary volume descriptor');
};

/**
 * Lists a directory: its extent may span many sectors; records never cross a sector boundary,
 * and a zero length byte means the rest of that sector is padding.
 */
export const listDirectory = async (src: ReadAt, vol: IsoVolume, dir: IsoEntry): Promise<IsoEntry[]> => {
  if (!dir.directory) throw new IsoFormatError(`${dir.name} is not a directory`);
  if (dir.size > MAX_DIR_BYTES) throw new IsoFormatError(`directory ${dir.name || '/'} claims ${dir.size} bytes`);
  const data = await readExactly(src, dir.extent * vol.blockSize, dir.size);
  const out: IsoEntry[] = [];
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) {
      at = (Math.floor(at / SECTOR_SIZE) + 1) * SECTOR_SIZE;
      continue;
    }
    const { length, ...entry } = parseDirRecord(data, at);
    if (Math.floor(at / SECTOR_SIZE) !== Math.floor((at + length - 1) / SECTOR_SIZE)) {
      throw new IsoFormatError(`corrupt directory ${dir.name || '/'}: a record crosses a sector boundary at offset ${at}`);
    }
    if (entry.name !== '.' && entry.name !== '..') out.push(entry);
    at += length;
  }
  return out;
};

/** Reads a (small) file's bytes. */
export const readEntry = (src: ReadAt, vol: IsoVolume, entry: IsoEntry, max = 64 * 1024 * 1024): Promise<Buffer> => {
  if (entry.directory) throw new IsoFormatError(`${entry.rrName ?? entry.name} is a directory`);
  if (entry.size > max) throw new IsoFormatError(`${entry.rrName ?? entry.name} is ${entry.size} bytes, over ${max}`);
  return readExactly(src, entry.extent * vol.blockSize, entry.size);
};

/**
 * Finds `path` (components separated by '/', compared case-insensitively with the ISO names)
 * from the root; each component may list several accepted spellings (`IGNINFO.JSO|IGNINFO.JSON`).
 * Returns undefined when any component is missing. Bounded whatever the image or the path: at
 * most MAX_PATH_DEPTH components and MAX_WALK_BYTES of directories, and a directory met twice
 * on the way (a record pointing back at an ancestor: a loop no real image has) is refused.
 * `onDirectory` is told each directory the lookup lists, the root first.
 */
export const findPath = async (src: ReadAt, vol: IsoVolume, path: string, onDirectory?: (dir: IsoEntry) => void): Promise<IsoEntry | undefined> => {
  const parts = path.split('/').filter(Boolean);
  if (parts.length > MAX_PATH_DEPTH) throw new IsoFormatError(`path of ${parts.length} components; at most ${MAX_PATH_DEPTH} are followed`);
  let cur: IsoEntry = vol.root;
  const seen = new Set<number>();
  let read = 0;
  for (const part of parts) {
    if (!cur.directory) return undefined;
    if (seen.has(cur.extent)) throw new IsoFormatError(`directory loop: the directory at block ${cur.extent} contains itself`);
    seen.add(cur.extent);
    read += cur.size;
    if (read > MAX_WALK_BYTES) throw new IsoFormatError(`path lookup read over ${MAX_WALK_BYTES} bytes of directories`);
    onDirectory?.(cur);
    const wanted = part.toUpperCase().split('|');
    const next = (await listDirectory(src, vol, cur)).find((e) => wanted.includes(e.name.toUpperCase()));
    if (!next) return undefined;
    cur = next;
  }
  return cur;
};
