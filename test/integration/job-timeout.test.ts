import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskTokenOf } from '../helpers/iso.js';
import { startTestReef, type TestReef } from '../helpers/server.js';

const recipe = {
  task_target: 'install-linux.target',
  target_disk: '/dev/sda',
  oci_url: 'controller.example.com:8080/os-images/ubuntu-rootfs:22.04',
  partitions: [{ mount: '/', size: '0', fstype: 'ext4' }],
};

describe('REEF_JOB_TIMEOUT', () => {
  let reef: TestReef;
  beforeAll(async () => {
    reef = await startTestReef({ REEF_JOB_TIMEOUT: '2s' });
  });
  afterAll(async () => reef.stop());

  const waitFor = async (id: string, status: string) => {
    for (let i = 0; i < 100; i++) {
      const { body } = await reef.json('GET', `/api/v1/jobs/${id}`);
      if (body.status === status) return body;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${id} never became ${status}`);
  };

  it('fails a job with no report for the timeout, naming the reason and the last step', async () => {
    const { body: job } = await reef.json('POST', '/api/v1/jobs', { server_serial: 'SILENT-1', recipe });
    const token = taskTokenOf(Buffer.from(await (await reef.req(`/media/tasks/${job.job_id}/task.iso`)).arrayBuffer()));
    const auth = { authorization: `Bearer ${token}` };
    expect((await reef.json('POST', `/api/v1/jobs/${job.job_id}/events`, { step: 'pull', message: 'pull: started' }, auth)).status).toBe(200);
    const failed = await waitFor(job.job_id, 'failed');
    expect(failed.failed_step).toBe('pull');
    expect(failed.reason).toMatch(/^no report from the machine for 2s \(REEF_JOB_TIMEOUT\); last step pull$/);
    expect(failed.events.at(-1)).toMatchObject({ level: 'error', source: 'controller' });
    // The machine comes back too late: its report is refused, the job stays failed.
    expect((await reef.json('POST', `/api/v1/jobs/${job.job_id}/events`, { step: 'pull', message: 'late' }, auth)).status).toBe(409);
  });

  it('keeps a job alive while its agent keeps reporting', async () => {
    const { body: job } = await reef.json('POST', '/api/v1/jobs', { server_serial: 'CHATTY-1', recipe });
    const token = taskTokenOf(Buffer.from(await (await reef.req(`/media/tasks/${job.job_id}/task.iso`)).arrayBuffer()));
    for (let i = 0; i < 6; i++) {
      await reef.json('POST', `/api/v1/jobs/${job.job_id}/events`, { step: 'pull', bytes_done: i, bytes_total: 10 }, { authorization: `Bearer ${token}` });
      await new Promise((r) => setTimeout(r, 700));
    }
    expect((await reef.json('GET', `/api/v1/jobs/${job.job_id}`)).body.status).toBe('provisioning');
  });
});
