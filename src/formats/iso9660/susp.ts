/**
 * System Use entries (SUSP 1.10) and Rock Ridge entries (RRIP 1.10) as byte strings. Every
 * entry starts with a 2-letter signature, its total length and its entry version (1).
 */
import {
  RRIP_EXT_DESCRIPTOR,
  RRIP_EXT_ID,
  RRIP_EXT_SOURCE,
  RRIP_EXT_VERSION,
  TF_ACCESS,
  TF_ATTRIBUTES,
  TF_MODIFY,
} from './constants.js';
import { recordDate, writeBoth32 } from './encoding.js';

const entry = (signature: string, body: Uint8Array): Buffer => {
  const length = 4 + body.length;
  if (length > 255) throw new RangeError(`${signature} entry too long (${length} bytes)`);
  const out = Buffer.alloc(length);
  out.write(signature, 0, 2, 'latin1');
  out[2] = length;
  out[3] = 1;
  out.set(body, 4);
  return out;
};

/** SP: SUSP indicator, first entry of the root's "." record; check bytes BE EF, skip 0. */
export const spEntry = (): Buffer => entry('SP', Uint8Array.from([0xbe, 0xef, 0]));

/** RR: RRIP 1.10 list of the Rock Ridge entries recorded for this directory record. */
export const rrEntry = (flags: number): Buffer => entry('RR', Uint8Array.from([flags]));

/** PX: POSIX attributes, RRIP 1.10 form (mode, links, uid, gid, each both-endian 32). */
export const pxEntry = (mode: number, links: number): Buffer => {
  const body = Buffer.alloc(32);
  writeBoth32(body, 0, mode);
  writeBoth32(body, 8, links);
  writeBoth32(body, 16, 0);
  writeBoth32(body, 24, 0);
  return entry('PX', body);
};

/** NM: the alternate (POSIX) name, recorded in one entry with no flags. */
export const nmEntry = (name: string): Buffer => {
  const encoded = Buffer.from(name, 'latin1');
  const body = Buffer.alloc(1 + encoded.length);
  encoded.copy(body, 1);
  return entry('NM', body);
};

/** TF: modification, access and attribute-change times, all `time`, 7-byte form. */
export const tfEntry = (time: Date): Buffer => {
  const stamp = recordDate(time);
  return entry(
    'TF',
    Buffer.concat([Uint8Array.from([TF_MODIFY | TF_ACCESS | TF_ATTRIBUTES]), stamp, stamp, stamp]),
  );
};

/** Length of a CE entry. */
export const CE_ENTRY_LEN = 28;

/** CE: continuation area at `lba`, byte `offset`, `length` bytes (each both-endian 32). */
export const ceEntry = (lba: number, offset: number, length: number): Buffer => {
  const body = Buffer.alloc(24);
  writeBoth32(body, 0, lba);
  writeBoth32(body, 8, offset);
  writeBoth32(body, 16, length);
  return entry('CE', body);
};

/** ER: extension reference declaring RRIP 1.10 ("RRIP_1991A", version 1). */
export const erEntry = (): Buffer => {
  const id = Buffer.from(RRIP_EXT_ID, 'latin1');
  const des = Buffer.from(RRIP_EXT_DESCRIPTOR, 'latin1');
  const src = Buffer.from(RRIP_EXT_SOURCE, 'latin1');
  const head = Uint8Array.from([id.length, des.length, src.length, RRIP_EXT_VERSION]);
  return entry('ER', Buffer.concat([head, id, des, src]));
};
