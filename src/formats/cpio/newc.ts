/**
 * The "newc" (SVR4, no CRC) cpio format, as the Linux kernel reads an initramfs and as
 * `cpio -H newc` writes it. Each member is a 110-byte ASCII header ("070701" and thirteen
 * 8-digit hex fields), the name with its NUL padded to a multiple of 4, then the data padded to
 * a multiple of 4. The archive ends with a member named "TRAILER!!!".
 *
 * Meant for small archives (an Ignition config, a few scripts): it works on Buffers.
 */

export interface NewcEntry {
  /** Path inside the archive, without a leading "/" (e.g. "config.ign" or "etc/x.conf"). */
  name: string;
  data: Buffer;
  /**
   * st_mode. Permission bits alone (e.g. 0o644) mean a regular file; pass the type bits for
   * anything else (0o040755 for a directory).
   */
  mode?: number;
  /** Modification time in seconds since the epoch (default 0). */
  mtime?: number;
}

export interface NewcMember {
  name: string;
  data: Buffer;
  /** Full st_mode, type bits included (0o100644 for a regular file). */
  mode: number;
  mtime: number;
}

export class CpioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CpioError';
  }
}

const MAGIC = '070701';
const MAGIC_CRC = '070702';
const HEADER = 110;
const TRAILER = 'TRAILER!!!';
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const MAX_FIELD = 0xffffffff;

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

const hex8 = (value: number, field: string): string => {
  if (!Number.isInteger(value) || value < 0 || value > MAX_FIELD) throw new CpioError(`cpio ${field} ${value} does not fit a newc header`);
  return value.toString(16).padStart(8, '0');
};

const member = (name: string, data: Buffer, f: { ino: number; mode: number; nlink: number; mtime: number }): Buffer[] => {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const header =
    MAGIC +
    hex8(f.ino, 'inode') +
    hex8(f.mode, 'mode') +
    hex8(0, 'uid') +
    hex8(0, 'gid') +
    hex8(f.nlink, 'nlink') +
    hex8(f.mtime, 'mtime') +
    hex8(data.length, 'file size') +
    hex8(0, 'devmajor') +
    hex8(0, 'devminor') +
    hex8(0, 'rdevmajor') +
    hex8(0, 'rdevminor') +
    hex8(nameBytes.length, 'name size') +
    hex8(0, 'check');
  return [
    Buffer.from(header, 'ascii'),
    nameBytes,
    Buffer.alloc(pad4(HEADER + nameBytes.length)),
    data,
    Buffer.alloc(pad4(data.length)),
  ];
};

/**
 * Writes a newc archive holding `entries` in order (owner root, one link each, inodes numbered
 * from 1), ended by the trailer. `blockSize` pads the whole archive with zeros to a multiple of
 * it (GNU cpio pads to 512); 0 means no padding.
 */
export const writeNewc = (entries: NewcEntry[], opts: { blockSize?: number } = {}): Buffer => {
  const parts: Buffer[] = [];
  entries.forEach((e, i) => {
    const name = e.name.replace(/^\/+/, '');
    if (!name || name === TRAILER) throw new CpioError(`cpio entry ${i} has an invalid name ${JSON.stringify(e.name)}`);
    const raw = e.mode ?? 0o644;
    const mode = (raw & S_IFMT) === 0 ? raw | S_IFREG : raw;
    const isDir = (mode & S_IFMT) === S_IFDIR;
    if (isDir && e.data.length > 0) throw new CpioError(`cpio entry ${name} is a directory but has data`);
    parts.push(...member(name, e.data, { ino: i + 1, mode, nlink: isDir ? 2 : 1, mtime: e.mtime ?? 0 }));
  });
  parts.push(...member(TRAILER, Buffer.alloc(0), { ino: 0, mode: 0, nlink: 1, mtime: 0 }));
  const size = parts.reduce((n, p) => n + p.length, 0);
  const block = opts.blockSize ?? 0;
  if (block > 0 && size % block) parts.push(Buffer.alloc(block - (size % block)));
  return Buffer.concat(parts);
};

const field = (buf: Buffer, at: number, index: number): number => {
  const text = buf.toString('ascii', at + 6 + index * 8, at + 14 + index * 8);
  if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new CpioError(`cpio header at byte ${at}: field ${index} is not hex (${JSON.stringify(text)})`);
  return parseInt(text, 16);
};

/**
 * Reads a newc archive (magic 070701, or 070702 whose checksums are not verified) up to its
 * trailer; zero padding after the trailer is ignored. Hard-linked members of the newc format
 * (data on the last link only) come back as written. Throws CpioError on a damaged archive.
 */
export const readNewc = (buf: Buffer): NewcMember[] => {
  const out: NewcMember[] = [];
  let at = 0;
  for (;;) {
    if (at + HEADER > buf.length) throw new CpioError(`cpio archive truncated at byte ${at} (no trailer)`);
    const magic = buf.toString('ascii', at, at + 6);
    if (magic !== MAGIC && magic !== MAGIC_CRC) throw new CpioError(`cpio header at byte ${at}: bad magic ${JSON.stringify(magic)} (not newc)`);
    const mode = field(buf, at, 1);
    const mtime = field(buf, at, 5);
    const size = field(buf, at, 6);
    const nameSize = field(buf, at, 11);
    if (nameSize < 1) throw new CpioError(`cpio header at byte ${at}: empty name`);
    const nameAt = at + HEADER;
    const dataAt = nameAt + nameSize + pad4(HEADER + nameSize);
    if (dataAt + size > buf.length) throw new CpioError(`cpio member at byte ${at} runs past the end of the archive`);
    if (buf[nameAt + nameSize - 1] !== 0) throw new CpioError(`cpio header at byte ${at}: name is not NUL-terminated`);
    const name = buf.toString('utf8', nameAt, nameAt + nameSize - 1);
    if (name === TRAILER) return out;
    out.push({ name, data: Buffer.from(buf.subarray(dataAt, dataAt + size)), mode, mtime });
    at = dataAt + size + pad4(size);
  }
};
