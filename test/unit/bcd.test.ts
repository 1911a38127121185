import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeElement, gptPartitionDevice, guidBytes } from '../../src/maintenance-os/bcd-model.js';
import { buildBcd, type BcdRequest, describeBcd, planBcd } from '../../src/maintenance-os/bcd.js';
import { createDryRunner, createRunner, StepError } from '../../src/maintenance-os/exec.js';
import { requireTool } from '../helpers/tools.js';
import { BOOTLOADERSETTINGS, BOOTMGR, decodeDevice, deviceElement, element, GLOBALSETTINGS, MEMDIAG, multiSzList, RESUMELOADERSETTINGS, subkeys, values, writeBcdTemplate } from '../maintenance-os/helpers/hive.js';
import { emptyHive } from '../maintenance-os/helpers/regf.js';

const DISK = '5E1A7C2B-3D4F-4A6B-8C9D-0E1F2A3B4C5D';
const ESP = 'A0B1C2D3-E4F5-4607-9819-2A3B4C5D6E7F';
const WIN = '01234567-89AB-4CDE-8F01-23456789ABCD';
const LOADER = '{11111111-2222-4333-8444-555555555555}';
const RESUME = '{66666666-7777-4888-9999-aaaaaaaaaaaa}';

describe('BCD encodings', () => {
  it('writes a GUID the Windows way: first three groups little-endian', () => {
    expect(guidBytes('{00112233-4455-6677-8899-aabbccddeeff}').toString('hex')).toBe('33221100554477668899aabbccddeeff');
  });

  it('encodes a GPT partition device as 88 bytes: partition device type 6, size 0x48, partition GUID, GPT style, disk GUID', () => {
    expect(decodeDevice(gptPartitionDevice(WIN, DISK))).toEqual({
      length: 0x58,
      options: '0'.repeat(32),
      deviceType: 6,
      flags: 0,
      size: 0x48,
      partition: WIN,
      localDeviceType: 0,
      partitionStyle: 0,
      disk: DISK,
      tail: '0'.repeat(32),
    });
  });

  it('gives each element format its registry type and bytes', () => {
    const text = encodeElement({ type: 0x12000004, value: 'Boot' });
    expect([text.regType, text.data.toString('hex')]).toEqual([1, '42006f006f0074000000']);
    const list = encodeElement({ type: 0x24000001, value: [LOADER.toUpperCase()] });
    expect([list.regType, list.data.toString('utf16le')]).toEqual([7, `${LOADER}\0\0`]);
    expect(encodeElement({ type: 0x25000004, value: 30 })).toEqual({ regType: 3, data: Buffer.from('1e00000000000000', 'hex') });
    expect(encodeElement({ type: 0x16000060, value: true })).toEqual({ regType: 3, data: Buffer.from([1]) });
    expect(() => encodeElement({ type: 0x25000004, value: 'thirty' })).toThrow(/cannot hold/);
  });

  it('--dry-run prints the hivexsh command and writes nothing', async () => {
    const lines: string[] = [];
    const out = join(tmpdir(), 'reef-bcd-dry', 'BCD');
    await planBcd(createDryRunner((l) => lines.push(l)), { template: null, out, script: '/scratch/bcd.hivexsh', disk: '/dev/sda', espNumber: 1, windowsNumber: 3, description: 'Windows', memtest: true });
    expect(lines).toEqual([expect.stringMatching(/^\(dry run\) build .*BCD from the image's Windows\/System32\/config\/BCD-Template \(GPT GUIDs of \/dev\/sda partitions 1 and 3/), `(dry run) hivexsh -w -f /scratch/bcd.hivexsh ${out}`]);
    expect(existsSync(out)).toBe(false);
  });
});

describe.runIf(requireTool('hivexsh') && requireTool('hivexget') && requireTool('sgdisk'))('buildBcd on a BCD-Template (hivexsh) and a GPT disk image (sgdisk)', () => {
  let dir: string;
  let req: BcdRequest;
  const run = createRunner(() => {});
  const bcd = () => req.out;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reef-bcd-'));
    const disk = join(dir, 'disk.img');
    execFileSync('truncate', ['-s', '1G', disk]);
    execFileSync('sgdisk', ['--clear', '-U', DISK, '-n', '1:0:+100M', '-t', '1:EF00', '-u', `1:${ESP}`, '-n', '2:0:+16M', '-t', '2:0C01', '-n', '3:0:0', '-t', '3:0700', '-u', `3:${WIN}`, disk], { stdio: 'pipe' });
    writeBcdTemplate(join(dir, 'BCD-Template'));
    req = { template: join(dir, 'BCD-Template'), out: join(dir, 'esp/EFI/Microsoft/Boot/BCD'), script: join(dir, 'bcd.hivexsh'), disk, espNumber: 1, windowsNumber: 3, description: 'Windows Server 2022 SERVERSTANDARD', memtest: true, ids: { loader: LOADER, resume: RESUME } };
    expect(await buildBcd(run, req)).toEqual({ built: true, loader: LOADER, resume: RESUME, disk: DISK, esp: ESP, windows: WIN });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const text = (id: string, type: string) => element(bcd(), id, type);
  const device = (id: string, type: string) => deviceElement(bcd(), id, type);
  const list = (id: string, type: string) => {
    const v = element(bcd(), id, type);
    if (v.type !== 7 || !('bytes' in v)) throw new Error(`${id} ${type} is not REG_MULTI_SZ`);
    return multiSzList(v.bytes);
  };
  const binary = (id: string, type: string) => {
    const v = element(bcd(), id, type);
    return 'bytes' in v && v.type === 3 ? v.bytes.toString('hex') : `not REG_BINARY: ${JSON.stringify(v)}`;
  };

  it('keeps the template: its settings objects are all there, and the template file is untouched', () => {
    expect(subkeys(bcd(), '\\Objects').map((k) => k.toLowerCase()).sort()).toEqual([GLOBALSETTINGS, LOADER, RESUME, BOOTLOADERSETTINGS, RESUMELOADERSETTINGS, BOOTMGR, MEMDIAG].sort());
    expect(values(bcd(), '\\Description').KeyName).toEqual({ type: 1, text: 'BCD00000000' });
    expect(subkeys(req.template!, '\\Objects')).toHaveLength(5);
  });

  it('points {bootmgr} at the ESP partition, \\EFI\\Microsoft\\Boot\\bootmgfw.efi, and the new loader as default and only entry', () => {
    expect(values(bcd(), `\\Objects\\${BOOTMGR}\\Description`).Type).toEqual({ type: 4, dword: 0x10100002 });
    expect(device(BOOTMGR, '11000001')).toMatchObject({ deviceType: 6, size: 0x48, partition: ESP, partitionStyle: 0, disk: DISK });
    expect(text(BOOTMGR, '12000002')).toEqual({ type: 1, text: '\\EFI\\Microsoft\\Boot\\bootmgfw.efi' });
    expect(text(BOOTMGR, '12000004')).toEqual({ type: 1, text: 'Windows Boot Manager' });
    expect(text(BOOTMGR, '12000005')).toEqual({ type: 1, text: 'en-US' });
    expect(text(BOOTMGR, '23000003')).toEqual({ type: 1, text: LOADER });
    expect(text(BOOTMGR, '23000006')).toEqual({ type: 1, text: RESUME });
    expect(list(BOOTMGR, '24000001')).toEqual([LOADER]);
    expect(list(BOOTMGR, '24000010')).toEqual([MEMDIAG]);
    expect(list(BOOTMGR, '14000006')).toEqual([GLOBALSETTINGS]);
    expect(binary(BOOTMGR, '25000004')).toBe('1e00000000000000');
    expect(binary(BOOTMGR, '26000020')).toBe('01'); // a template element bcdboot does not set survives
  });

  it('adds a Windows Boot Loader on the Windows partition: winload.efi, \\Windows, inheriting {bootloadersettings}', () => {
    expect(values(bcd(), `\\Objects\\${LOADER}\\Description`).Type).toEqual({ type: 4, dword: 0x10200003 });
    expect(device(LOADER, '11000001')).toMatchObject({ deviceType: 6, size: 0x48, partition: WIN, partitionStyle: 0, disk: DISK });
    expect(device(LOADER, '21000001')).toEqual(device(LOADER, '11000001'));
    expect(text(LOADER, '12000002')).toEqual({ type: 1, text: '\\Windows\\system32\\winload.efi' });
    expect(text(LOADER, '12000004')).toEqual({ type: 1, text: 'Windows Server 2022 SERVERSTANDARD' });
    expect(text(LOADER, '22000002')).toEqual({ type: 1, text: '\\Windows' });
    expect(text(LOADER, '23000003')).toEqual({ type: 1, text: RESUME });
    expect(list(LOADER, '14000006')).toEqual([BOOTLOADERSETTINGS]);
    expect(binary(LOADER, '16000060')).toBe('01');
    expect(binary(LOADER, '17000077')).toBe('7500001500000000');
    expect(binary(LOADER, '25000020')).toBe('0000000000000000');
    expect(binary(LOADER, '250000c2')).toBe('0100000000000000');
  });

  it('adds the resume object (winresume.efi, \\hiberfil.sys on the Windows partition) and sets {memdiag} up on the ESP', () => {
    expect(values(bcd(), `\\Objects\\${RESUME}\\Description`).Type).toEqual({ type: 4, dword: 0x10200004 });
    expect(text(RESUME, '12000002')).toEqual({ type: 1, text: '\\Windows\\system32\\winresume.efi' });
    expect(device(RESUME, '21000001')).toMatchObject({ partition: WIN, disk: DISK });
    expect(text(RESUME, '22000002')).toEqual({ type: 1, text: '\\hiberfil.sys' });
    expect(list(RESUME, '14000006')).toEqual([RESUMELOADERSETTINGS]);
    expect(device(MEMDIAG, '11000001')).toMatchObject({ partition: ESP, disk: DISK });
    expect(text(MEMDIAG, '12000002')).toEqual({ type: 1, text: '\\EFI\\Microsoft\\Boot\\memtest.efi' });
    expect(binary(MEMDIAG, '1600000b')).toBe('01');
  });

  it('reports, without failing, an image without BCD-Template and a maintenance OS without hivexsh', async () => {
    const noTemplate = await buildBcd(run, { ...req, template: null, out: join(dir, 'none/BCD') });
    expect(describeBcd(noTemplate)).toMatch(/^BCD store NOT built: the image has no Windows\/System32\/config\/BCD-Template; run `bcdboot C:\\Windows \/f UEFI`/);
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'empty-path');
    try {
      const noTool = await buildBcd(run, { ...req, out: join(dir, 'notool/BCD') });
      expect(describeBcd(noTool)).toMatch(/^BCD store NOT built: hivexsh is not installed in the maintenance OS \(Debian package libhivex-bin/);
    } finally {
      process.env.PATH = path;
    }
    expect(existsSync(join(dir, 'none/BCD')) || existsSync(join(dir, 'notool/BCD'))).toBe(false);
  });

  it('refuses a hive that is not a BCD store, naming it', async () => {
    const other = join(dir, 'SOFTWARE');
    writeFileSync(other, emptyHive());
    await expect(buildBcd(run, { ...req, template: other, out: join(dir, 'other/BCD') })).rejects.toThrow(StepError);
    await expect(buildBcd(run, { ...req, template: other, out: join(dir, 'other/BCD') })).rejects.toThrow(/SOFTWARE is not a BCD store/);
    expect(readFileSync(other).subarray(0, 4).toString()).toBe('regf');
  });
});
