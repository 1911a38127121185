import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { emptyHive } from './regf.js';

/**
 * TEST FIXTURES and readers for registry hives, through the hivex tools: a BCD-Template shaped
 * like the one in Windows images (root Description + Objects with {bootmgr}, {memdiag} and the
 * inheritable settings objects) is built with `hivexsh -w` from the empty hive of regf.ts, and
 * stores are read back with `hivexsh ls` (subkeys) and `hivexget` (values in .reg syntax).
 */

export const BOOTMGR = '{9dea862c-5cdd-4e70-acc1-f32b344d4795}';
export const MEMDIAG = '{b2721d73-1db4-4c62-bf78-c548a880142d}';
export const GLOBALSETTINGS = '{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}';
export const BOOTLOADERSETTINGS = '{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}';
export const RESUMELOADERSETTINGS = '{1afa9c49-16ab-4a5c-901b-212802da9460}';

const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(',');
const sz = (s: string) => `hex:1:${hex(Buffer.from(`${s}\0`, 'utf16le'))}`;
const multiSz = (list: string[]) => `hex:7:${hex(Buffer.from(`${list.map((s) => `${s}\0`).join('')}\0`, 'utf16le'))}`;
const bin = (bytes: number[]) => `hex:3:${hex(Buffer.from(bytes))}`;

const object = (id: string, type: number, elements: Record<string, string>) => [
  'cd \\Objects',
  `add ${id}`,
  `cd \\Objects\\${id}`,
  'add Description',
  `cd \\Objects\\${id}\\Description`,
  'setval 1',
  'Type',
  `dword:0x${type.toString(16)}`,
  `cd \\Objects\\${id}`,
  'add Elements',
  ...Object.entries(elements).flatMap(([t, v]) => [`cd \\Objects\\${id}\\Elements`, `add ${t}`, `cd \\Objects\\${id}\\Elements\\${t}`, 'setval 1', 'Element', v]),
];

/** Writes a BCD-Template to `file`; `extra` lines run in the same hivexsh session before the commit. */
export const writeBcdTemplate = (file: string, extra: string[] = []): void => {
  writeFileSync(file, emptyHive('NewStoreRoot'));
  const script = [
    'add Description',
    'cd Description',
    'setval 3',
    'KeyName',
    'string:BCD00000000',
    'System',
    'dword:1',
    'TreatAsSystem',
    'dword:1',
    'cd ..',
    'add Objects',
    ...object(BOOTMGR, 0x10100002, {
      '12000004': sz('Windows Boot Manager'),
      '12000005': sz('en-US'),
      '14000006': multiSz([GLOBALSETTINGS]),
      '24000010': multiSz([MEMDIAG]),
      '25000004': bin([30, 0, 0, 0, 0, 0, 0, 0]),
      '26000020': bin([1]), // displaybootmenu: not one bcdboot sets, so it must survive
    }),
    ...object(MEMDIAG, 0x10200005, {
      '12000002': sz('\\boot\\memtest.exe'),
      '12000004': sz('Windows Memory Diagnostic'),
      '14000006': multiSz([GLOBALSETTINGS]),
      '1600000b': bin([1]),
    }),
    ...object(GLOBALSETTINGS, 0x20100000, {}),
    ...object(BOOTLOADERSETTINGS, 0x20200003, { '14000006': multiSz([GLOBALSETTINGS]) }),
    ...object(RESUMELOADERSETTINGS, 0x20200004, { '14000006': multiSz([GLOBALSETTINGS]) }),
    ...extra,
    'commit',
  ];
  execFileSync('hivexsh', ['-w', file], { input: `${script.join('\n')}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
};

/** Subkey names of `path` (backslash-separated, from the root), as stored. */
export const subkeys = (hive: string, path: string): string[] =>
  execFileSync('hivexsh', [hive], { input: `cd ${path}\nls\n`, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
    .split('\n')
    .filter(Boolean);

export type HiveValue = { type: 1; text: string } | { type: 4; dword: number } | { type: number; bytes: Buffer };

/** The values of a key, parsed from hivexget's .reg output: REG_SZ as text, REG_DWORD as a number, others as bytes. */
export const values = (hive: string, path: string): Record<string, HiveValue> => {
  const out = execFileSync('hivexget', [hive, path.replace(/^\\/, '')], { encoding: 'utf8' });
  const vals: Record<string, HiveValue> = {};
  for (const line of out.split('\n').filter(Boolean)) {
    const m = /^"((?:[^"\\]|\\.)*)"=(.*)$/.exec(line);
    if (!m) throw new Error(`unexpected hivexget line: ${line}`);
    const [name, v] = [m[1]!.replace(/\\(.)/g, '$1'), m[2]!];
    const str = /^"((?:[^"\\]|\\.)*)"$/.exec(v);
    const dw = /^dword:([0-9a-f]{8})$/.exec(v);
    const hx = /^hex\((\d+)\):([0-9a-f,]*)$/.exec(v);
    if (str) vals[name] = { type: 1, text: str[1]!.replace(/\\(.)/g, '$1') };
    else if (dw) vals[name] = { type: 4, dword: parseInt(dw[1]!, 16) };
    else if (hx) vals[name] = { type: Number(hx[1]), bytes: Buffer.from(hx[2]!.replace(/,/g, ''), 'hex') };
    else throw new Error(`unexpected hivexget value: ${line}`);
  }
  return vals;
};

/** A BCD element's `Element` value, by object id and element type (8 hex digits). */
export const element = (hive: string, id: string, type: string): HiveValue => {
  const v = values(hive, `\\Objects\\${id}\\Elements\\${type}`).Element;
  if (!v) throw new Error(`${id} element ${type} has no Element value`);
  return v;
};

/** REG_MULTI_SZ bytes as the list of strings. */
export const multiSzList = (bytes: Buffer): string[] => bytes.toString('utf16le').split('\0').filter(Boolean);

/** Reads a GUID back from its Windows binary form (Data1..3 little-endian, Data4 as bytes), upper case like sgdisk. */
const guidAt = (b: Buffer, off: number) =>
  [b.readUInt32LE(off).toString(16).padStart(8, '0'), b.readUInt16LE(off + 4).toString(16).padStart(4, '0'), b.readUInt16LE(off + 6).toString(16).padStart(4, '0'), b.subarray(off + 8, off + 10).toString('hex'), b.subarray(off + 10, off + 16).toString('hex')]
    .join('-')
    .toUpperCase();

/** A BCD partition device element (GPT disk), field by field. */
export const decodeDevice = (b: Buffer) => ({
  length: b.length,
  options: b.subarray(0, 16).toString('hex'),
  deviceType: b.readUInt32LE(0x10),
  flags: b.readUInt32LE(0x14),
  size: b.readUInt32LE(0x18),
  partition: guidAt(b, 0x20),
  localDeviceType: b.readUInt32LE(0x30),
  partitionStyle: b.readUInt32LE(0x34),
  disk: guidAt(b, 0x38),
  tail: b.subarray(0x48).toString('hex'),
});

/** A device element of a BCD object, decoded; throws unless it is REG_BINARY. */
export const deviceElement = (hive: string, id: string, type: string) => {
  const v = element(hive, id, type);
  if (v.type !== 3 || !('bytes' in v)) throw new Error(`${id} ${type} is not REG_BINARY`);
  return decodeDevice(v.bytes);
};
