/**
 * The BCD store's data model, as bcdboot writes it for a UEFI install on a GPT disk — pure data,
 * no I/O. A BCD store is a registry hive: `Objects\{GUID}\Description` holds the object's `Type`
 * (REG_DWORD) and `Objects\{GUID}\Elements\<element type, 8 hex digits>` holds one value named
 * `Element`. The element type's bits 24–27 give its format, which fixes the registry value type:
 * strings and objects (a GUID in braces) are REG_SZ, object lists REG_MULTI_SZ, and devices,
 * 64-bit integers, booleans (one byte) and integer lists are REG_BINARY.
 */

/** Well-known object identifiers (the bcdedit aliases). */
export const BCD_ID = {
  bootmgr: '{9dea862c-5cdd-4e70-acc1-f32b344d4795}',
  globalsettings: '{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}',
  bootloadersettings: '{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}',
  resumeloadersettings: '{1afa9c49-16ab-4a5c-901b-212802da9460}',
  memdiag: '{b2721d73-1db4-4c62-bf78-c548a880142d}',
} as const;

/** Object types: application (1) << 28 | image type (1 firmware, 2 boot app) << 20 | application type. */
export const OBJECT_TYPE = { bootmgr: 0x10100002, osloader: 0x10200003, resume: 0x10200004, memdiag: 0x10200005 } as const;

/** Element types used here: class << 28 | format << 24 | subtype. */
export const ELEMENT = {
  applicationDevice: 0x11000001,
  applicationPath: 0x12000002,
  description: 0x12000004,
  preferredLocale: 0x12000005,
  inheritedObjects: 0x14000006,
  isolatedContext: 0x16000060,
  allowedInMemorySettings: 0x17000077,
  displayOrder: 0x24000001,
  defaultObject: 0x23000003,
  timeout: 0x25000004,
  bootmgrResumeObject: 0x23000006,
  toolsDisplayOrder: 0x24000010,
  osDevice: 0x21000001,
  systemRoot: 0x22000002,
  associatedResumeObject: 0x23000003,
  nxPolicy: 0x25000020,
  bootMenuPolicy: 0x250000c2,
  hiberFileDevice: 0x21000001,
  hiberFilePath: 0x22000002,
  debugOptionEnabled: 0x26000006,
} as const;

export const REG = { sz: 1, binary: 3, dword: 4, multiSz: 7 } as const;

export type ElementValue = Buffer | string | string[] | number | boolean | number[];
export interface BcdElement {
  type: number;
  value: ElementValue;
}
export interface BcdObject {
  id: string;
  type: number;
  elements: BcdElement[];
}

const GUID = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

/** A GUID string in its Windows binary form: the first three groups little-endian, the last two as written. */
export const guidBytes = (guid: string): Buffer => {
  const m = GUID.exec(guid.trim());
  if (!m) throw new Error(`not a GUID: ${guid}`);
  const hex = (s: string) => Buffer.from(s, 'hex');
  return Buffer.concat([hex(m[1]!).reverse(), hex(m[2]!).reverse(), hex(m[3]!).reverse(), hex(m[4]!), hex(m[5]!)]);
};

/** `{xxxxxxxx-…}` in lower case, the way BCD stores name their objects. */
export const bracedGuid = (guid: string): string => {
  if (!GUID.test(guid.trim())) throw new Error(`not a GUID: ${guid}`);
  return `{${guid.trim().replace(/^\{|\}$/g, '').toLowerCase()}}`;
};

/**
 * A partition device element for a partition of a GPT disk (88 bytes): 16 bytes of additional
 * options (zero: none); the device descriptor — type 6 (partition), flags 0, size 0x48 (from the
 * descriptor's start to the end), a reserved dword; the partition's unique GUID; the parent disk
 * as a local device (type 0) whose partition style is GPT (0) with the disk GUID; 16 zero bytes.
 */
export const gptPartitionDevice = (partitionGuid: string, diskGuid: string): Buffer => {
  const b = Buffer.alloc(0x58);
  b.writeUInt32LE(6, 0x10);
  b.writeUInt32LE(0, 0x14);
  b.writeUInt32LE(0x48, 0x18);
  guidBytes(partitionGuid).copy(b, 0x20);
  b.writeUInt32LE(0, 0x30); // local device
  b.writeUInt32LE(0, 0x34); // GPT
  guidBytes(diskGuid).copy(b, 0x38);
  return b;
};

const utf16z = (s: string) => Buffer.from(`${s}\0`, 'utf16le');
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

/** The element's registry value type and bytes, checked against the format its type declares. */
export const encodeElement = (e: BcdElement): { regType: number; data: Buffer } => {
  const format = (e.type >>> 24) & 0xf;
  const v = e.value;
  const bad = () => new Error(`element ${e.type.toString(16)} (format ${format}) cannot hold ${JSON.stringify(v)}`);
  switch (format) {
    case 1:
      if (!Buffer.isBuffer(v)) throw bad();
      return { regType: REG.binary, data: v };
    case 2:
      if (typeof v !== 'string') throw bad();
      return { regType: REG.sz, data: utf16z(v) };
    case 3:
      if (typeof v !== 'string') throw bad();
      return { regType: REG.sz, data: utf16z(bracedGuid(v)) };
    case 4:
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw bad();
      return { regType: REG.multiSz, data: Buffer.from(`${(v as string[]).map((x) => `${bracedGuid(x)}\0`).join('')}\0`, 'utf16le') };
    case 5:
      if (typeof v !== 'number') throw bad();
      return { regType: REG.binary, data: u64(v) };
    case 6:
      if (typeof v !== 'boolean') throw bad();
      return { regType: REG.binary, data: Buffer.from([v ? 1 : 0]) };
    case 7:
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw bad();
      return { regType: REG.binary, data: Buffer.concat((v as number[]).map(u64)) };
    default:
      throw bad();
  }
};

/** What bcdboot points the store at: GPT GUIDs of the disk, the ESP and the Windows partition; fresh object GUIDs. */
export interface BcdTargets {
  disk: string;
  esp: string;
  windows: string;
  loader: string;
  resume: string;
  description: string;
  locale: string;
  /** Whether the template has {memdiag} and the ESP has memtest.efi: then it is set up as bcdboot does. */
  memdiag: boolean;
}

const IN_MEMORY_SETTINGS = [0x15000075]; // what bcdboot allows in memory on loaders and resume

/**
 * The objects `bcdboot C:\Windows /f UEFI` writes: {bootmgr} on the ESP defaulting to a new
 * Windows Boot Loader on the Windows partition, a Resume from Hibernate object both point to,
 * and {memdiag} on the ESP when the image has the memory tester.
 */
export const bcdbootObjects = (t: BcdTargets): BcdObject[] => {
  const esp = gptPartitionDevice(t.esp, t.disk);
  const win = gptPartitionDevice(t.windows, t.disk);
  const E = ELEMENT;
  /** A boot application on the ESP, under \EFI\Microsoft\Boot. */
  const onEsp = (id: string, type: number, file: string, rest: BcdElement[]): BcdObject => ({
    id,
    type,
    elements: [{ type: E.applicationDevice, value: esp }, { type: E.applicationPath, value: `\\EFI\\Microsoft\\Boot\\${file}` }, ...rest],
  });
  const bootmgr = onEsp(BCD_ID.bootmgr, OBJECT_TYPE.bootmgr, 'bootmgfw.efi', [
    { type: E.description, value: 'Windows Boot Manager' },
    { type: E.preferredLocale, value: t.locale },
    { type: E.inheritedObjects, value: [BCD_ID.globalsettings] },
    { type: E.defaultObject, value: t.loader },
    { type: E.bootmgrResumeObject, value: t.resume },
    { type: E.displayOrder, value: [t.loader] },
    ...(t.memdiag ? [{ type: E.toolsDisplayOrder, value: [BCD_ID.memdiag] }] : []),
    { type: E.timeout, value: 30 },
  ]);
  /** A boot application on the Windows partition: the head bcdboot gives the loader and the resume object alike. */
  const onWindows = (id: string, type: number, file: string, description: string, inherit: string, rest: BcdElement[]): BcdObject => ({
    id,
    type,
    elements: [
      { type: E.applicationDevice, value: win },
      { type: E.applicationPath, value: `\\Windows\\system32\\${file}` },
      { type: E.description, value: description },
      { type: E.preferredLocale, value: t.locale },
      { type: E.inheritedObjects, value: [inherit] },
      { type: E.isolatedContext, value: true },
      { type: E.allowedInMemorySettings, value: IN_MEMORY_SETTINGS },
      ...rest,
    ],
  });
  const loader = onWindows(t.loader, OBJECT_TYPE.osloader, 'winload.efi', t.description, BCD_ID.bootloadersettings, [
    { type: E.osDevice, value: win },
    { type: E.systemRoot, value: '\\Windows' },
    { type: E.associatedResumeObject, value: t.resume },
    { type: E.nxPolicy, value: 0 }, // OptIn
    { type: E.bootMenuPolicy, value: 1 }, // Standard
  ]);
  const resume = onWindows(t.resume, OBJECT_TYPE.resume, 'winresume.efi', 'Windows Resume Application', BCD_ID.resumeloadersettings, [
    { type: E.hiberFileDevice, value: win },
    { type: E.hiberFilePath, value: '\\hiberfil.sys' },
    { type: E.bootMenuPolicy, value: 1 },
    { type: E.debugOptionEnabled, value: false },
  ]);
  const memdiag = onEsp(BCD_ID.memdiag, OBJECT_TYPE.memdiag, 'memtest.efi', []);
  return [bootmgr, loader, resume, ...(t.memdiag ? [memdiag] : [])];
};
