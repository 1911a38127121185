/**
 * The whole flow on a virtual machine (issue 17 point 5): a blank UEFI VM PXE-boots through
 * dnsmasq and iPXE into reef's maintenance OS, the agent installs a Debian rootfs from reef's
 * registry, the VM restarts from its disk through reef's local-boot script and shows the installed
 * system's login prompt on its serial console. Phase times go to the output and bench/RESULTS.md.
 * Root, qemu, OVMF, iPXE's ROM, dnsmasq, mmdebstrap, mksquashfs: missing ones skip it loudly, and
 * fail it under CI=true (test/helpers/tools.ts). Run: `npm run test:e2e`.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDist } from '../helpers/process.js';
import { requireAvailable, requireTool } from '../helpers/tools.js';
import { REEF_PORT, startDnsmasq, serveMaintenanceOs, startReefInNs, type ReefInNs } from './boot-services.js';
import { cacheRoot } from './cache.js';
import { installedRootfs, maintenanceImage } from './images.js';
import { type BootNet, createBootNet, type Started, stop } from './net.js';
import { eventLines, type JobView, reefApi } from './reef-api.js';
import { formatRun, recordRun } from './results.js';
import { IPXE_ROM, OVMF_CODE, OVMF_VARS, startVm, type Vm } from './vm.js';

const TOOLS = ['qemu-system-x86_64', 'dnsmasq', 'mmdebstrap', 'mksquashfs', 'ip', 'truncate', 'gzip', 'npm'];
const FILES = [OVMF_CODE, OVMF_VARS, IPXE_ROM, '/dev/net/tun'];
const ready =
  requireAvailable('root (a network namespace, a tap device, chroot builds)', process.getuid?.() === 0) &&
  TOOLS.every((t) => requireTool(t)) &&
  FILES.every((f) => requireAvailable(`file ${f}`, existsSync(f)));

const SERIAL = 'E2E-VM-1';
const MAC = '52:54:00:e2:e0:01';
// The rootfs says reef-e2e in /etc/hostname; cloud-init renames it from the recipe's NoCloud seed.
const HOSTNAME = 'e2e-node';
const MARKER = `reef-e2e: cloud-init runcmd ran on ${HOSTNAME}`;
const JOB_LIMIT_MS = 15 * 60_000; // from qemu's start to the job's end
const LOGIN_LIMIT_MS = 6 * 60_000; // from the job's end (the agent's reboot) to the login prompt

const since = (t0: number, t: number | string) => ((typeof t === 'string' ? Date.parse(t) : t) - t0) / 1000;
const log = (t0: number, what: string) => console.log(`[e2e +${since(t0, Date.now()).toFixed(0)} s] ${what}`);

/** `reef push` from the host, as an operator pushes an OS image; fails with the CLI's output. */
const push = (ref: string, file: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['dist/cli.js', 'push', ref, file, '--plain-http'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`reef push ${ref} exited ${code}:\n${out}`))));
  });

describe.runIf(ready)('end to end on a VM (UEFI, TCG): PXE boot, install through reef, reboot from disk', () => {
  let dir: string;
  let net: BootNet | undefined;
  let dnsmasq: Started | undefined;
  let reef: ReefInNs | undefined;
  let vm: Vm | undefined;
  let api: ReturnType<typeof reefApi>;
  let jobId: string;
  let build: { seconds: number; cache: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reef-e2e-'));
    buildDist(); // the maintenance image carries dist/, and reef runs from it
    const [mos, rootfs] = await Promise.all([maintenanceImage(), installedRootfs()]);
    build = {
      seconds: Math.max(mos.seconds, rootfs.seconds),
      cache: mos.hit && rootfs.hit ? 'cached' : `built (${[mos.hit ? '' : 'maintenance', rootfs.hit ? '' : 'rootfs'].filter(Boolean).join(', ')})`,
    };
    console.log(`[e2e] maintenance image ${mos.hit ? 'from the cache' : `built in ${mos.seconds.toFixed(0)} s`}: ${mos.dir}`);
    console.log(`[e2e] rootfs ${rootfs.hit ? 'from the cache' : `built in ${rootfs.seconds.toFixed(0)} s`}: ${rootfs.dir}`);

    net = createBootNet();
    dnsmasq = await startDnsmasq(net, dir);
    reef = await startReefInNs(net, dir, serveMaintenanceOs(mos.dir));
    api = reefApi(reef.apiUrl, reef.token);

    const ref = 'os-images/e2e:1';
    await push(`${net.nsSide}:${REEF_PORT}/${ref}`, join(rootfs.dir, 'rootfs.tar.gz'));
    await api.must(201, 'POST', '/api/v1/machines', { serial: SERIAL, macs: [MAC] });
    const recipe = {
      task_target: 'install-linux.target',
      target_disk: '/dev/vda',
      oci_url: `${net.gateway}:${REEF_PORT}/${ref}`,
      partitions: [
        { mount: '/boot/efi', size: '256M', fstype: 'vfat' },
        { mount: '/', size: '0', fstype: 'ext4' },
      ],
      cloud_init: { hostname: `${HOSTNAME}.example.com`, runcmd: ['echo "reef-e2e: cloud-init runcmd ran on $(hostname)" >/dev/ttyS0'] },
    };
    jobId = (await api.must<{ job_id: string }>(202, 'POST', '/api/v1/jobs', { server_serial: SERIAL, recipe })).job_id;
  });

  afterAll(async () => {
    // Keep the logs of the last run beside the cache, for a look after a failure.
    const keep = join(cacheRoot(), 'last-run');
    if (dir && existsSync(join(dir, 'serial.log'))) {
      mkdirSync(keep, { recursive: true });
      copyFileSync(join(dir, 'serial.log'), join(keep, 'serial.log'));
      writeFileSync(join(keep, 'reef.log'), reef?.proc.output() ?? '');
      writeFileSync(join(keep, 'dnsmasq.log'), dnsmasq?.output() ?? '');
    }
    await stop(vm?.proc);
    await stop(reef?.proc);
    await stop(dnsmasq);
    net?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Polls the job until it ends; fails with its events, or with the serial console's tail on a timeout. */
  const waitForJob = async (t0: number): Promise<JobView> => {
    let step: string | null = null;
    for (;;) {
      const job = await api.job(jobId);
      if (job.step !== step) log(t0, `job ${job.status}, step ${(step = job.step)}`);
      if (job.status === 'succeeded') return job;
      if (job.status === 'failed' || job.status === 'canceled') {
        throw new Error(`job ${jobId} ${job.status} at ${job.failed_step}: ${job.reason}\nevents:\n${eventLines(job.events)}\nserial console (last lines):\n${vm!.serial.tail(40)}`);
      }
      if (vm!.proc.child.exitCode !== null) throw new Error(`qemu exited (${vm!.proc.child.exitCode}):\n${vm!.proc.output()}`);
      if (Date.now() - t0 > JOB_LIMIT_MS) {
        throw new Error(`job ${jobId} still ${job.status} (step ${job.step}) after ${JOB_LIMIT_MS / 60_000} min\nevents:\n${eventLines(job.events)}\nserial console (last lines):\n${vm!.serial.tail(60)}`);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  };

  /** Waits for `pattern` on the serial console from byte `from` on. */
  const waitForSerial = async (pattern: RegExp, from: number, limitMs: number, what: string): Promise<number> => {
    const started = Date.now();
    for (;;) {
      if (pattern.test(vm!.serial.since(from))) return Date.now();
      if (vm!.proc.child.exitCode !== null) throw new Error(`qemu exited (${vm!.proc.child.exitCode}) waiting for ${what}:\n${vm!.proc.output()}`);
      if (Date.now() - started > limitMs) throw new Error(`no ${what} (${pattern}) on the serial console within ${limitMs / 60_000} min; its last lines:\n${vm!.serial.tail(60)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };

  it('installs the blank disk through reef and boots the installed system to its login prompt', async () => {
    const t0 = Date.now();
    vm = startVm(net!, dir, { mac: MAC, diskGiB: 4 });
    log(t0, `qemu started (serial console: ${vm.serial.file})`);

    const job = await waitForJob(t0);
    // All of them: GET /jobs/{id} holds the latest 100, and the pull's progress reports alone can pass that.
    const events = await api.allEvents(jobId);
    const bootScript = events.find((e) => e.source === 'controller' && e.step === 'boot');
    const firstAgent = events.find((e) => e.source === 'agent');
    expect(bootScript?.message, `no boot-script event; events:\n${eventLines(events)}`).toMatch(/chain to the maintenance OS/);
    expect(firstAgent, `no event from the agent; events:\n${eventLines(events)}`).toBeDefined();
    const steps = ['partition', 'format', 'mount', 'pull', 'fstab', 'cloud-init', 'bootloader', 'finish'];
    const messages = events.map((e) => e.message ?? '');
    for (const s of steps) expect(messages, `step ${s}`).toContain(`${s}: started`);
    // A skipped boot loader leaves a disk that cannot boot, though the job succeeds: say so here, not after a 6-minute wait.
    expect(messages.find((m) => /^bootloader: (done|skipped)/.test(m)), eventLines(events)).toMatch(/^bootloader: done/);
    const agentStart = since(t0, firstAgent!.time);
    const installEnd = since(t0, job.finished_at!);
    log(t0, `job succeeded; boot script at ${since(t0, bootScript!.time).toFixed(0)} s, first agent event at ${agentStart.toFixed(0)} s`);

    // The agent reboots the machine itself once its final report is delivered (the recipe's `after`, default reboot).
    // Read the console from its start: the reboot may come before this poll saw the job end, and
    // the local-boot script and the installed system's login prompt appear only after it.
    const from = 0;
    const resetAt = Date.parse(job.finished_at!);
    const localBoot = await waitForSerial(/booting from the local disk/, from, LOGIN_LIMIT_MS, "reef's local-boot script");
    log(t0, `iPXE ran reef's local-boot script ${((localBoot - resetAt) / 1000).toFixed(0)} s after the job succeeded (the agent rebooted the VM)`);
    const login = await waitForSerial(new RegExp(`${HOSTNAME} login:`), from, LOGIN_LIMIT_MS, "the installed system's login prompt, with the seed's hostname");
    log(t0, 'login prompt of the installed system');
    const marker = await waitForSerial(new RegExp(MARKER), from, LOGIN_LIMIT_MS, "the recipe's cloud-init runcmd output");
    log(t0, 'the recipe\'s cloud-init runcmd ran');

    const run = {
      variant: 'UEFI (OVMF)',
      buildSeconds: build.seconds,
      cache: build.cache,
      pxeToAgent: agentStart,
      install: installEnd - agentStart,
      rebootToLogin: (login - resetAt) / 1000,
      loginToRuncmd: (marker - login) / 1000,
      total: since(t0, Math.max(login, marker)),
    };
    console.log(formatRun(run));
    recordRun(run);
  });
});
