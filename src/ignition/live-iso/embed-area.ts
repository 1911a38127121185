/**
 * Locates the Ignition embed area of a CoreOS live ISO (DESIGN §6): `COREOS/IGNINFO.JSO`, a JSON
 * `{file, offset?, length?}` naming the area inside an ISO file, else the whole of
 * `IMAGES/IGNITION.IMG`. Only the volume descriptors and the directories on the way are read.
 */
import { IsoFormatError, type IsoVolume, type ReadAt, findPath, readVolume } from '../../formats/iso9660/reader.js';
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

/** Finds the embed area; throws LiveIsoError NOT_LIVE_ISO when the image has none. */
export const locateEmbedArea = async (src: ReadAt): Promise<EmbedArea> => {
  let vol: IsoVolume;
  try {
    vol = await readVolume(src);
    const infoEntry = await findPath(src, vol, IGNINFO);
    if (infoEntry && !infoEntry.directory) {
      const info = await readIgninfo(src, vol, infoEntry.size, infoEntry.extent);
      const target = await findPath(src, vol, info.file);
      if (!target || target.directory) throw new LiveIsoError('NOT_LIVE_ISO', `coreos/igninfo.json names ${info.file}, which is not a file in the ISO`);
      const offset = info.offset ?? 0;
      const length = info.length ?? target.size - offset;
      if (offset + length > target.size || length <= 0) {
        throw new LiveIsoError('NOT_LIVE_ISO', `coreos/igninfo.json: offset ${offset} + length ${length} lies outside ${info.file} (${target.size} bytes)`);
      }
      return { offset: target.extent * vol.blockSize + offset, length, file: info.file, via: 'igninfo.json' };
    }
    const img = await findPath(src, vol, IGNITION_IMG);
    if (img && !img.directory && img.size > 0) return { offset: img.extent * vol.blockSize, length: img.size, file: 'images/ignition.img', via: 'images/ignition.img' };
  } catch (err) {
    if (err instanceof IsoFormatError) throw new LiveIsoError('NOT_LIVE_ISO', err.message);
    throw err;
  }
  throw new LiveIsoError('NOT_LIVE_ISO', 'no Ignition embed area: the ISO has neither coreos/igninfo.json nor images/ignition.img (not a CoreOS live ISO)');
};
