/**
 * Watches a tar stream go by and reports each member's name, type and link target, without
 * copying or buffering the data (only a header that straddles two chunks is assembled). Knows
 * ustar (name + prefix), pax extended headers (`path`, `linkpath`) and GNU long names ('L', 'K').
 * Used to refuse unsafe members while GNU tar does the extracting.
 */
export interface TarMember {
  name: string;
  type: string;
  linkname: string;
}

const BLOCK = 512;
/** Largest pax extended header or GNU long name/link body taken: real ones are a few hundred bytes; a 1 GiB one is refused, not buffered. */
export const MAX_META_BYTES = 1024 * 1024;

const cstring = (b: Buffer, start: number, len: number) => {
  const end = b.indexOf(0, start);
  return b.toString('utf8', start, end < 0 || end > start + len ? start + len : end);
};

const octal = (b: Buffer, start: number, len: number): number => {
  if (b[start]! & 0x80) {
    // base-256 (GNU) for sizes over 8 GiB
    let n = 0;
    for (let i = start + 1; i < start + len; i++) n = n * 256 + b[i]!;
    return n;
  }
  const text = cstring(b, start, len).trim();
  return text ? parseInt(text, 8) : 0;
};

const paxRecords = (data: Buffer): Record<string, string> => {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number(data.toString('utf8', pos, space));
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
};

export const createTarScanner = (onMember: (m: TarMember) => void) => {
  let skip = 0; // data bytes (with padding) still to pass before the next header
  let header = Buffer.alloc(0); // a header split across chunks
  let metaWanted = 0; // bytes of a pax / GNU long-name body being collected
  let metaType = '';
  let meta: Buffer[] = [];
  let pending: { path?: string; linkpath?: string; size?: number } = {};
  let ended = false;

  const onHeader = (h: Buffer) => {
    if (h.every((x) => x === 0)) {
      ended = true; // end-of-archive block
      return;
    }
    const type = String.fromCharCode(h[156]! || 0x30);
    const isMeta = type === 'x' || type === 'L' || type === 'K' || type === 'g';
    // A pax `size` record overrides the member header's field (files of 8 GiB and more).
    const size = (!isMeta ? pending.size : undefined) ?? octal(h, 124, 12);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'L' || type === 'K') {
      if (size > MAX_META_BYTES) throw new Error(`tar: a ${type === 'x' ? 'pax extended header' : 'GNU long name'} of ${size} bytes; at most ${MAX_META_BYTES} are taken`);
      metaType = type;
      metaWanted = size;
      meta = [];
      skip = padded - size;
      return;
    }
    skip = type === '5' || type === '1' || type === '2' || type === '3' || type === '4' || type === '6' ? 0 : padded;
    if (type === 'g') return; // global pax header: nothing about a member
    const magic = h.toString('latin1', 257, 262);
    const prefix = magic === 'ustar' ? cstring(h, 345, 155) : '';
    const base = cstring(h, 0, 100);
    const name = pending.path ?? (prefix ? `${prefix}/${base}` : base);
    const linkname = pending.linkpath ?? cstring(h, 157, 100);
    pending = {};
    onMember({ name, type, linkname });
  };

  const finishMeta = () => {
    const body = Buffer.concat(meta);
    if (metaType === 'x') {
      const r = paxRecords(body);
      if (r.path !== undefined) pending.path = r.path;
      if (r.linkpath !== undefined) pending.linkpath = r.linkpath;
      if (r.size !== undefined) {
        if (!/^\d+$/.test(r.size)) throw new Error(`tar: bad pax size ${JSON.stringify(r.size)}`);
        pending.size = Number(r.size);
      }
    } else {
      const text = body.toString('utf8').replace(/\0+$/, '');
      if (metaType === 'L') pending.path = text;
      else pending.linkpath = text;
    }
    metaType = '';
  };

  return {
    /** Feeds the next chunk of the (decompressed) archive; throws what `onMember` throws. */
    push(chunk: Buffer): void {
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
        const need = BLOCK - header.length;
        if (header.length === 0 && chunk.length - pos >= BLOCK) {
          onHeader(chunk.subarray(pos, pos + BLOCK));
          pos += BLOCK;
        } else {
          header = Buffer.concat([header, chunk.subarray(pos, pos + need)]);
          pos += Math.min(need, chunk.length - pos);
          if (header.length === BLOCK) {
            const h = header;
            header = Buffer.alloc(0);
            onHeader(h);
          }
        }
      }
    },
    get ended() {
      return ended;
    },
  };
};
