/**
 * Locates the Ignition embed area of a CoreOS live ISO (DESIGN §6): `COREOS/IGNINFO.JSO`, a JSON
 * `{file, offset?, length?}` naming the area inside an ISO file, else the whole of
 * `IMAGES/IGNITION.IMG`. Only the volume descriptors and the directories on the way are read.
 */
import { type IsoEntry, IsoFormatError, type IsoVolume, type ReadAt, findPath, readVolume } from '../../formats/iso9660/reader.js';
import { PVD_LBA, SECTOR_SIZE } from '../../formats/iso9660/constants.js';
import { LiveIsoError } from './errors.js';

export interface EmbedArea {
  /** Byte offset of the area in the ISO. */
  offset: number;
  length: number;
  /** How it was found: the file igninfo.json names, or images/ignition.img. */
  file: string;
  via: 'igninfo.json' | 'images/ignition.img';
}

const IGNINFO = 'COREOS/IGNINFO.JSO|IGNINFO.JSON';
const IGNITION_IMG = 'IMAGES/IGNITION.IMG';
const MAX_IGNINFO = 64 * 1024;

const nonNegativeInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

const readIgninfo = async (src: ReadAt, vol: IsoVolume, size: number, extent: number) => {
  if (size > MAX_IGNINFO) throw new LiveIsoError('NOT_LIVE_ISO', `coreos/igninfo.json is ${size} bytes; not a CoreOS live ISO`);
  const buf = Buffer.alloc(size);
  await src.read(buf, 0, size, extent * vol.blockSize);
  let info: unknown;
  try {
    info = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new LiveIsoError('NOT_LIVE_ISO', `coreos/igninfo.json is not JSON: ${(err as Error).message}`);
  }
  const i = info as { file?: unknown; offset?: unknown; length?: unknown };
  if (typeof info !== 'object' || info === null || typeof i.file !== 'string' || i.file === '') {
    throw new LiveIsoError('NOT_LIVE_ISO', 'coreos/igninfo.json has no "file"');
  }
  if ((i.offset !== undefined && !nonNegativeInt(i.offset)) || (i.length !== undefined && !nonNegativeInt(i.length))) {
    throw new LiveIsoError('NOT_LIVE_ISO', 'coreos/igninfo.json: "offset" and "length" must be non-negative integers');
  }
  return { file: i.file, offset: i.offset as number | undefined, length: i.length as number | undefined };
};

interface Range {
  start: number;
  end: number;
  what: string;
}

/**
 * The byte ranges an embed area must never cover: the system area and every volume descriptor up
 * to the terminator, each descriptor's root directory and path tables, and the directories on the
 * way to the files found. Writing a config over any of them leaves an ISO nothing can read.
 */
const structureRanges = async (src: ReadAt, vol: IsoVolume, dirs: IsoEntry[]): Promise<Range[]> => {
  const roots: Range[] = [];
  const pathTables: Range[] = [];
  const vd = Buffer.alloc(SECTOR_SIZE);
  let lba = PVD_LBA;
  for (; lba < PVD_LBA + 64; lba++) {
    const { bytesRead } = await src.read(vd, 0, SECTOR_SIZE, lba * SECTOR_SIZE);
    if (bytesRead < SECTOR_SIZE || vd[0] === 255) break;
    if (vd[0] !== 1 && vd[0] !== 2) continue;
    const bs = vd.readUInt16LE(128) || vol.blockSize;
    const size = vd.readUInt32LE(132);
    const tables = [vd.readUInt32LE(140), vd.readUInt32LE(144), vd.readUInt32BE(148), vd.readUInt32BE(152)];
    for (const t of tables) if (t) pathTables.push({ start: t * bs, end: t * bs + size, what: 'a path table' });
    const root = vd.readUInt32LE(156 + 2) * bs;
    roots.push({ start: root, end: root + vd.readUInt32LE(156 + 10), what: 'a root directory' });
  }
  // Named in this order when an area overlaps several.
  return [
    { start: 0, end: (lba + 1) * SECTOR_SIZE, what: 'the system area and volume descriptors' },
    ...roots,
    ...dirs.map((d) => ({ start: d.extent * vol.blockSize, end: d.extent * vol.blockSize + d.size, what: `the directory ${d.rrName ?? (d.name || '/')}` })),
    ...pathTables,
  ];
};

/** Refuses an area that overlaps the ISO's own structure, before anything is written. */
const checkArea = async (src: ReadAt, vol: IsoVolume, area: EmbedArea, dirs: IsoEntry[]): Promise<EmbedArea> => {
  for (const r of await structureRanges(src, vol, dirs)) {
    if (area.offset < r.end && r.start < area.offset + area.length) {
      throw new LiveIsoError('NOT_LIVE_ISO', `the embed area (${area.file}, bytes ${area.offset}-${area.offset + area.length - 1}) overlaps ${r.what} (bytes ${r.start}-${r.end - 1}); writing there would leave the ISO unreadable, so it is refused`);
    }
  }
  return area;
};

/** Finds the embed area; throws LiveIsoError NOT_LIVE_ISO when the image has none, or one that overlaps the image's own structure. */
export const locateEmbedArea = async (src: ReadAt): Promise<EmbedArea> => {
  let vol: IsoVolume;
  try {
    vol = await readVolume(src);
    // Every directory the lookups below list, so the area can be checked against them.
    const dirs: IsoEntry[] = [];
    const seen = (d: IsoEntry) => void dirs.push(d);
    const infoEntry = await findPath(src, vol, IGNINFO, seen);
    if (infoEntry && !infoEntry.directory) {
      const info = await readIgninfo(src, vol, infoEntry.size, infoEntry.extent);
      const target = await findPath(src, vol, info.file, seen);
      if (!target || target.directory) throw new LiveIsoError('NOT_LIVE_ISO', `coreos/igninfo.json names ${info.file}, which is not a file in the ISO`);
      const offset = info.offset ?? 0;
      const length = info.length ?? target.size - offset;
      if (offset + length > target.size || length <= 0) {
        throw new LiveIsoError('NOT_LIVE_ISO', `coreos/igninfo.json: offset ${offset} + length ${length} lies outside ${info.file} (${target.size} bytes)`);
      }
      const area: EmbedArea = { offset: target.extent * vol.blockSize + offset, length, file: info.file, via: 'igninfo.json' };
      return await checkArea(src, vol, area, dirs);
    }
    const img = await findPath(src, vol, IGNITION_IMG, seen);
    if (img && !img.directory && img.size > 0) {
      return await checkArea(src, vol, { offset: img.extent * vol.blockSize, length: img.size, file: 'images/ignition.img', via: 'images/ignition.img' }, dirs);
    }
  } catch (err) {
    if (err instanceof IsoFormatError) throw new LiveIsoError('NOT_LIVE_ISO', err.message);
    throw err;
  }
  throw new LiveIsoError('NOT_LIVE_ISO', 'no Ignition embed area: the ISO has neither coreos/igninfo.json nor images/ignition.img (not a CoreOS live ISO)');
};
