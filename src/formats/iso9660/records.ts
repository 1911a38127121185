/** Directory records (ECMA-119 9.1) and path table records (ECMA-119 9.4). */
import { DIR_RECORD_FIXED_LEN, DIR_RECORD_MAX_LEN, FLAG_DIRECTORY } from './constants.js';
import { writeBoth16, writeBoth32 } from './encoding.js';

export interface DirRecord {
  extent: number;
  size: number;
  directory: boolean;
  /** File identifier bytes: 0x00 for ".", 0x01 for "..", otherwise "NAME.EXT;1". */
  identifier: Uint8Array;
  /** 7-byte recording date. */
  date: Uint8Array;
  /** System Use area (SUSP entries). */
  systemUse: Uint8Array;
}

/** Total (even) length of the record for a given identifier and System Use length. */
export const dirRecordLength = (identifierLength: number, systemUseLength: number): number => {
  const idPad = identifierLength % 2 === 0 ? 1 : 0;
  const raw = DIR_RECORD_FIXED_LEN + identifierLength + idPad + systemUseLength;
  return raw + (raw % 2);
};

export const encodeDirRecord = (record: DirRecord): Buffer => {
  const idLen = record.identifier.length;
  const length = dirRecordLength(idLen, record.systemUse.length);
  if (length > DIR_RECORD_MAX_LEN) {
    throw new RangeError(`directory record too long (${length} bytes)`);
  }
  const out = Buffer.alloc(length);
  out[0] = length;
  out[1] = 0; // extended attribute record length
  writeBoth32(out, 2, record.extent);
  writeBoth32(out, 10, record.size);
  out.set(record.date, 18);
  out[25] = record.directory ? FLAG_DIRECTORY : 0;
  out[26] = 0; // file unit size (not interleaved)
  out[27] = 0; // interleave gap size
  writeBoth16(out, 28, 1); // volume sequence number
  out[32] = idLen;
  out.set(record.identifier, 33);
  const suOffset = 33 + idLen + (idLen % 2 === 0 ? 1 : 0);
  out.set(record.systemUse, suOffset);
  return out;
};

/** The single path table record of an image whose only directory is the root. */
export const rootPathTable = (rootLba: number, bigEndian: boolean): Buffer => {
  const out = Buffer.alloc(10);
  out[0] = 1; // length of directory identifier
  out[1] = 0; // extended attribute record length
  if (bigEndian) {
    out.writeUInt32BE(rootLba, 2);
    out.writeUInt16BE(1, 6);
  } else {
    out.writeUInt32LE(rootLba, 2);
    out.writeUInt16LE(1, 6);
  }
  out[8] = 0x00; // root identifier
  out[9] = 0; // padding (identifier length is odd)
  return out;
};

/** Size in bytes of `rootPathTable` output. */
export const ROOT_PATH_TABLE_SIZE = 10;
