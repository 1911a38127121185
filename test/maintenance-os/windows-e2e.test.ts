import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { pushToReef, runAgent, succeededWithSteps, teardown } from './helpers/agent.js';
import { attachDisk, blkid, canUseLoopDisks, gptIds, partitionInfo, partitionTable, sh } from './helpers/disk.js';
import { BOOTMGR, deviceElement, element, multiSzList, values, writeBcdTemplate } from './helpers/hive.js';

const TOOLS = ['wimcapture', 'wimapply', 'mkfs.ntfs', 'ntfs-3g', 'mcopy', 'sgdisk', 'partx', 'mkfs.vfat', 'xorriso', 'hivexsh', 'hivexget'];
const ok = canUseLoopDisks(TOOLS);
const UNATTEND = '<?xml version="1.0" encoding="utf-8"?>\n<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"/></unattend>\n';

describe.runIf(ok)('reef agent: Windows install from a WIM on a 3 GiB loop disk', () => {
  let reef: TestReef;
  let dir: string;
  let disk: Awaited<ReturnType<typeof attachDisk>>;
  let job: { job_id: string };
  let agent: { code: number | null; output: string };
  const bootmgr = randomBytes(64 * 1024);
  const ntfs = () => join(dir, 'ntfs');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reef-agent-windows-'));
    reef = await startTestReef();
    const host = reef.url.replace(/^http:\/\//, '');
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'Windows/Boot/EFI/en-US'), { recursive: true });
    mkdirSync(join(tree, 'Windows/Boot/Fonts'), { recursive: true });
    mkdirSync(join(tree, 'Windows/System32/config'), { recursive: true });
    writeFileSync(join(tree, 'Windows/Boot/EFI/bootmgfw.efi'), bootmgr);
    writeFileSync(join(tree, 'Windows/Boot/EFI/en-US/bootmgfw.efi.mui'), 'mui');
    writeFileSync(join(tree, 'Windows/Boot/Fonts/wgl4_boot.ttf'), 'font');
    writeFileSync(join(tree, 'Windows/Boot/EFI/memtest.efi'), 'memtest');
    writeFileSync(join(tree, 'Windows/System32/notepad.exe'), 'MZ notepad');
    writeBcdTemplate(join(tree, 'Windows/System32/config/BCD-Template'));
    const wim = join(dir, 'install.wim');
    execFileSync('wimcapture', [tree, wim, 'Windows Server 2022 SERVERSTANDARD'], { stdio: 'pipe' });
    await pushToReef(reef, 'os-images/windows-server:2022', wim, ['--artifact-type', 'application/vnd.reef.wim']);

    disk = await attachDisk(join(dir, 'disk.img'), '3G');
    const recipe = JSON.parse(readFileSync('recipes/windows-server.json', 'utf8'));
    Object.assign(recipe, { target_disk: disk.dev, oci_url: `${host}/os-images/windows-server:2022`, unattend_xml: UNATTEND });
    const created = await reef.json('POST', '/api/v1/jobs', { server_serial: 'WIN-E2E', recipe });
    expect(created.status).toBe(202);
    job = created.body;
    // The task ISO as the BMC would attach it, given to the agent as a file.
    const iso = join(dir, 'task.iso');
    writeFileSync(iso, Buffer.from(await (await reef.req(`/media/tasks/${job.job_id}/task.iso`)).arrayBuffer()));
    agent = await runAgent(['--task', iso], dir);
    mkdirSync(ntfs());
    if (agent.code === 0) await sh('mount', ['-t', 'ntfs-3g', '-o', 'ro', `${disk.dev}p3`, ntfs()]);
  }, 240_000);

  afterAll(() => teardown({ mounts: [ntfs()], disk, reef, dir }));

  it('exits 0, the job succeeds, and boot-files reports the BCD store it built', async () => {
    const { messages } = await succeededWithSteps(reef, job.job_id, agent, ['partition', 'format', 'pull', 'apply', 'boot-files', 'unattend', 'finish']);
    expect(messages.some((m) => m.startsWith('boot-files: done') && m.includes('BCD store built: {bootmgr}'))).toBe(true);
    expect(messages.filter((m) => m.includes('BCD store NOT built'))).toEqual([]);
  });

  it('adds the ESP the recipe forgot, then MSR and the NTFS partition', () => {
    expect(partitionTable(disk.dev).map((p) => [p.number, p.code])).toEqual([
      [1, 'EF00'],
      [2, '0C01'],
      [3, '0700'],
    ]);
    expect([1, 2, 3].map((n) => partitionInfo(disk.dev, n))).toEqual([
      { name: 'EFI', type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B' },
      { name: 'Microsoft reserved partition', type: 'E3C9E316-0B5C-4DB8-817D-F92DF00215AE' },
      { name: 'Windows', type: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7' },
    ]);
    expect(blkid(`${disk.dev}p3`)).toMatchObject({ TYPE: 'ntfs', LABEL: 'Windows' });
  });

  it('gives the NTFS boot sector the partition start as hidden sectors (else Windows does not boot)', () => {
    const start = partitionTable(disk.dev)[2]!.start;
    const boot = execFileSync('dd', [`if=${disk.dev}p3`, 'bs=512', 'count=1', 'status=none']);
    expect(boot.subarray(3, 11).toString('latin1')).toBe('NTFS    ');
    expect(boot.readUInt32LE(0x1c)).toBe(start);
  });

  it('applies the WIM onto NTFS and places unattend.xml (read back with ntfs-3g)', () => {
    expect(readFileSync(join(ntfs(), 'Windows/System32/notepad.exe'), 'utf8')).toBe('MZ notepad');
    expect(readFileSync(join(ntfs(), 'Windows/Panther/unattend.xml'), 'utf8')).toBe(UNATTEND);
  });

  it('fills the ESP from the image boot files (read back from the FAT with mtools)', () => {
    const out = join(dir, 'bootx64.efi');
    execFileSync('mcopy', ['-n', '-i', `${disk.dev}p1`, '::/EFI/Boot/bootx64.efi', out], { stdio: 'pipe' });
    expect(readFileSync(out).equals(bootmgr)).toBe(true);
    const listing = execFileSync('mdir', ['-/', '-b', '-i', `${disk.dev}p1`, '::/EFI/Microsoft/Boot'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(listing).toContain('::/EFI/Microsoft/Boot/bootmgfw.efi');
    expect(listing).toContain('::/EFI/Microsoft/Boot/en-US/bootmgfw.efi.mui');
    expect(listing).toContain('::/EFI/Microsoft/Boot/Fonts/wgl4_boot.ttf');
  });

  it('writes EFI/Microsoft/Boot/BCD: {bootmgr} on the ESP and the default loader on the Windows partition, by their GPT GUIDs', () => {
    const bcd = join(dir, 'BCD');
    execFileSync('mcopy', ['-n', '-i', `${disk.dev}p1`, '::/EFI/Microsoft/Boot/BCD', bcd], { stdio: 'pipe' });
    const esp = gptIds(disk.dev, 1);
    const win = gptIds(disk.dev, 3);
    expect([esp.partition, win.partition, esp.disk]).toEqual(Array(3).fill(expect.stringMatching(/^[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}$/)));
    expect(deviceElement(bcd, BOOTMGR, '11000001')).toMatchObject({ deviceType: 6, size: 0x48, partition: esp.partition, partitionStyle: 0, disk: esp.disk });
    expect(element(bcd, BOOTMGR, '12000002')).toEqual({ type: 1, text: '\\EFI\\Microsoft\\Boot\\bootmgfw.efi' });
    const loader = element(bcd, BOOTMGR, '23000003');
    if (!('text' in loader)) throw new Error(`default is not REG_SZ: ${JSON.stringify(loader)}`);
    const display = element(bcd, BOOTMGR, '24000001');
    expect('bytes' in display && multiSzList(display.bytes)).toEqual([loader.text]);
    expect(values(bcd, `\\Objects\\${loader.text}\\Description`).Type).toEqual({ type: 4, dword: 0x10200003 });
    for (const type of ['11000001', '21000001']) {
      expect(deviceElement(bcd, loader.text, type)).toMatchObject({ deviceType: 6, partition: win.partition, partitionStyle: 0, disk: win.disk });
    }
    expect(element(bcd, loader.text, '12000002')).toEqual({ type: 1, text: '\\Windows\\system32\\winload.efi' });
    expect(element(bcd, loader.text, '22000002')).toEqual({ type: 1, text: '\\Windows' });
    expect(element(bcd, loader.text, '12000004')).toEqual({ type: 1, text: 'Windows Server 2022 SERVERSTANDARD' });
  });
});
