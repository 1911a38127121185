/** Primary Volume Descriptor (ECMA-119 8.4) and Volume Descriptor Set Terminator (8.3). */
import { SECTOR_SIZE, STANDARD_ID, VD_TYPE_PRIMARY, VD_TYPE_TERMINATOR } from './constants.js';
import { decDateTime, unsetDecDateTime, writeBoth16, writeBoth32, writePadded } from './encoding.js';

export interface PrimaryDescriptorFields {
  volumeId: string;
  systemId: string;
  publisherId: string;
  applicationId: string;
  /** Number of logical blocks in the volume. */
  volumeSpaceSize: number;
  pathTableSize: number;
  lPathTableLba: number;
  mPathTableLba: number;
  /** The 34-byte root directory record. */
  rootRecord: Uint8Array;
  time: Date;
}

const writeHeader = (image: Buffer, offset: number, type: number): void => {
  image[offset] = type;
  image.write(STANDARD_ID, offset + 1, 5, 'latin1');
  image[offset + 6] = 1; // descriptor version
};

/** Writes the PVD into the (zeroed) sector starting at `offset`. */
export const writePrimaryDescriptor = (
  image: Buffer,
  offset: number,
  f: PrimaryDescriptorFields,
): void => {
  if (f.rootRecord.length !== 34) throw new RangeError('root directory record must be 34 bytes');
  const at = (pos: number): number => offset + pos;
  writeHeader(image, offset, VD_TYPE_PRIMARY);
  writePadded(image, at(8), 32, f.systemId);
  writePadded(image, at(40), 32, f.volumeId);
  writeBoth32(image, at(80), f.volumeSpaceSize);
  writeBoth16(image, at(120), 1); // volume set size
  writeBoth16(image, at(124), 1); // volume sequence number
  writeBoth16(image, at(128), SECTOR_SIZE); // logical block size
  writeBoth32(image, at(132), f.pathTableSize);
  image.writeUInt32LE(f.lPathTableLba, at(140));
  image.writeUInt32LE(0, at(144)); // optional L path table: none
  image.writeUInt32BE(f.mPathTableLba, at(148));
  image.writeUInt32BE(0, at(152)); // optional M path table: none
  image.set(f.rootRecord, at(156));
  writePadded(image, at(190), 128, ''); // volume set identifier
  writePadded(image, at(318), 128, f.publisherId);
  writePadded(image, at(446), 128, ''); // data preparer identifier
  writePadded(image, at(574), 128, f.applicationId);
  writePadded(image, at(702), 37, ''); // copyright file identifier
  writePadded(image, at(739), 37, ''); // abstract file identifier
  writePadded(image, at(776), 37, ''); // bibliographic file identifier
  const stamp = decDateTime(f.time);
  stamp.copy(image, at(813)); // creation
  stamp.copy(image, at(830)); // modification
  unsetDecDateTime().copy(image, at(847)); // expiration
  unsetDecDateTime().copy(image, at(864)); // effective
  image[at(881)] = 1; // file structure version
};

/** Writes the Volume Descriptor Set Terminator into the (zeroed) sector at `offset`. */
export const writeTerminator = (image: Buffer, offset: number): void => {
  writeHeader(image, offset, VD_TYPE_TERMINATOR);
};
