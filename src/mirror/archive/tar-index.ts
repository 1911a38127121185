/**
 * Lists the regular-file members of a tar file with the offset of each one's data, reading only
 * headers (positional reads; data is skipped, never read). Understands what reef and oc-mirror
 * (Go's archive/tar) write: ustar with a name prefix, pax `x` headers (path, size), GNU long
 * names (`L`), base-256 sizes; global pax headers and other member types are skipped.
 */
import type { FileHandle } from 'node:fs/promises';
import { MirrorArchiveError } from './errors.js';
import { BLOCK, checksumOk, headerName, numericField, padding, paxRecords, type TarMember } from './tar-format.js';

/** Largest pax or long-name body taken (real ones are a few hundred bytes). */
const MAX_META = 1024 * 1024;

export const indexTar = async (fh: FileHandle, fileSize: number, file: string): Promise<TarMember[]> => {
  const bad = (what: string, at: number) => new MirrorArchiveError('TAR_INVALID', `${file}: ${what} at byte ${at}`, { file });
  const read = async (at: number, len: number): Promise<Buffer> => {
    if (at + len > fileSize) throw bad('truncated tar', at);
    const buf = Buffer.alloc(len);
    let done = 0;
    while (done < len) {
      const { bytesRead } = await fh.read(buf, done, len - done, at + done);
      if (bytesRead === 0) throw bad('truncated tar', at + done);
      done += bytesRead;
    }
    return buf;
  };
  const members: TarMember[] = [];
  let pos = 0;
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  while (pos + BLOCK <= fileSize) {
    const h = await read(pos, BLOCK);
    if (h.every((b) => b === 0)) return members;
    if (!checksumOk(h)) throw bad('bad header checksum', pos);
    const type = h.toString('latin1', 156, 157);
    const headerSize = numericField(h, 124, 12);
    if (headerSize === undefined) throw bad('bad size field', pos);
    const dataAt = pos + BLOCK;
    if (type === 'x' || type === 'L') {
      if (headerSize > MAX_META) throw bad('oversized extended header', pos);
      const body = await read(dataAt, headerSize);
      if (type === 'L') {
        const nul = body.indexOf(0);
        longName = body.toString('utf8', 0, nul < 0 ? body.length : nul);
      } else {
        pax = paxRecords(body);
        if (!pax) throw bad('malformed pax header', pos);
      }
      pos = dataAt + headerSize + padding(headerSize);
      continue;
    }
    const paxSize = pax?.get('size');
    const size = paxSize !== undefined && /^\d+$/.test(paxSize) ? Number(paxSize) : headerSize;
    const path = (pax?.get('path') ?? longName ?? headerName(h)).replace(/^(\.\/)+/, '');
    pax = undefined;
    longName = undefined;
    const regular = type === '0' || type === '\0' || type === '7';
    if (regular) members.push({ path, size, offset: dataAt });
    // Links and directories carry no data whatever their size field says; anything else
    // ('g' global pax, FIFOs, vendor types) is skipped by its size.
    const dataSize = type === '1' || type === '2' || type === '5' ? 0 : size;
    pos = dataAt + dataSize + padding(dataSize);
    if (pos > fileSize) throw bad(`truncated member ${JSON.stringify(path)}`, dataAt);
  }
  if (pos !== fileSize) throw bad('truncated tar', pos);
  return members;
};
