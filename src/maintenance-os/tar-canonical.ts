/**
 * One parse of the rootfs tar: reef reads each member's headers (ustar, pax `x`, GNU long
 * names), decides on it, and hands GNU tar a header it wrote itself from what it understood:
 * a pax header (path, linkpath, size, ids, names, mtime, xattrs) then a ustar header. The data
 * blocks pass through untouched. GNU tar therefore never reads a header reef did not write, so
 * the member it extracts is the member reef checked (issue 16: two parsers deciding separately
 * could be made to disagree). Forms reef does not write are refused: GNU sparse members,
 * multi-volume and other vendor types. Global pax headers are dropped: each member carries
 * all of its own attributes.
 */
import { StepError } from './exec.js';

/** A member as reef decided on it: its name, type and, for links, the target. */
export interface TarMember {
  name: string;
  type: string;
  linkname: string;
}

/** Largest pax extended header or GNU long name/link body taken: real ones are a few hundred bytes; a 1 GiB one is refused, not buffered. */
export const MAX_META_BYTES = 1024 * 1024;

const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK * 2);
/** Member types reef re-writes: file (0, and the old NUL and contiguous 7 as 0), hard link, symlink, devices, directory, FIFO. */
const KNOWN = new Set(['0', '1', '2', '3', '4', '5', '6']);
const NAMES: Record<string, string> = { S: 'GNU sparse file', V: 'volume label', M: 'multi-volume continuation', N: 'old GNU long name', D: 'GNU dump directory' };

/** A member or header form refused: the install step fails with this message, nothing extracted. */
export class TarRefused extends StepError {}

const cstring = (b: Buffer, start: number, len: number) => {
  const end = b.indexOf(0, start);
  return b.toString('utf8', start, end < 0 || end > start + len ? start + len : end);
};

const octal = (b: Buffer, start: number, len: number): number => {
  if (b[start]! & 0x80) {
    let n = 0;
    for (let i = start + 1; i < start + len; i++) n = n * 256 + b[i]!;
    return n;
  }
  const text = cstring(b, start, len).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarRefused(`tar: a header field is not octal (${JSON.stringify(text)})`);
  return parseInt(text, 8);
};

const paxRecords = (data: Buffer): Map<string, string> => {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length && data[pos] !== 0) {
    const space = data.indexOf(0x20, pos);
    const len = space > pos ? Number(data.toString('latin1', pos, space)) : Number.NaN;
    if (!Number.isSafeInteger(len) || len <= space - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw new TarRefused('tar: a malformed pax extended header record');
    }
    const record = data.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) throw new TarRefused('tar: a pax record without "key="');
    out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
};

/** One pax record: "<len> key=value\n", its length counting itself. */
const paxRecord = (key: string, value: string): Buffer => {
  const body = Buffer.byteLength(` ${key}=${value}\n`);
  let len = body + 1;
  while (String(len).length + body !== len) len = String(len).length + body;
  return Buffer.from(`${len} ${key}=${value}\n`);
};

const putOctal = (h: Buffer, at: number, len: number, n: number) => {
  h.write(`${n.toString(8).padStart(len - 1, '0')}\0`, at, len, 'latin1');
};

const header = (name: string, type: string, size: number, f: { mode: number; uid: number; gid: number; mtime: number; uname: string; gname: string; devmajor: number; devminor: number; linkname: string }): Buffer => {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  putOctal(h, 100, 8, f.mode & 0o7777);
  putOctal(h, 108, 8, Math.min(f.uid, 0o7777777));
  putOctal(h, 116, 8, Math.min(f.gid, 0o7777777));
  putOctal(h, 124, 12, Math.min(size, 0o77777777777));
  putOctal(h, 136, 12, Math.min(Math.max(0, Math.floor(f.mtime)), 0o77777777777));
  h.write(type, 156, 1, 'latin1');
  h.write(f.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  h.write(f.uname, 265, 32, 'utf8');
  h.write(f.gname, 297, 32, 'utf8');
  putOctal(h, 329, 8, f.devmajor);
  putOctal(h, 337, 8, f.devminor);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
};

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;
const ascii = (s: string) => /^[\x20-\x7e]*$/.test(s);

/**
 * Parses the archive as it streams (`push` per chunk) and returns, per chunk, the bytes GNU
 * tar is to get: re-written headers and the data blocks (views of the chunk). `onMember` sees
 * each member before its bytes are given out and throws to refuse it.
 */
export const createTarCanonicalizer = (onMember: (m: TarMember) => void) => {
  let data = 0; // data bytes (with padding) still to pass through
  let skip = 0; // bytes to drop (padding of a pax or long-name body)
  let partial = Buffer.alloc(0);
  let metaWanted = 0;
  let metaType = '';
  let meta: Buffer[] = [];
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  let ended = false;

  const onHeader = (h: Buffer, out: Buffer[]) => {
    if (h.every((x) => x === 0)) {
      ended = true;
      out.push(ZEROS);
      return;
    }
    const stored = octal(h, 148, 8);
    let sum = 0;
    let signed = 0;
    for (let i = 0; i < BLOCK; i++) {
      const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
      sum += b;
      signed += b > 127 ? b - 256 : b;
    }
    if (sum !== stored && signed !== stored) throw new TarRefused('tar: a header checksum does not match (damaged or not a tar archive)');
    const rawType = String.fromCharCode(h[156]! || 0x30);
    const size = octal(h, 124, 12);
    if (rawType === 'x' || rawType === 'L' || rawType === 'K' || rawType === 'g') {
      if (size > MAX_META_BYTES) throw new TarRefused(`tar: a ${rawType === 'L' || rawType === 'K' ? 'GNU long name' : 'pax extended header'} of ${size} bytes; at most ${MAX_META_BYTES} are taken`);
      metaType = rawType;
      metaWanted = size;
      meta = [];
      skip = padded(size) - size;
      if (size === 0) finishMeta();
      return;
    }
    const type = rawType === '7' ? '0' : rawType;
    if (!KNOWN.has(type)) throw new TarRefused(`tar: member type ${JSON.stringify(rawType)}${NAMES[rawType] ? ` (${NAMES[rawType]})` : ''} is not taken; repack the rootfs without it`);
    // POSIX ustar ("ustar\0" "00") splits long names into prefix + name; old GNU ("ustar  \0")
    // keeps other fields there, so its prefix area is never read as a name.
    const posix = h.toString('latin1', 257, 263) === 'ustar\0';
    const ustarLike = h.toString('latin1', 257, 262) === 'ustar';
    const prefix = posix ? cstring(h, 345, 155) : '';
    const base = cstring(h, 0, 100);
    const name = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${base}` : base);
    const linkname = pax.get('linkpath') ?? longLink ?? cstring(h, 157, 100);
    const num = (key: string, fallback: number) => {
      const v = pax.get(key);
      if (v === undefined) return fallback;
      if (!/^\d+(\.\d+)?$/.test(v)) throw new TarRefused(`tar: pax ${key} ${JSON.stringify(v)} is not a number`);
      return Number(v);
    };
    const realSize = num('size', size);
    if (!Number.isSafeInteger(realSize)) throw new TarRefused(`tar: member ${JSON.stringify(name)} has a size of ${realSize}`);
    if (type !== '0' && realSize !== 0) throw new TarRefused(`tar: member ${JSON.stringify(name)} of type ${type} carries ${realSize} bytes of data`);
    const f = {
      mode: octal(h, 100, 8),
      uid: num('uid', octal(h, 108, 8)),
      gid: num('gid', octal(h, 116, 8)),
      mtime: num('mtime', octal(h, 136, 12)),
      uname: pax.get('uname') ?? cstring(h, 265, 32),
      gname: pax.get('gname') ?? cstring(h, 297, 32),
      devmajor: ustarLike ? octal(h, 329, 8) : 0,
      devminor: ustarLike ? octal(h, 337, 8) : 0,
      linkname: '',
    };
    if (!Number.isSafeInteger(f.uid) || !Number.isSafeInteger(f.gid)) throw new TarRefused(`tar: member ${JSON.stringify(name)} has a non-integer owner`);
    onMember({ name, type, linkname: type === '1' || type === '2' ? linkname : '' });

    // The header GNU tar will read: every attribute reef understood, in a ustar header, with a pax
    // header before it only for what ustar cannot hold (names over 100 bytes or not ASCII, big
    // sizes and ids, exact times, xattrs). A pax header for every member cost a quarter of the
    // extraction speed (GNU tar parses each one).
    const nameFits = ascii(name) && Buffer.byteLength(name) <= 100;
    const linkFits = ascii(linkname) && Buffer.byteLength(linkname) <= 100;
    const records: Buffer[] = [];
    if (!nameFits) records.push(paxRecord('path', name));
    if ((type === '1' || type === '2') && !linkFits) records.push(paxRecord('linkpath', linkname));
    if (realSize > 0o77777777777) records.push(paxRecord('size', String(realSize)));
    if (f.uid > 0o7777777) records.push(paxRecord('uid', String(f.uid)));
    if (f.gid > 0o7777777) records.push(paxRecord('gid', String(f.gid)));
    if (!ascii(f.uname) || f.uname.length > 31) records.push(paxRecord('uname', f.uname));
    if (!ascii(f.gname) || f.gname.length > 31) records.push(paxRecord('gname', f.gname));
    if (pax.has('mtime')) records.push(paxRecord('mtime', pax.get('mtime')!));
    for (const [k, v] of pax) if (k.startsWith('SCHILY.xattr.')) records.push(paxRecord(k, v));
    if (records.length > 0) {
      const body = Buffer.concat(records);
      out.push(header('PaxHeader', 'x', body.length, { ...f, mode: 0o644, linkname: '' }), body, Buffer.alloc(padded(body.length) - body.length));
    }
    const shortName = nameFits ? name : name.slice(-99).replace(/[^\x20-\x7e]/g, '_');
    const shortLink = linkFits ? linkname : '';
    out.push(header(shortName, type, realSize, { ...f, linkname: type === '1' || type === '2' ? shortLink : '' }));
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    data = type === '0' ? padded(realSize) : 0;
  };

  const finishMeta = () => {
    const body = Buffer.concat(meta);
    if (metaType === 'x') for (const [k, v] of paxRecords(body)) pax.set(k, v);
    else if (metaType === 'L') longName = body.toString('utf8').replace(/\0+$/, '');
    else if (metaType === 'K') longLink = body.toString('utf8').replace(/\0+$/, '');
    // 'g' (global): dropped; every member is re-written with all of its own attributes.
    if (metaType === 'x' && [...pax.keys()].some((k) => k.startsWith('GNU.sparse.'))) {
      throw new TarRefused('tar: a GNU sparse member (pax GNU.sparse.*) is not taken; repack the rootfs without --sparse');
    }
    metaType = '';
  };

  return {
    /** Takes the next chunk; returns what to hand to GNU tar (views of `chunk` among them). Throws to refuse. */
    push(chunk: Buffer): Buffer[] {
      const out: Buffer[] = [];
      let pos = 0;
      while (pos < chunk.length && !ended) {
        if (metaWanted > 0) {
          const take = Math.min(metaWanted, chunk.length - pos);
          meta.push(Buffer.from(chunk.subarray(pos, pos + take)));
          metaWanted -= take;
          pos += take;
          if (metaWanted === 0) finishMeta();
          continue;
        }
        if (skip > 0) {
          const take = Math.min(skip, chunk.length - pos);
          skip -= take;
          pos += take;
          continue;
        }
        if (data > 0) {
          const take = Math.min(data, chunk.length - pos);
          out.push(chunk.subarray(pos, pos + take));
          data -= take;
          pos += take;
          continue;
        }
        const need = BLOCK - partial.length;
        if (partial.length === 0 && chunk.length - pos >= BLOCK) {
          onHeader(chunk.subarray(pos, pos + BLOCK), out);
          pos += BLOCK;
        } else {
          partial = Buffer.concat([partial, chunk.subarray(pos, pos + need)]);
          pos += Math.min(need, chunk.length - pos);
          if (partial.length === BLOCK) {
            const h = partial;
            partial = Buffer.alloc(0);
            onHeader(h, out);
          }
        }
      }
      return out;
    },
    get ended() {
      return ended;
    },
  };
};
