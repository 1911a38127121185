import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBootService } from '../../src/controller/boot/boot-service.js';
import { createJobTokens } from '../../src/controller/jobs/ids.js';
import type { Job, JobStore } from '../../src/controller/jobs/job-model.js';
import { createJobService } from '../../src/controller/jobs/job-service.js';
import { createSqliteJobStore } from '../../src/controller/jobs/job-store.sqlite.js';
import { createMachineService } from '../../src/controller/machines/machine-service.js';
import { createSqliteMachineStore } from '../../src/controller/machines/machine-store.sqlite.js';
import type { MediaService } from '../../src/controller/media/media-service.js';
import { buildTaskIso, taskIsoFiles } from '../../src/controller/media/task-iso.js';
import { createRecipeService } from '../../src/controller/recipes/recipe-service.js';
import { createSqliteRecipeStore } from '../../src/controller/recipes/recipe-store.sqlite.js';
import { openDb, type OpenedDb } from '../../src/db/client.js';
import { certFingerprint, parseFingerprint } from '../../src/lib/cert-fingerprint.js';
import { tlsVerifyCode } from '../../src/lib/tls-errors.js';
import { readIsoFiles } from '../../src/maintenance-os/find-task.js';
import { parseCmdline } from '../../src/maintenance-os/task.js';
import { readIsoFile } from '../helpers/iso.js';
import { linuxRecipe, queuedJob } from '../helpers/task-job.js';
import { makeTestPki, type TestPki } from '../helpers/test-pki.js';
import { requireTool } from '../helpers/tools.js';

const hasOpenssl = requireTool('openssl');

describe('CA fingerprints and the words around them', () => {
  it('reads sha256 fingerprints in the forms people write them, in reef form', () => {
    const hex = 'fded954e7cf9626d66f899122f04d2148ccf15f3d683423c66b4357d7c77b96b';
    const colons = hex.toUpperCase().match(/../g)!.join(':');
    for (const text of [`sha256:${hex}`, `SHA256:${hex.toUpperCase()}`, `sha256:${colons}`, colons, hex]) expect(parseFingerprint(text)).toBe(`sha256:${hex}`);
    for (const bad of ['', 'sha256:', `md5:${hex}`, `sha256:${hex}00`, `sha256:${hex.slice(2)}`, 'sha256:xyz']) expect(parseFingerprint(bad)).toBeNull();
  });

  it('takes reef.ca= from the kernel command line', () => {
    expect(parseCmdline('quiet reef.controller=https://10.0.0.1:8443 reef.job=J reef.token=T reef.ca=sha256:ab\n')).toEqual({
      controller: 'https://10.0.0.1:8443',
      job: 'J',
      token: 'T',
      ca: 'sha256:ab',
    });
  });

  it("finds Node's certificate verification codes in an error or its causes, and nothing else", () => {
    const tlsError = Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(tlsVerifyCode(tlsError)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(tlsVerifyCode(new TypeError('fetch failed', { cause: tlsError }))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(tlsVerifyCode(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }) }))).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(tlsVerifyCode(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }))).toBeUndefined();
  });
});

describe.runIf(hasOpenssl)('the controller hands out its site CA', () => {
  let pki: TestPki;
  let other: TestPki;
  let dir: string;
  beforeAll(() => {
    pki = makeTestPki('reef site CA');
    other = makeTestPki('another CA');
    dir = mkdtempSync(join(tmpdir(), 'reef-task-ca-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The task ISO's files as the agent reads them (the repo's own ISO 9660 reader, by Rock Ridge name). */
  const agentReads = async (iso: Uint8Array) => {
    const file = join(dir, `task-${Math.random().toString(36).slice(2)}.iso`);
    writeFileSync(file, iso);
    return readIsoFiles(file);
  };

  it('the task ISO carries ca.crt and task.json ca_fingerprint when built with the CA', async () => {
    const iso = buildTaskIso({ job: queuedJob(linuxRecipe()), token: 't', controllerUrl: 'https://reef.example:8443', caPem: pki.caPem });
    const files = await agentReads(iso);
    expect(files['ca.crt']).toBe(pki.caPem);
    const task = JSON.parse(files['task.json']!);
    expect(task.ca_fingerprint).toBe(pki.fingerprint);
    expect(certFingerprint(pki.caPem)).toBe(pki.fingerprint);
    // An HTTPS controller's registry is not insecure.
    expect(task.insecure_registries).toEqual([]);
    if (requireTool('xorriso')) {
      expect(readIsoFile(iso, 'ca.crt')).toBe(pki.caPem);
      expect(JSON.parse(readIsoFile(iso, 'task.json')).ca_fingerprint).toBe(pki.fingerprint);
    }
  });

  it('without a CA: no ca.crt, no ca_fingerprint, and a plain-HTTP controller stays an insecure registry', async () => {
    const files = await agentReads(buildTaskIso({ job: queuedJob(linuxRecipe()), token: 't', controllerUrl: 'http://reef.example:8080' }));
    expect(Object.keys(files).sort()).toEqual(['meta-data', 'recipe.json', 'task.json', 'user-data']);
    const task = JSON.parse(files['task.json']!);
    expect(task).not.toHaveProperty('ca_fingerprint');
    expect(task.insecure_registries).toEqual(['reef.example:8080']);
  });

  describe('createJobService: the CA getter, asked for each task', () => {
    let opened: OpenedDb;
    const written = new Map<string, Uint8Array>();
    let ca: string | undefined;
    const tokens = createJobTokens(Buffer.alloc(32, 7));
    let jobs: ReturnType<typeof createJobService>;
    beforeAll(() => {
      opened = openDb(join(dir, 'db'));
      const now = () => Date.now();
      jobs = createJobService({
        store: createSqliteJobStore(opened.db),
        machines: createMachineService({ store: createSqliteMachineStore(opened.db), now }),
        recipes: createRecipeService({ store: createSqliteRecipeStore(opened.db), now }),
        media: { write: async (id, iso) => void written.set(id, iso), remove: async (id) => void written.delete(id) },
        buildTaskIso,
        taskFiles: taskIsoFiles,
        tokens,
        taskIsoUrl: (id) => `https://reef.example:8443/media/tasks/${id}/task.iso`,
        publicUrl: 'https://reef.example:8443',
        webhookSecret: undefined,
        maxEventsPerJob: 100,
        now,
        ca: () => ca,
      });
    });
    afterAll(() => opened?.close());

    it('a CA made after start reaches the next task ISO and the fetched task', async () => {
      const before = await jobs.create({ server_serial: 'CA-0', recipe: linuxRecipe() });
      expect(await agentReads(written.get(before.job_id)!)).not.toHaveProperty('ca.crt');

      ca = pki.caPem;
      const after = await jobs.create({ server_serial: 'CA-1', recipe: linuxRecipe() });
      const files = await agentReads(written.get(after.job_id)!);
      expect(files['ca.crt']).toBe(pki.caPem);
      expect(JSON.parse(files['task.json']!).ca_fingerprint).toBe(pki.fingerprint);
      const fetched = jobs.task(after.job_id, tokens.issue(after.job_id)).files;
      expect(fetched['ca.crt']).toBe(pki.caPem);
      expect(JSON.parse(fetched['task.json']!).ca_fingerprint).toBe(pki.fingerprint);
    });
  });

  describe('createBootService: reef.ca= on the maintenance OS command line', () => {
    const job = { id: '01JBOOTCA00000000000000000' } as Job;
    const boot = (caFingerprint?: () => string | undefined) =>
      createBootService({
        machines: { lookup: () => ({ serial: 'BOOT-CA' }) } as never,
        jobs: { findActive: () => job, record: () => {} } as unknown as JobStore,
        tokens: createJobTokens(Buffer.alloc(32, 1)),
        media: { hasBootIso: () => false } as unknown as MediaService,
        boot: { kernel: '/assets/vmlinuz', initrd: '/assets/initrd.img', cmdline: 'console=ttyS0' },
        publicUrl: 'https://reef.example:8443',
        now: () => 0,
        ...(caFingerprint ? { caFingerprint } : {}),
      });
    const kernelLine = (script: string) => script.split('\n').find((l) => l.startsWith('kernel '))!;

    it('pins the CA the getter names, and nothing when it names none', () => {
      const words = kernelLine(boot(() => pki.fingerprint).script({ serial: 'BOOT-CA' })).split(' ');
      expect(words).toContain(`reef.ca=${pki.fingerprint}`);
      expect(words.indexOf(`reef.ca=${pki.fingerprint}`)).toBeGreaterThan(words.findIndex((w) => w.startsWith('reef.token=')));
      expect(words).toContain('console=ttyS0');
      // Given as openssl prints it, written in reef form.
      expect(kernelLine(boot(() => other.opensslFingerprint).script({ serial: 'BOOT-CA' }))).toContain(` reef.ca=${other.fingerprint} `);
      expect(kernelLine(boot(() => undefined).script({ serial: 'BOOT-CA' }))).not.toContain('reef.ca=');
      expect(kernelLine(boot().script({ serial: 'BOOT-CA' }))).not.toContain('reef.ca=');
    });
  });
});
