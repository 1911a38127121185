/**
 * The tar members reef writes into mirror chunks, byte for byte: a POSIX ustar header per
 * regular file (mode 0644, uid/gid 0, the run's mtime), a pax `path=` header before it when
 * the name does not fit ustar's name/prefix split, the size in base-256 when it passes the
 * 11 octal digits (8 GiB; GNU tar and Go's archive/tar read both), data padded to 512 bytes,
 * two zero blocks at the end. Everything is a function of (name, size, mtime), so the size of
 * a chunk is known before it is written and a rewrite gives the same bytes.
 */
export const BLOCK = 512;
export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);
const MAX_OCTAL_SIZE = 0o77777777777;

export const padding = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;

/** ustar's split of a long name into prefix (≤155) and name (≤100) at a '/', or undefined. */
const ustarSplit = (name: string): { prefix: string; name: string } | undefined => {
  if (Buffer.byteLength(name) !== name.length) return undefined; // non-ASCII goes to pax
  if (name.length <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    if (i <= 155 && name.length - i - 1 <= 100 && name.length - i - 1 > 0) return { prefix: name.slice(0, i), name: name.slice(i + 1) };
  }
  return undefined;
};

/** One pax record, "<len> key=value\n", its length counting itself. */
const paxRecord = (key: string, value: string): Buffer => {
  const body = Buffer.byteLength(` ${key}=${value}\n`);
  let len = body + 1;
  while (String(len).length + body !== len) len = String(len).length + body;
  return Buffer.from(`${len} ${key}=${value}\n`);
};

const putOctal = (h: Buffer, at: number, width: number, n: number) => {
  h.write(`${n.toString(8).padStart(width - 1, '0')}\0`, at, width, 'latin1');
};

const ustarHeader = (name: string, prefix: string, type: '0' | 'x', size: number, mtime: number): Buffer => {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  putOctal(h, 100, 8, 0o644);
  putOctal(h, 108, 8, 0);
  putOctal(h, 116, 8, 0);
  if (size > MAX_OCTAL_SIZE) {
    h[124] = 0x80;
    let n = size;
    for (let i = 135; i > 124; i--, n = Math.floor(n / 256)) h[i] = n % 256;
  } else {
    putOctal(h, 124, 12, size);
  }
  putOctal(h, 136, 12, mtime);
  h.write(type, 156, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.write(prefix, 345, 155, 'utf8');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
};

/** The header block(s) of a regular file member: [pax header + its padded records] + ustar header. */
export const memberHeader = (path: string, size: number, mtime: number): Buffer => {
  const fits = ustarSplit(path);
  if (fits) return ustarHeader(fits.name, fits.prefix, '0', size, mtime);
  const records = paxRecord('path', path);
  const base = path.slice(path.lastIndexOf('/') + 1);
  const short = Buffer.from(base, 'utf8').subarray(0, 100).toString('latin1').replace(/[^\x20-\x7e]/g, '_');
  return Buffer.concat([ustarHeader(`PaxHeaders/${short}`.slice(0, 100), '', 'x', records.length, mtime), records, Buffer.alloc(padding(records.length)), ustarHeader(short, '', '0', size, mtime)]);
};

/** Bytes a member takes in the tar: header(s), data, padding. */
export const memberSize = (path: string, size: number): number => memberHeader(path, 0, 0).length + size + padding(size);

/** A member parsed back: its path, data size and where its data starts in the file. */
export interface TarMember {
  path: string;
  size: number;
  offset: number;
}

const cstring = (b: Buffer, start: number, len: number): string => {
  const end = b.indexOf(0, start);
  return b.toString('utf8', start, end < 0 || end > start + len ? start + len : end);
};

/** A numeric field: octal text, or base-256 when the top bit of its first byte is set. */
export const numericField = (b: Buffer, start: number, len: number): number | undefined => {
  if (b[start]! & 0x80) {
    let n = b[start]! & 0x7f;
    for (let i = start + 1; i < start + len; i++) n = n * 256 + b[i]!;
    return Number.isSafeInteger(n) ? n : undefined;
  }
  const text = cstring(b, start, len).trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
};

export const checksumOk = (h: Buffer): boolean => {
  const stored = numericField(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return stored === sum;
};

/** pax records as a map; undefined when malformed. */
export const paxRecords = (data: Buffer): Map<string, string> | undefined => {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length && data[pos] !== 0) {
    const space = data.indexOf(0x20, pos);
    const len = space > pos ? Number(data.toString('latin1', pos, space)) : Number.NaN;
    if (!Number.isSafeInteger(len) || len <= space - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) return undefined;
    const record = data.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) return undefined;
    out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
};

/** The name a ustar header gives (prefix joined when the magic says ustar). */
export const headerName = (h: Buffer): string => {
  const name = cstring(h, 0, 100);
  const magic = h.toString('latin1', 257, 263);
  const prefix = magic === 'ustar\0' ? cstring(h, 345, 155) : '';
  return prefix ? `${prefix}/${name}` : name;
};
