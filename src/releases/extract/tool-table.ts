/**
 * Which file of which component becomes which artifact (DESIGN §7, the table `oc adm release
 * extract` uses), and what gets stamped into it. Artifact names are FastRegistry's
 * (`openshift-install-mac-arm64`, `oc.exe`, `coreos.iso`). Architectures are named as release
 * tags name them (`x86_64`, `aarch64`); images' platforms use Go's names (`amd64`, `arm64`).
 */
import type { StampField } from './stamp.js';

export const RELEASE_ARCHES = ['x86_64', 'aarch64', 'ppc64le', 's390x'] as const;
export type ReleaseArch = (typeof RELEASE_ARCHES)[number];

const GOARCH: Record<ReleaseArch, string> = { x86_64: 'amd64', aarch64: 'arm64', ppc64le: 'ppc64le', s390x: 's390x' };

/** `amd64` for `x86_64`: the platform.architecture of an image for that release arch. */
export const goArch = (arch: ReleaseArch): string => GOARCH[arch];

/** The release arch of a Go arch (`arm64` → `aarch64`), or undefined. */
export const releaseArchOf = (go: string): ReleaseArch | undefined => (Object.entries(GOARCH) as [ReleaseArch, string][]).find(([, g]) => g === go)?.[0];

export const isReleaseArch = (a: string): a is ReleaseArch => (RELEASE_ARCHES as readonly string[]).includes(a);

export type ArtifactType = 'installer' | 'client' | 'iso';

export interface ArtifactTarget {
  /** The file name under `<artifact_path>/<version>/<arch>/`. */
  name: string;
  type: ArtifactType;
  component: string;
  /** Path inside the component's layers. */
  path: string;
  os: 'linux' | 'darwin' | 'windows';
  /** The machine the file is for, as a release arch. */
  arch: ReleaseArch;
  /** Placeholders stamped, as oc does for this target. */
  stamp: StampField[];
  executable: boolean;
}

const INSTALLER_STAMPS: StampField[] = ['releaseImage', 'releaseVersion', 'releaseArchitecture'];
const CLIENT_STAMPS: StampField[] = ['releaseVersion'];

/**
 * The targets for a release of `arch`. macOS arm64 binaries are not stamped: oc re-signs them
 * after stamping (a Mach-O on Apple silicon whose code signature no longer matches is killed at
 * start), which reef does not do; unstamped they still run, and openshift-install takes its
 * release from OPENSHIFT_INSTALL_RELEASE_IMAGE_OVERRIDE.
 */
export const artifactTargets = (arch: ReleaseArch): ArtifactTarget[] => [
  ...baseTargets(arch),
  // Linux installer and oc for the other arches (oc's "NewArch" targets; the release's own are
  // the ones above): what a server of another arch runs to build this release's agent ISOs.
  ...(['x86_64', 'aarch64'] as const)
    .filter((other) => other !== arch)
    .flatMap((other): ArtifactTarget[] => [
      { name: linuxInstallerName(other), type: 'installer', component: 'installer-artifacts', path: `usr/share/openshift/linux_${goArch(other)}/openshift-install`, os: 'linux', arch: other, stamp: INSTALLER_STAMPS, executable: true },
      { name: linuxClientName(other), type: 'client', component: 'cli-artifacts', path: `usr/share/openshift/linux_${goArch(other)}/oc`, os: 'linux', arch: other, stamp: CLIENT_STAMPS, executable: true },
    ]),
];

/** The artifact name of the linux openshift-install for `arch` in a release of another arch: `openshift-install-linux-amd64`. */
export const linuxInstallerName = (arch: ReleaseArch) => `openshift-install-linux-${goArch(arch)}`;
/** The same for oc: `oc-linux-amd64`. */
export const linuxClientName = (arch: ReleaseArch) => `oc-linux-${goArch(arch)}`;

const baseTargets = (arch: ReleaseArch): ArtifactTarget[] => [
  { name: 'openshift-install', type: 'installer', component: 'installer', path: 'usr/bin/openshift-install', os: 'linux', arch, stamp: INSTALLER_STAMPS, executable: true },
  { name: 'openshift-install-mac', type: 'installer', component: 'installer-artifacts', path: 'usr/share/openshift/mac/openshift-install', os: 'darwin', arch: 'x86_64', stamp: INSTALLER_STAMPS, executable: true },
  { name: 'openshift-install-mac-arm64', type: 'installer', component: 'installer-artifacts', path: 'usr/share/openshift/mac_arm64/openshift-install', os: 'darwin', arch: 'aarch64', stamp: [], executable: true },
  { name: 'oc', type: 'client', component: 'cli', path: 'usr/bin/oc', os: 'linux', arch, stamp: CLIENT_STAMPS, executable: true },
  { name: 'oc-mac', type: 'client', component: 'cli-artifacts', path: 'usr/share/openshift/mac/oc', os: 'darwin', arch: 'x86_64', stamp: CLIENT_STAMPS, executable: true },
  { name: 'oc-mac-arm64', type: 'client', component: 'cli-artifacts', path: 'usr/share/openshift/mac_arm64/oc', os: 'darwin', arch: 'aarch64', stamp: [], executable: true },
  { name: 'oc.exe', type: 'client', component: 'cli-artifacts', path: 'usr/share/openshift/windows/oc.exe', os: 'windows', arch: 'x86_64', stamp: CLIENT_STAMPS, executable: true },
  { name: 'coreos.iso', type: 'iso', component: 'machine-os-images', path: `coreos/coreos-${arch}.iso`, os: 'linux', arch, stamp: [], executable: false },
];
