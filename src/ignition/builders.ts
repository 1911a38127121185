/**
 * Builders for the parts of an Ignition config reef generates: files with `data:` contents and
 * decimal modes, systemd units and drop-ins (a mount unit is named after its mount point), disks,
 * partitions and filesystems. They throw on input that would make an invalid config.
 */
import { gzipSync } from 'node:zlib';
import { type DataUrlEncoding, toDataUrl } from './data-url.js';
import { mountUnitName, unitNameProblem } from './systemd-names.js';
import type { Disk, Dropin, FileNode, Filesystem, NodeOwner, Partition32, Unit } from './types.js';

/** Octal text to the decimal number Ignition wants: octal('0755') === 493. */
export const octal = (text: string): number => {
  if (!/^0?[0-7]{3,4}$/.test(text)) throw new Error(`octal mode expected (e.g. "0755"), got ${JSON.stringify(text)}`);
  return parseInt(text, 8);
};

const owner = (who: string | number | undefined): NodeOwner | undefined =>
  who === undefined ? undefined : typeof who === 'number' ? { id: who } : { name: who };

export interface FileSpec {
  path: string;
  contents: string | Buffer;
  /** Permission bits, e.g. 0o755 (written to the config as the decimal 493). Default 0o644. */
  mode?: number;
  /** Data URL encoding (default base64). */
  encoding?: DataUrlEncoding;
  /** gzip the contents and mark them `compression: "gzip"` (smaller configs; Ignition 3.1+). */
  gzip?: boolean;
  overwrite?: boolean;
  user?: string | number;
  group?: string | number;
}

/** A `storage.files[]` entry whose contents travel inline as a `data:` URL. */
export const fileEntry = (spec: FileSpec): FileNode => {
  if (!spec.path.startsWith('/')) throw new Error(`file path must be absolute: ${spec.path}`);
  const mode = spec.mode ?? 0o644;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new Error(`file mode must be within 0–0o7777, got ${mode}`);
  const raw = typeof spec.contents === 'string' ? Buffer.from(spec.contents, 'utf8') : spec.contents;
  const data = spec.gzip ? gzipSync(raw, { level: 9 }) : raw;
  const user = owner(spec.user);
  const group = owner(spec.group);
  return {
    path: spec.path,
    mode,
    ...(spec.overwrite === undefined ? {} : { overwrite: spec.overwrite }),
    ...(user ? { user } : {}),
    ...(group ? { group } : {}),
    contents: { source: toDataUrl(data, spec.gzip ? 'base64' : (spec.encoding ?? 'base64')), ...(spec.gzip ? { compression: 'gzip' } : {}) },
  };
};

/** Unit file sections in order; each a list of key/value pairs (keys may repeat). */
export type UnitSections = [section: string, entries: [key: string, value: string][]][];

/** Renders unit file text: `[Unit]\nDescription=…\n\n[Service]\n…`. */
export const unitFile = (sections: UnitSections): string =>
  sections
    .filter(([, entries]) => entries.length > 0)
    .map(([name, entries]) => `[${name}]\n${entries.map(([k, v]) => `${k}=${v}`).join('\n')}\n`)
    .join('\n');

const checkedName = (name: string): string => {
  const problem = unitNameProblem(name);
  if (problem) throw new Error(problem);
  return name;
};

/** A `systemd.units[]` entry. */
export const unitEntry = (u: { name: string; contents?: string; enabled?: boolean; mask?: boolean; dropins?: Dropin[] }): Unit => ({
  name: checkedName(u.name),
  ...(u.enabled === undefined ? {} : { enabled: u.enabled }),
  ...(u.mask === undefined ? {} : { mask: u.mask }),
  ...(u.contents === undefined ? {} : { contents: u.contents }),
  ...(u.dropins?.length ? { dropins: u.dropins } : {}),
});

/** A drop-in for a unit (`<unit>.d/<name>`); the name must end in ".conf". */
export const dropinEntry = (name: string, contents: string): Dropin => {
  if (!/^[^/]+\.conf$/.test(name)) throw new Error(`drop-in name must end in .conf: ${name}`);
  return { name, contents };
};

export interface MountSpec {
  what: string;
  where: string;
  type?: string;
  options?: string;
  description?: string;
  /** Extra [Unit] entries (ordering, binding). */
  unit?: [string, string][];
  /** Extra [Mount] entries. */
  mount?: [string, string][];
  install?: [string, string][];
  enabled?: boolean;
}

/** A mount unit named after its mount point (`/var/mnt` → `var-mnt.mount`), as systemd requires. */
export const mountUnit = (m: MountSpec): Unit =>
  unitEntry({
    name: mountUnitName(m.where),
    enabled: m.enabled ?? true,
    contents: unitFile([
      ['Unit', [...(m.description ? ([['Description', m.description]] as [string, string][]) : []), ...(m.unit ?? [])]],
      [
        'Mount',
        [['What', m.what], ['Where', m.where], ...(m.type ? ([['Type', m.type]] as [string, string][]) : []), ...(m.options ? ([['Options', m.options]] as [string, string][]) : []), ...(m.mount ?? [])],
      ],
      ['Install', m.install ?? []],
    ]),
  });

/** A GPT partition entry; `sizeMiB: 0` means "up to the end of the disk". */
export const partitionEntry = (p: Partition32): Partition32 => {
  if (p.label && [...p.label].length > 36) throw new Error(`partition label longer than 36 characters: ${p.label}`);
  return { ...p };
};

/** A `storage.disks[]` entry. */
export const diskEntry = (device: string, partitions: Partition32[], opts: { wipeTable?: boolean } = {}): Disk<Partition32> => {
  if (!device.startsWith('/dev/')) throw new Error(`disk device must be under /dev: ${device}`);
  return { device, ...(opts.wipeTable === undefined ? {} : { wipeTable: opts.wipeTable }), partitions };
};

/** A `storage.filesystems[]` entry. */
export const filesystemEntry = (f: Filesystem): Filesystem => {
  if (!f.device.startsWith('/dev/')) throw new Error(`filesystem device must be under /dev: ${f.device}`);
  if (f.path && !f.path.startsWith('/')) throw new Error(`filesystem path must be absolute: ${f.path}`);
  return { ...f };
};
