/**
 * Pure-TypeScript writer of small ISO 9660 images (ECMA-119) with Rock Ridge (RRIP 1.10)
 * names: a flat root directory holding a handful of files. Output is deterministic: the same
 * options give byte-identical images, whatever the order of `files`.
 *
 * Layout: sectors 0-15 zero, 16 Primary Volume Descriptor, 17 terminator, 18 L path table,
 * 19 M path table, 20 SUSP continuation area (ER), 21.. root directory, then file data,
 * each file starting on a sector boundary.
 */
import {
  APPLICATION_ID_MAX,
  A_CHARS_RE,
  CONTINUATION_LBA,
  FILE_NAME_RE,
  L_PATH_TABLE_LBA,
  MODE_DIR,
  MODE_FILE,
  M_PATH_TABLE_LBA,
  PUBLISHER_ID_MAX,
  PVD_LBA,
  ROOT_DIR_LBA,
  RR_NM,
  RR_PX,
  RR_TF,
  SECTOR_SIZE,
  SYSTEM_ID_MAX,
  TERMINATOR_LBA,
  VOLUME_ID_RE,
} from './constants.js';
import { MAX_YEAR, MIN_YEAR, recordDate } from './encoding.js';
import { assignIsoNames, compareIsoNames } from './names.js';
import { ROOT_PATH_TABLE_SIZE, dirRecordLength, encodeDirRecord, rootPathTable } from './records.js';
import { ceEntry, erEntry, nmEntry, pxEntry, rrEntry, spEntry, tfEntry } from './susp.js';
import { writePrimaryDescriptor, writeTerminator } from './volume-descriptor.js';

export interface IsoFile {
  name: string;
  data: Uint8Array;
}

export interface IsoOptions {
  /** d-characters (A-Z 0-9 _) only, 1 to 32 characters. */
  volumeId: string;
  /** Root-directory files; names match /^[A-Za-z0-9._-]{1,64}$/, are unique, not "." or "..". */
  files: IsoFile[];
  /** Used for every timestamp in the image (UTC, years 1900-2155). */
  time: Date;
  /** a-characters (A-Z 0-9 _ space !"%&'()*+,-./:;<=>?), up to 32 characters. */
  systemId?: string;
  /** a-characters, up to 128 characters, not starting with '_'. */
  applicationId?: string;
  /** a-characters, up to 128 characters, not starting with '_'. */
  publisherId?: string;
}

interface PlacedFile {
  name: string;
  isoName: string;
  data: Uint8Array;
  extent: number;
  systemUse: Buffer;
}

const sectorsFor = (bytes: number): number => Math.ceil(bytes / SECTOR_SIZE);

const checkAChars = (label: string, value: string | undefined, max: number, noLead: boolean) => {
  if (value === undefined) return;
  if (value.length > max || !A_CHARS_RE.test(value) || (noLead && value.startsWith('_'))) {
    throw new RangeError(
      `${label} must be at most ${max} ISO 9660 a-characters (A-Z 0-9 _ space and punctuation)` +
        (noLead ? ` not starting with '_'` : ''),
    );
  }
};

const validate = (opts: IsoOptions): void => {
  if (typeof opts.volumeId !== 'string' || !VOLUME_ID_RE.test(opts.volumeId)) {
    throw new RangeError(`volumeId must be 1-32 characters of A-Z 0-9 _ (got ${JSON.stringify(opts.volumeId)})`);
  }
  checkAChars('systemId', opts.systemId, SYSTEM_ID_MAX, false);
  checkAChars('publisherId', opts.publisherId, PUBLISHER_ID_MAX, true);
  checkAChars('applicationId', opts.applicationId, APPLICATION_ID_MAX, true);
  const t = opts.time;
  if (!(t instanceof Date) || Number.isNaN(t.getTime())) throw new RangeError('time must be a valid Date');
  const year = t.getUTCFullYear();
  if (year < MIN_YEAR || year > MAX_YEAR) {
    throw new RangeError(`time must fall in the years ${MIN_YEAR}-${MAX_YEAR} (UTC)`);
  }
  const seen = new Set<string>();
  for (const file of opts.files) {
    const name = file.name;
    if (typeof name !== 'string' || !FILE_NAME_RE.test(name) || name === '.' || name === '..') {
      throw new RangeError(`invalid file name ${JSON.stringify(name)}: must match /^[A-Za-z0-9._-]{1,64}$/`);
    }
    if (seen.has(name)) throw new RangeError(`duplicate file name ${JSON.stringify(name)}`);
    seen.add(name);
    if (!(file.data instanceof Uint8Array)) throw new RangeError(`data of ${name} must be a Uint8Array`);
    if (file.data.length > 0xffffffff) throw new RangeError(`file ${name} is too large for ISO 9660`);
  }
};

/** Byte offsets of each record inside the directory extent; records never cross sectors. */
const packRecords = (lengths: readonly number[]): { offsets: number[]; sectors: number } => {
  const offsets: number[] = [];
  let pos = 0;
  for (const len of lengths) {
    const room = SECTOR_SIZE - (pos % SECTOR_SIZE);
    if (len > room) pos += room;
    offsets.push(pos);
    pos += len;
  }
  return { offsets, sectors: Math.max(1, sectorsFor(pos)) };
};

export function buildIso(opts: IsoOptions): Buffer {
  validate(opts);
  const date = recordDate(opts.time);
  const isoNames = assignIsoNames(opts.files.map((f) => f.name));

  const fileSu = (name: string): Buffer =>
    Buffer.concat([rrEntry(RR_PX | RR_NM | RR_TF), pxEntry(MODE_FILE, 1), nmEntry(name), tfEntry(opts.time)]);
  const er = erEntry();
  const dotSu = Buffer.concat([
    spEntry(),
    rrEntry(RR_PX | RR_TF),
    pxEntry(MODE_DIR, 2),
    tfEntry(opts.time),
    ceEntry(CONTINUATION_LBA, 0, er.length),
  ]);
  const dotDotSu = Buffer.concat([rrEntry(RR_PX | RR_TF), pxEntry(MODE_DIR, 2), tfEntry(opts.time)]);

  const files: PlacedFile[] = opts.files
    .map((f) => ({
      name: f.name,
      isoName: isoNames.get(f.name)!,
      data: f.data,
      extent: 0,
      systemUse: fileSu(f.name),
    }))
    .sort((a, b) => compareIsoNames(a.isoName, b.isoName));

  const identifiers = files.map((f) => Buffer.from(`${f.isoName};1`, 'latin1'));
  const lengths = [
    dirRecordLength(1, dotSu.length),
    dirRecordLength(1, dotDotSu.length),
    ...files.map((f, i) => dirRecordLength(identifiers[i]!.length, f.systemUse.length)),
  ];
  const { offsets, sectors: dirSectors } = packRecords(lengths);
  const dirSize = dirSectors * SECTOR_SIZE;

  let next = ROOT_DIR_LBA + dirSectors;
  for (const f of files) {
    // Empty files own no sector; ECMA-119 lets their extent be anything, 0 is conventional.
    if (f.data.length === 0) continue;
    f.extent = next;
    next += sectorsFor(f.data.length);
  }
  const totalSectors = next;

  const image = Buffer.alloc(totalSectors * SECTOR_SIZE);
  const rootRecord = (identifier: number, systemUse: Buffer) =>
    encodeDirRecord({
      extent: ROOT_DIR_LBA,
      size: dirSize,
      directory: true,
      identifier: Uint8Array.of(identifier),
      date,
      systemUse,
    });

  writePrimaryDescriptor(image, PVD_LBA * SECTOR_SIZE, {
    volumeId: opts.volumeId,
    systemId: opts.systemId ?? '',
    publisherId: opts.publisherId ?? '',
    applicationId: opts.applicationId ?? '',
    volumeSpaceSize: totalSectors,
    pathTableSize: ROOT_PATH_TABLE_SIZE,
    lPathTableLba: L_PATH_TABLE_LBA,
    mPathTableLba: M_PATH_TABLE_LBA,
    rootRecord: rootRecord(0, Buffer.alloc(0)),
    time: opts.time,
  });
  writeTerminator(image, TERMINATOR_LBA * SECTOR_SIZE);
  rootPathTable(ROOT_DIR_LBA, false).copy(image, L_PATH_TABLE_LBA * SECTOR_SIZE);
  rootPathTable(ROOT_DIR_LBA, true).copy(image, M_PATH_TABLE_LBA * SECTOR_SIZE);
  er.copy(image, CONTINUATION_LBA * SECTOR_SIZE);

  const dirBase = ROOT_DIR_LBA * SECTOR_SIZE;
  rootRecord(0, dotSu).copy(image, dirBase + offsets[0]!);
  rootRecord(1, dotDotSu).copy(image, dirBase + offsets[1]!);
  files.forEach((f, i) => {
    const record = encodeDirRecord({
      extent: f.extent,
      size: f.data.length,
      directory: false,
      identifier: identifiers[i]!,
      date,
      systemUse: f.systemUse,
    });
    record.copy(image, dirBase + offsets[i + 2]!);
    if (f.data.length > 0) image.set(f.data, f.extent * SECTOR_SIZE);
  });
  return image;
}
