import { DomainError, fieldError } from '../../core/errors.js';
import { parseFingerprint } from '../../lib/cert-fingerprint.js';
import type { JobTokens } from '../jobs/ids.js';
import type { JobStore } from '../jobs/job-model.js';
import type { MachineService } from '../machines/machine-service.js';
import type { MediaService } from '../media/media-service.js';
import { chainScript, localBootScript, sanbootScript } from './ipxe.js';
import { type MaintenanceImage, maintenanceArgs } from './maintenance-image.js';

export interface BootConfig {
  kernel?: string;
  initrd?: string;
  cmdline: string;
}

/** `reef.ca=sha256:<hex>` for the fingerprint given, none without one. */
const caPin = (fingerprint: string | undefined): string[] => {
  if (fingerprint === undefined) return [];
  const pin = parseFingerprint(fingerprint);
  if (!pin) throw new Error(`the site CA fingerprint ${JSON.stringify(fingerprint)} is not a SHA-256 fingerprint`);
  return [`reef.ca=${pin}`];
};

const absolute = (url: string, base: string) => (/^[a-z]+:\/\//i.test(url) ? url : `${base}/${url.replace(/^\/+/, '')}`);

/** Picks the iPXE script for a machine: its active job's maintenance OS, or the local disk. */
export const createBootService = (deps: {
  machines: MachineService;
  jobs: JobStore;
  tokens: JobTokens;
  media: MediaService;
  boot: BootConfig;
  /** What the maintenance OS calls back (HTTPS when reef serves TLS). */
  publicUrl: string;
  /** Where iPXE fetches kernels and media: the plain-HTTP boot listener when there is one. */
  bootUrl?: string;
  now: () => number;
  /** Generated live ISOs (POST /api/v1/isos), for /boot.ipxe?iso=<id>. */
  isos?: { bootUrl(id: string): Promise<string> };
  /** The maintenance OS in REEF_BOOT_DIR, chained to when REEF_BOOT_KERNEL/INITRD are not set. */
  image?: MaintenanceImage;
  /**
   * The site CA's fingerprint (`sha256:<hex>`; bare hex is taken too), asked for each script: the
   * maintenance OS pins the CA by it (`reef.ca=`). None: the command line pins nothing.
   */
  caFingerprint?: () => string | undefined;
}) => ({
  async isoScript(id: string): Promise<string> {
    if (!deps.isos) throw new DomainError('NOT_FOUND', 'live ISOs are not served by this controller');
    return sanbootScript({ what: `ISO ${id}: sanboot of a live ISO with embedded Ignition over HTTP`, isoUrl: await deps.isos.bootUrl(id) });
  },
  script(query: { serial?: string; mac?: string }): string {
    if (query.serial === undefined && query.mac === undefined) {
      throw fieldError('serial', 'give ?serial= or ?mac= (iPXE: ?serial=${serial}&mac=${net0/mac})', 'request');
    }
    const machine = deps.machines.lookup(query.serial !== undefined ? { serial: query.serial } : { mac: query.mac! });
    if (!machine) return localBootScript(`machine ${query.serial ?? query.mac} is not known to reef`);
    const job = deps.jobs.findActive(machine.serial);
    if (!job) return localBootScript(`no active job for ${machine.serial}`);
    const t = deps.now();
    const note = (message: string, level: 'info' | 'error' = 'info') =>
      deps.jobs.record(job.id, { time: t, level, step: 'boot', message, bytesDone: null, bytesTotal: null, deliveryId: null, source: 'controller' }, { updatedAt: t });
    if (deps.media.hasBootIso()) {
      note('iPXE fetched its script: sanboot of the boot ISO');
      return sanbootScript({ what: `job ${job.id}: sanboot of the boot ISO over HTTP`, isoUrl: deps.media.bootIsoUrl(job.id) });
    }
    const { cmdline } = deps.boot;
    const base = deps.bootUrl ?? deps.publicUrl;
    // REEF_BOOT_KERNEL/INITRD when set; else the image in REEF_BOOT_DIR, with its own arguments.
    const fromDir = !(deps.boot.kernel && deps.boot.initrd) && deps.image?.bootable();
    const kernel = fromDir ? '/media/maintenance/vmlinuz' : deps.boot.kernel;
    const initrd = fromDir ? '/media/maintenance/initrd.img' : deps.boot.initrd;
    if (kernel && initrd) {
      note(`iPXE fetched its script: chain to the maintenance OS${fromDir ? ` in ${deps.image!.dir}` : ''}`);
      const args = [
        ...(fromDir ? maintenanceArgs(base, deps.image!) : []),
        `reef.controller=${deps.publicUrl}`,
        `reef.job=${job.id}`,
        `reef.token=${deps.tokens.issue(job.id)}`,
        ...caPin(deps.caFingerprint?.()),
        ...cmdline.split(/\s+/).filter(Boolean),
      ];
      return chainScript({ jobId: job.id, kernelUrl: absolute(kernel, base), initrdUrl: absolute(initrd, base), args });
    }
    note('iPXE asked for a script but no maintenance OS is configured (vmlinuz + initrd.img in REEF_BOOT_DIR, REEF_BOOT_KERNEL + REEF_BOOT_INITRD, or REEF_BOOT_ISO)', 'error');
    return localBootScript(`job ${job.id} is waiting, but reef has no maintenance OS (REEF_BOOT_DIR, REEF_BOOT_KERNEL/REEF_BOOT_INITRD or REEF_BOOT_ISO)`);
  },
});
export type BootService = ReturnType<typeof createBootService>;
