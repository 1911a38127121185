/**
 * TEST FIXTURE: the smallest valid Windows registry hive (regf) — a base block and one hive bin
 * holding the root key, its security cell and free space. hivex can edit a hive but not create
 * one from nothing; tests start from this and add keys and values with `hivexsh -w`.
 *
 * Layout (little-endian; offsets in cells are relative to the first hive bin at 0x1000):
 * base block "regf" with sequence numbers, version 1.5, root cell offset, bins size and the XOR
 * checksum of its first 508 bytes at 0x1FC; hive bin "hbin" of 4 KiB with a 32-byte header; cells
 * are a signed size (negative = allocated, 8-byte aligned) followed by the record ("nk" key,
 * "sk" security descriptor); the rest of the bin is one free cell (positive size).
 */
const PAGE = 0x1000;
const HBIN_HEADER = 0x20;
const NONE = 0xffffffff;
const FILETIME_2024 = 133_485_408_000_000_000n; // 2024-01-01T00:00:00Z in 100 ns since 1601

const align8 = (n: number) => Math.ceil(n / 8) * 8;

const baseBlock = (rootOffset: number, binsSize: number): Buffer => {
  const b = Buffer.alloc(PAGE);
  b.write('regf', 0, 'latin1');
  b.writeUInt32LE(1, 0x04); // primary sequence
  b.writeUInt32LE(1, 0x08); // secondary sequence (equal: the hive is clean)
  b.writeBigUInt64LE(FILETIME_2024, 0x0c);
  b.writeUInt32LE(1, 0x14); // major version
  b.writeUInt32LE(5, 0x18); // minor version
  b.writeUInt32LE(0, 0x1c); // primary file
  b.writeUInt32LE(1, 0x20); // direct memory load
  b.writeUInt32LE(rootOffset, 0x24);
  b.writeUInt32LE(binsSize, 0x28);
  b.writeUInt32LE(1, 0x2c); // clustering factor
  b.write('\\reef\\BCD-Template', 0x30, 'utf16le');
  let sum = 0;
  for (let i = 0; i < 0x1fc; i += 4) sum = (sum ^ b.readUInt32LE(i)) >>> 0;
  if (sum === 0) sum = 1;
  if (sum === 0xffffffff) sum = 0xfffffffe;
  b.writeUInt32LE(sum, 0x1fc);
  return b;
};

const rootKey = (name: string, skOffset: number): Buffer => {
  const rec = Buffer.alloc(0x4c + name.length);
  rec.write('nk', 0, 'latin1');
  rec.writeUInt16LE(0x2c, 0x02); // hive entry (root) | no delete | ASCII name
  rec.writeBigUInt64LE(FILETIME_2024, 0x04);
  rec.writeUInt32LE(0, 0x10); // parent (none for the root)
  rec.writeUInt32LE(0, 0x14); // subkeys
  rec.writeUInt32LE(0, 0x18); // volatile subkeys
  rec.writeUInt32LE(NONE, 0x1c); // subkey list
  rec.writeUInt32LE(NONE, 0x20); // volatile subkey list
  rec.writeUInt32LE(0, 0x24); // values
  rec.writeUInt32LE(NONE, 0x28); // value list
  rec.writeUInt32LE(skOffset, 0x2c);
  rec.writeUInt32LE(NONE, 0x30); // class name
  rec.writeUInt16LE(name.length, 0x48);
  rec.write(name, 0x4c, 'latin1');
  return rec;
};

/** A self-relative security descriptor with no owner, group or ACLs, referenced once. */
const securityKey = (selfOffset: number): Buffer => {
  const sd = Buffer.alloc(20);
  sd.writeUInt8(1, 0); // revision
  sd.writeUInt16LE(0x8000, 2); // SE_SELF_RELATIVE
  const rec = Buffer.alloc(0x14 + sd.length);
  rec.write('sk', 0, 'latin1');
  rec.writeUInt32LE(selfOffset, 0x04); // the only sk cell: its own flink and blink
  rec.writeUInt32LE(selfOffset, 0x08);
  rec.writeUInt32LE(1, 0x0c); // reference count
  rec.writeUInt32LE(sd.length, 0x10);
  sd.copy(rec, 0x14);
  return rec;
};

const cell = (rec: Buffer): Buffer => {
  const c = Buffer.alloc(align8(rec.length + 4));
  c.writeInt32LE(-c.length, 0);
  rec.copy(c, 4);
  return c;
};

/** An empty hive whose root key is named `rootName`: 8 KiB, readable by hivexml and writable by hivexsh -w. */
export const emptyHive = (rootName = 'ROOT'): Buffer => {
  const rootOffset = HBIN_HEADER;
  const rootSize = align8(0x4c + rootName.length + 4);
  const skOffset = rootOffset + rootSize;
  const cells = Buffer.concat([cell(rootKey(rootName, skOffset)), cell(securityKey(skOffset))]);
  const bin = Buffer.alloc(PAGE);
  bin.write('hbin', 0, 'latin1');
  bin.writeUInt32LE(0, 0x04); // offset of this bin from the first
  bin.writeUInt32LE(PAGE, 0x08); // bin size
  bin.writeBigUInt64LE(FILETIME_2024, 0x14);
  cells.copy(bin, HBIN_HEADER);
  const free = PAGE - HBIN_HEADER - cells.length;
  bin.writeInt32LE(free, HBIN_HEADER + cells.length);
  return Buffer.concat([baseBlock(rootOffset, PAGE), bin]);
};
