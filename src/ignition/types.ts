/**
 * Ignition config specs 3.1.0, 3.2.0 and 3.4.0 as TypeScript types (field names and shapes as
 * in the JSON schemas in ./schemas; `null` is allowed where the spec allows it). 3.2.0 adds LUKS
 * volumes, partition `resize` and `shouldExist` on users and groups; 3.4.0 adds
 * `kernelArguments` and a few LUKS and Tang options.
 */

export const IGNITION_VERSIONS = ['3.1.0', '3.2.0', '3.4.0'] as const;
export type IgnitionVersion = (typeof IGNITION_VERSIONS)[number];

/** The versions Assisted Service accepts in an override (DESIGN §6). */
export const ASSISTED_VERSIONS = ['3.1.0', '3.2.0'] as const;
export type AssistedVersion = (typeof ASSISTED_VERSIONS)[number];

type Opt<T> = T | null | undefined;

export interface HttpHeader {
  name: string;
  value?: Opt<string>;
}

export interface Resource {
  source?: Opt<string>;
  compression?: Opt<string>;
  httpHeaders?: HttpHeader[];
  verification?: { hash?: Opt<string> };
}

export interface IgnitionSection<V extends IgnitionVersion = IgnitionVersion> {
  version: V;
  config?: { merge?: Resource[]; replace?: Resource };
  timeouts?: { httpResponseHeaders?: Opt<number>; httpTotal?: Opt<number> };
  security?: { tls?: { certificateAuthorities?: Resource[] } };
  proxy?: { httpProxy?: Opt<string>; httpsProxy?: Opt<string>; noProxy?: Opt<string>[] };
}

export interface NodeOwner {
  id?: Opt<number>;
  name?: Opt<string>;
}

export interface FsNode {
  path: string;
  overwrite?: Opt<boolean>;
  user?: NodeOwner;
  group?: NodeOwner;
}

export interface FileNode extends FsNode {
  /** Permission bits as a DECIMAL number: 0755 is 493. */
  mode?: Opt<number>;
  contents?: Resource;
  append?: Resource[];
}

export interface DirectoryNode extends FsNode {
  mode?: Opt<number>;
}

export interface LinkNode extends FsNode {
  target?: Opt<string>;
  hard?: Opt<boolean>;
}

export interface Partition31 {
  label?: Opt<string>;
  number?: number;
  sizeMiB?: Opt<number>;
  startMiB?: Opt<number>;
  typeGuid?: Opt<string>;
  guid?: Opt<string>;
  wipePartitionEntry?: Opt<boolean>;
  shouldExist?: Opt<boolean>;
}

export interface Partition32 extends Partition31 {
  resize?: Opt<boolean>;
}

export interface Disk<P extends Partition31 = Partition31> {
  device: string;
  wipeTable?: Opt<boolean>;
  partitions?: P[];
}

export interface Raid {
  name: string;
  level: string;
  devices: string[];
  spares?: Opt<number>;
  options?: string[];
}

export interface Filesystem {
  device: string;
  format?: Opt<string>;
  wipeFilesystem?: Opt<boolean>;
  label?: Opt<string>;
  uuid?: Opt<string>;
  options?: string[];
  path?: Opt<string>;
  mountOptions?: string[];
}

export interface Tang32 {
  url: string;
  thumbprint?: Opt<string>;
}

export interface Luks32 {
  name: string;
  device?: Opt<string>;
  keyFile?: Resource;
  label?: Opt<string>;
  uuid?: Opt<string>;
  options?: string[];
  wipeVolume?: Opt<boolean>;
  clevis?: {
    tang?: (Tang32 & { advertisement?: Opt<string> })[];
    tpm2?: Opt<boolean>;
    threshold?: Opt<number>;
    custom?: { pin: string; config: string; needsNetwork?: Opt<boolean> };
  };
}

export interface Luks34 extends Luks32 {
  discard?: Opt<boolean>;
  openOptions?: string[];
}

export interface Storage31 {
  disks?: Disk[];
  raid?: Raid[];
  filesystems?: Filesystem[];
  files?: FileNode[];
  directories?: DirectoryNode[];
  links?: LinkNode[];
}

export interface Storage32 extends Omit<Storage31, 'disks'> {
  disks?: Disk<Partition32>[];
  luks?: Luks32[];
}

export interface Storage34 extends Omit<Storage32, 'luks'> {
  luks?: Luks34[];
}

export interface Dropin {
  name: string;
  contents?: Opt<string>;
}

export interface Unit {
  name: string;
  enabled?: Opt<boolean>;
  mask?: Opt<boolean>;
  contents?: Opt<string>;
  dropins?: Dropin[];
}

export interface Systemd {
  units?: Unit[];
}

export interface User31 {
  name: string;
  passwordHash?: Opt<string>;
  sshAuthorizedKeys?: string[];
  uid?: Opt<number>;
  gecos?: Opt<string>;
  homeDir?: Opt<string>;
  noCreateHome?: Opt<boolean>;
  primaryGroup?: Opt<string>;
  groups?: string[];
  noUserGroup?: Opt<boolean>;
  noLogInit?: Opt<boolean>;
  shell?: Opt<string>;
  system?: Opt<boolean>;
}

export interface Group31 {
  name: string;
  gid?: Opt<number>;
  passwordHash?: Opt<string>;
  system?: Opt<boolean>;
}

export interface Passwd<U extends User31 = User31, G extends Group31 = Group31> {
  users?: U[];
  groups?: G[];
}

export type Passwd32 = Passwd<User31 & { shouldExist?: Opt<boolean> }, Group31 & { shouldExist?: Opt<boolean> }>;

export interface Config31 {
  ignition: IgnitionSection<'3.1.0'>;
  storage?: Storage31;
  systemd?: Systemd;
  passwd?: Passwd;
}

export interface Config32 {
  ignition: IgnitionSection<'3.2.0'>;
  storage?: Storage32;
  systemd?: Systemd;
  passwd?: Passwd32;
}

export interface Config34 {
  ignition: IgnitionSection<'3.4.0'>;
  storage?: Storage34;
  systemd?: Systemd;
  passwd?: Passwd32;
  kernelArguments?: { shouldExist?: string[]; shouldNotExist?: string[] };
}

export type IgnitionConfig = Config31 | Config32 | Config34;

/** The config type of a given spec version. */
export type ConfigOf<V extends IgnitionVersion> = V extends '3.1.0' ? Config31 : V extends '3.2.0' ? Config32 : Config34;

/** One finding of the validator: where (`systemd.units[2].name`) and what. */
export interface IgnitionIssue {
  path: string;
  message: string;
}
