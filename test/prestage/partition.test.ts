/**
 * `reef prestage partition` on real loop devices (sparse images): the partition is where the
 * factory tooling and coreos-installer --save-partlabel expect it, and a disk holding anything is
 * left alone unless --force.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mustRun, run } from '../helpers/containers.js';
import { runReef } from '../helpers/process.js';
import { attachDisk, canUseLoopDevices, detachDisk, diskFingerprint, type LoopDisk } from './helpers/loop.js';

const enabled = canUseLoopDevices();
const GiB = 2 ** 30;

const reef = async (args: string[]) => {
  const r = runReef(['prestage', 'partition', ...args], {});
  const code = await r.exited;
  return { code, output: r.output() };
};

/** Partition rows of `sgdisk -p` and the disk's last usable sector. */
const table = async (dev: string) => {
  const out = await mustRun('sgdisk', ['-p', dev]);
  const lastUsable = Number(/last usable sector is (\d+)/.exec(out)![1]);
  const rows = [...out.matchAll(/^\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+ \S+\s+(\w+)\s+(.*)$/gm)].map((m) => ({
    number: Number(m[1]),
    start: Number(m[2]),
    end: Number(m[3]),
    code: m[4],
    name: m[5]!.trim(),
  }));
  return { lastUsable, rows };
};

const blkid = async (node: string) => (await mustRun('blkid', ['-p', '-o', 'export', node])).trim();

describe.skipIf(!enabled)('reef prestage partition on loop devices', () => {
  let dir: string;
  const disks: LoopDisk[] = [];
  const disk = async (name: string, size: string) => {
    const d = await attachDisk(dir, name, size);
    disks.push(d);
    return d;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reef-partition-'));
  });
  afterAll(async () => {
    for (const d of disks) await detachDisk(d);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates an XFS partition named data that ends at the last usable sector of a 400 GiB disk', async () => {
    const d = await disk('big.img', '400G');
    const r = await reef(['--device', d.dev, '--size', '100G']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain(`created ${d.dev}p1`);
    const t = await table(d.dev);
    expect(t.rows).toHaveLength(1);
    const [p] = t.rows;
    expect(p).toMatchObject({ number: 1, name: 'data', code: '8300' });
    expect(p!.end).toBe(t.lastUsable);
    // sgdisk aligns the start down to a 1 MiB boundary: 100 GiB plus less than 1 MiB.
    const bytes = (p!.end - p!.start + 1) * 512;
    expect(p!.start % 2048).toBe(0);
    expect(bytes).toBeGreaterThanOrEqual(100 * GiB);
    expect(bytes).toBeLessThan(100 * GiB + 2 ** 20);
    const id = await blkid(`${d.dev}p1`);
    expect(id).toMatch(/^TYPE=xfs$/m);
    expect(id).toMatch(/^LABEL=data$/m);
    expect(id).toMatch(/^PART_ENTRY_NAME=data$/m);
    const plain = await mustRun('blkid', [`${d.dev}p1`]);
    expect(plain).toMatch(/TYPE="xfs"/);
    expect(plain).toMatch(/PARTLABEL="data"/);
  });

  it('honours --label and --fs ext4', async () => {
    const d = await disk('ext4.img', '2G');
    const r = await reef(['--device', d.dev, '--size', '512MiB', '--label', 'precache', '--fs', 'ext4']);
    expect(r.code, r.output).toBe(0);
    const t = await table(d.dev);
    expect(t.rows[0]).toMatchObject({ name: 'precache' });
    expect(t.rows[0]!.end).toBe(t.lastUsable);
    const id = await blkid(`${d.dev}p1`);
    expect(id).toMatch(/^TYPE=ext4$/m);
    expect(id).toMatch(/^LABEL=precache$/m);
  });

  it('refuses a disk with a partition (exit 3, untouched) and wipes it with --force', async () => {
    const d = await disk('parted.img', '2G');
    await mustRun('sgdisk', ['-n', '1:0:+100M', '-c', '1:keepme', d.dev]);
    await mustRun('partx', ['-u', d.dev]);
    const before = await diskFingerprint(d);
    const r = await reef(['--device', d.dev, '--size', '1G']);
    expect(r.code).toBe(3);
    expect(r.output).toMatch(new RegExp(`${d.dev} is not empty .*partitions ${d.dev}p1.*nothing was changed.*--force`));
    expect(await diskFingerprint(d)).toBe(before);
    expect((await table(d.dev)).rows.map((x) => x.name)).toEqual(['keepme']);

    const forced = await reef(['--device', d.dev, '--size', '1G', '--force']);
    expect(forced.code, forced.output).toBe(0);
    const t = await table(d.dev);
    expect(t.rows.map((x) => [x.number, x.name])).toEqual([[1, 'data']]);
    expect(t.rows[0]!.end).toBe(t.lastUsable);
    expect(await blkid(`${d.dev}p1`)).toMatch(/^TYPE=xfs$/m);
  });

  it('refuses a disk holding a filesystem and no partition table, and takes it with --force', async () => {
    const d = await disk('fs.img', '1G');
    await mustRun('mkfs.ext4', ['-q', '-F', '-L', 'olddata', d.dev]);
    const before = await diskFingerprint(d);
    const r = await reef(['--device', d.dev, '--size', '400M']);
    expect(r.code).toBe(3);
    expect(r.output).toMatch(/not empty \(signatures ext4 at 0x438\)/);
    expect(await diskFingerprint(d)).toBe(before);
    expect(await blkid(d.dev)).toMatch(/^LABEL=olddata$/m);

    const forced = await reef(['--device', d.dev, '--size', '400M', '--force']);
    expect(forced.code, forced.output).toBe(0);
    expect((await run('blkid', ['-p', '-s', 'TYPE', d.dev])).stdout).not.toMatch(/ext4/);
    expect(await blkid(`${d.dev}p1`)).toMatch(/^LABEL=data$/m);
  });

  it('refuses a size larger than the disk before touching it, naming --size (exit 2)', async () => {
    const d = await disk('small.img', '1G');
    const before = await diskFingerprint(d);
    const r = await reef(['--device', d.dev, '--size', '2G', '--force']);
    expect(r.code).toBe(2);
    expect(r.output).toMatch(/--size: 2\.0 GiB is larger than \/dev\/loop\d+ \(1\.0 GiB/);
    expect(await diskFingerprint(d)).toBe(before);
  });

  it('--print runs nothing, and the script it prints partitions an empty disk the same way', async () => {
    const parted = await disk('print-parted.img', '2G');
    await mustRun('sgdisk', ['-n', '1:0:+100M', parted.dev]);
    const before = await diskFingerprint(parted);
    const printed = runReef(['prestage', 'partition', '--device', parted.dev, '--size', '1G', '--force', '--print'], {});
    expect(await printed.exited).toBe(0);
    expect(printed.output()).toMatch(/^#!\/bin\/sh\n/);
    expect(printed.output()).toContain('sgdisk --zap-all "$DEV"');
    expect(printed.output()).toContain('sgdisk -n 1:-1G:0 -t 1:8300 -c 1:data "$DEV"');
    expect(await diskFingerprint(parted)).toBe(before);

    // The script without --force: refuses the partitioned disk (exit 3), works on an empty one.
    const empty = await disk('print-empty.img', '2G');
    const script = join(dir, 'partition.sh');
    const plain = runReef(['prestage', 'partition', '--device', empty.dev, '--size', '1G', '--print'], {});
    expect(await plain.exited).toBe(0);
    writeFileSync(script, plain.output());
    writeFileSync(`${script}.parted`, plain.output().replaceAll(empty.dev, parted.dev));
    const refusedParted = await run('sh', [`${script}.parted`]);
    expect(refusedParted.code, refusedParted.stderr).toBe(3);
    expect(refusedParted.stderr).toMatch(/is not empty/);
    expect(await diskFingerprint(parted)).toBe(before);
    const ran = await run('sh', [script]);
    expect(ran.code, ran.stderr).toBe(0);
    const t = await table(empty.dev);
    expect(t.rows.map((x) => [x.number, x.name, x.code])).toEqual([[1, 'data', '8300']]);
    expect(t.rows[0]!.end).toBe(t.lastUsable);
    expect(await blkid(`${empty.dev}p1`)).toMatch(/^TYPE=xfs$/m);
  });

  it('names the flag for bad input (exit 2) and refuses a device that is not a block device', async () => {
    const noSize = await reef(['--device', '/dev/loop0']);
    expect(noSize.code).toBe(2);
    expect(noSize.output).toMatch(/--size: required/);
    const badSize = await reef(['--device', '/dev/loop0', '--size', '100X']);
    expect(badSize.code).toBe(2);
    expect(badSize.output).toMatch(/--size: "100X" is not a size/);
    const badLabel = await reef(['--device', '/dev/loop0', '--size', '1G', '--label', 'much-too-long-for-xfs']);
    expect(badLabel.code).toBe(2);
    expect(badLabel.output).toMatch(/--label: .* longer than the 12 characters/);
    const notDev = await reef(['--device', '/dev/null', '--size', '1G']);
    expect(notDev.code).toBe(2);
    expect(notDev.output).toMatch(/--device: \/dev\/null is not a block device/);
  });
});
