import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOciClient } from '../../src/registry/client/oci-client.js';
import { pushImage, pushSyntheticRelease, randomLayers, type SyntheticRelease } from '../fixtures/synthetic-release.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { jobWithTask, runAgent, succeededWithSteps, teardown } from './helpers/agent.js';
import { attachDisk, blkid, canUseLoopDisks, partitionInfo, partitionTable, sh } from './helpers/disk.js';

const ok = canUseLoopDisks(['sgdisk', 'partx', 'mkfs.xfs', 'blkid', 'wipefs']);
const AI = ['quay.io/edge-infrastructure/assisted-installer-agent:latest', 'quay.io/edge-infrastructure/assisted-installer:latest'];
const DISK = 2 * 2 ** 30;

describe.runIf(ok)('reef agent: factory pre-staging as a job (prestage.target)', () => {
  let reef: TestReef;
  let dir: string;
  let disk: Awaited<ReturnType<typeof attachDisk>>;
  let release: SyntheticRelease;
  const check = () => join(dir, 'check');
  const recipe = () => ({ task_target: 'prestage.target', target_disk: disk.dev, prestage: { label: 'data', size: '1G', release: '4.19.7', ai_images: AI } });
  const archives = () => readdirSync(check()).filter((n) => n.endsWith('.tgz'));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reef-agent-prestage-'));
    mkdirSync(check());
    reef = await startTestReef();
    const host = new URL(reef.url).host;
    release = await pushSyntheticRelease({ registry: host, version: '4.19.7', components: 6, imageBytes: 128 * 1024, layersPerImage: 2 });
    const client = createOciClient({ registry: host });
    for (const ref of AI) {
      const [repo, tag] = ref.slice('quay.io/'.length).split(':') as [string, string];
      await pushImage(client, repo, tag, randomLayers(repo.replace('/', '-'), 64 * 1024, 1), 'amd64');
    }
    disk = await attachDisk(join(dir, 'disk.img'), String(DISK));
  }, 120_000);

  afterAll(() => teardown({ mounts: [check()], disk, reef, dir }));

  it('creates the data partition at the end of the disk and fills it from reef\'s registry', async () => {
    const t = await jobWithTask(reef, 'SNO-PRESTAGE-1', recipe(), join(dir, 'task-1'));
    const agent = await runAgent(['--task', t.dir], join(dir, 'run-1'));
    const { messages, events } = await succeededWithSteps(reef, t.jobId, agent, ['partition', 'mount', 'download', 'finish']);
    expect(messages.find((m) => m.startsWith('download: done'))).toContain('9 images (release 4.19.7, 2 ai images) on the data partition: 9 downloaded, 0 already there');
    expect(events.some((e) => e.bytes_total !== null && e.bytes_done === e.bytes_total)).toBe(true);

    const [part] = partitionTable(disk.dev);
    expect(partitionInfo(disk.dev, 1)).toEqual({ name: 'data', type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4' });
    expect(part!.end).toBe(DISK / 512 - 34); // the last usable sector: the partition ends at the disk's end
    expect(blkid(`${disk.dev}p1`)).toMatchObject({ TYPE: 'xfs', LABEL: 'data', PARTLABEL: 'data' });

    await sh('mount', ['-o', 'ro', `${disk.dev}p1`, check()]);
    try {
      expect(readFileSync(join(check(), 'ai-images.txt'), 'utf8').trim().split('\n')).toEqual(AI);
      const ocp = readFileSync(join(check(), 'ocp-images.txt'), 'utf8').trim().split('\n');
      expect(ocp).toEqual(expect.arrayContaining([...release.components.map((c) => c.source), `quay.io/openshift-release-dev/ocp-release:${release.releaseTag}`]));
      expect(archives().sort()).toEqual([...AI, ...ocp].map((r) => `${r.slice(r.lastIndexOf('/') + 1).replace(':', '_')}.tgz`).sort());
      expect(existsSync(join(check(), 'mapping.txt'))).toBe(true);
    } finally {
      await sh('umount', [check()]);
    }
  });

  it('a job run again on the same disk keeps the partition and downloads nothing', async () => {
    await sh('mount', ['-o', 'ro', `${disk.dev}p1`, check()]);
    const before = Object.fromEntries(archives().map((n) => [n, statSync(join(check(), n)).mtimeMs]));
    await sh('umount', [check()]);
    const t = await jobWithTask(reef, 'SNO-PRESTAGE-2', recipe(), join(dir, 'task-2'));
    const agent = await runAgent(['--task', t.dir], join(dir, 'run-2'));
    const { messages } = await succeededWithSteps(reef, t.jobId, agent, ['partition', 'mount', 'download', 'finish']);
    expect(messages.find((m) => m.startsWith('partition: done'))).toContain('already has partition 1 named data: kept');
    expect(messages.find((m) => m.startsWith('download: done'))).toContain('0 downloaded, 9 already there');
    await sh('mount', ['-o', 'ro', `${disk.dev}p1`, check()]);
    expect(Object.fromEntries(archives().map((n) => [n, statSync(join(check(), n)).mtimeMs]))).toEqual(before);
    await sh('umount', [check()]);
  });
});
