/**
 * The discovery and pointer Ignition overrides of factory pre-staging (DESIGN §6).
 *
 * Both carry the loader script (storage.files[], data: URL, mode 493 = 0755), a mount unit for
 * the data partition by partlabel (named after the mount point, e.g. var-mnt.mount) and a
 * oneshot service running the loader:
 *  - discovery: precache-images.service loads `ai-images` before agent.service;
 *  - pointer: precache-ocp-images.service loads `ocp-images` before
 *    machine-config-daemon-pull.service and nodeip-configuration.service.
 * As in the factory-precaching prototype, the mount is bound to the service (it is unmounted
 * when the service has finished) and has no Type= so any filesystem mounts.
 *
 * Assisted Service embeds the merged discovery config in the ISO's initrd as a gzipped newc cpio
 * of at most 256 KiB; a discovery override that alone would exceed that is refused.
 */
import { gzipSync } from 'node:zlib';
import { validationError } from '../../core/errors.js';
import { writeNewc } from '../../formats/cpio/newc.js';
import { fileEntry, mountUnit, unitEntry, unitFile } from '../builders.js';
import { LOADER_PATH_ON_NODE } from '../precache/loader-script.js';
import type { PrecacheList } from '../precache/layout.js';
import { mountUnitName } from '../systemd-names.js';
import type { Config31, Config32 } from '../types.js';
import { formatIssues, validateIgnition } from '../validate.js';
import { ASSISTED_VERSIONS } from '../types.js';
import type { OverrideOptions } from './options.js';

export type OverrideConfig = Config31 | Config32;
export type OverrideStage = 'discovery' | 'pointer';

/** Assisted Service's limit on the discovery ignition as a compressed cpio archive. */
export const DISCOVERY_CPIO_LIMIT = 256 * 1024;

interface Stage {
  service: string;
  list: PrecacheList;
  description: string;
  before: string;
  wantedBy: string;
}

export const STAGES: Record<OverrideStage, Stage> = {
  discovery: {
    service: 'precache-images.service',
    list: 'ai-images',
    description: 'reef: load the pre-cached discovery images (ai-images) into containers-storage',
    before: 'agent.service',
    wantedBy: 'multi-user.target agent.service',
  },
  pointer: {
    service: 'precache-ocp-images.service',
    list: 'ocp-images',
    description: 'reef: load the pre-cached OpenShift images (ocp-images) into containers-storage',
    before: 'machine-config-daemon-pull.service nodeip-configuration.service',
    wantedBy: 'multi-user.target',
  },
};

const buildOverride = (stage: OverrideStage, opts: OverrideOptions, loaderScript: string): OverrideConfig => {
  const s = STAGES[stage];
  const device = `/dev/disk/by-partlabel/${opts.label}`;
  const mount = mountUnit({
    what: device,
    where: opts.imagesDir,
    description: `reef: pre-cache data partition (partlabel ${opts.label})`,
    unit: [
      ['Before', s.service],
      ['BindsTo', s.service],
      ['StopWhenUnneeded', 'true'],
    ],
    mount: [['TimeoutSec', '30']],
    install: [['RequiredBy', s.service]],
  });
  const service = unitEntry({
    name: s.service,
    enabled: true,
    contents: unitFile([
      ['Unit', [['Description', s.description], ['After', mountUnitName(opts.imagesDir)], ['Before', s.before]]],
      ['Service', [['Type', 'oneshot'], ['ExecStart', `${LOADER_PATH_ON_NODE} --list ${s.list} --partlabel ${opts.label} --dir ${opts.imagesDir}`]]],
      ['Install', [['WantedBy', s.wantedBy]]],
    ]),
  });
  const loader = fileEntry({ path: LOADER_PATH_ON_NODE, contents: loaderScript, mode: 0o755, overwrite: true, user: 'root', group: 'root' });
  const config = {
    ignition: { version: opts.version },
    ...(opts.sshKeys.length ? { passwd: { users: [{ name: 'core', sshAuthorizedKeys: [...opts.sshKeys] }] } } : {}),
    storage: { files: [loader] },
    systemd: { units: [mount, service] },
  } as OverrideConfig;
  const issues = validateIgnition(config, { versions: ASSISTED_VERSIONS });
  if (issues.length) throw new Error(`reef generated an invalid ${stage} override (a bug):\n${formatIssues(issues)}`);
  return config;
};

/** Size of the config as Assisted Service would ship it: `config.ign` in a newc cpio, gzipped. */
export const compressedCpioSize = (config: unknown): number =>
  gzipSync(writeNewc([{ name: 'config.ign', data: Buffer.from(JSON.stringify(config)) }], { blockSize: 512 })).length;

/** The discovery override; refused (DomainError on `sshKeys`) when it alone would pass the 256 KiB cap. */
export const buildDiscoveryOverride = (opts: OverrideOptions, loaderScript: string): OverrideConfig => {
  const config = buildOverride('discovery', opts, loaderScript);
  const size = compressedCpioSize(config);
  if (size > DISCOVERY_CPIO_LIMIT) {
    throw validationError(
      [
        {
          path: 'sshKeys',
          message:
            `the discovery override would take ${size} bytes as a gzip-compressed cpio, over the ${DISCOVERY_CPIO_LIMIT} bytes (256 KiB) ` +
            'Assisted Service allows for the whole discovery ignition; pass fewer SSH keys',
        },
      ],
      'discovery override',
    );
  }
  return config;
};

/** The pointer override (installation stage; not embedded in the ISO, so not size-capped). */
export const buildPointerOverride = (opts: OverrideOptions, loaderScript: string): OverrideConfig => buildOverride('pointer', opts, loaderScript);

export const buildOverrideFor = (stage: OverrideStage, opts: OverrideOptions, loaderScript: string): OverrideConfig =>
  stage === 'discovery' ? buildDiscoveryOverride(opts, loaderScript) : buildPointerOverride(opts, loaderScript);
