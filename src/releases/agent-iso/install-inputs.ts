/**
 * The agent installer's two inputs, as posted (`install_config`, `agent_config`: YAML strings):
 * parsed and checked for what `openshift-install agent create image` needs, errors naming the
 * field (`install_config.metadata.name`). Keys reef does not check are kept as given: the
 * installer knows many more, and validates them itself. Then made to use reef's mirror: the
 * release repositories mapped to `<registry>/<local_repo>` in imageDigestSources (as oc-mirror's
 * IDMS does), the control plane's architecture set to the release's, reef's CA trusted.
 */
import yaml from 'js-yaml';
import { z } from 'zod';
import { fieldError, validationError } from '../../core/errors.js';
import { parseWith } from '../../core/validate.js';
import { goArch, type ReleaseArch } from '../extract/tool-table.js';

const MAX_YAML = 1024 * 1024;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;
const MAC = /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/;
const ARCHES = ['amd64', 'arm64', 'ppc64le', 's390x'] as const;
/** Repositories a release's pull specs name upstream: the release image, and its components. */
export const RELEASE_SOURCES = ['quay.io/openshift-release-dev/ocp-release', 'quay.io/openshift-release-dev/ocp-v4.0-art-dev'];

const name = z.string().regex(DNS_LABEL, 'must be a DNS label: lower-case letters, digits and -, at most 63');
const pullSecret = z.string().refine((s) => {
  try {
    const doc = JSON.parse(s) as { auths?: unknown };
    return typeof doc.auths === 'object' && doc.auths !== null && !Array.isArray(doc.auths);
  } catch {
    return false;
  }
}, 'must be a pull secret: JSON with an "auths" object');
const machinePool = z.looseObject({ name: z.string().optional(), replicas: z.number().int().nonnegative().optional(), architecture: z.enum(ARCHES).optional() });
const digestSource = z.looseObject({ source: z.string().min(1), mirrors: z.array(z.string().min(1)).min(1) });

export const installConfigSchema = z.looseObject({
  apiVersion: z.literal('v1'),
  baseDomain: z.string().regex(DOMAIN, 'must be a DNS domain'),
  metadata: z.looseObject({ name }),
  pullSecret: pullSecret.optional(),
  sshKey: z.string().optional(),
  controlPlane: machinePool.optional(),
  compute: z.array(machinePool).optional(),
  networking: z
    .looseObject({
      networkType: z.string().optional(),
      machineNetwork: z.array(z.looseObject({ cidr: z.string().min(1) })).optional(),
      clusterNetwork: z.array(z.looseObject({ cidr: z.string().min(1), hostPrefix: z.number().int().optional() })).optional(),
      serviceNetwork: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  platform: z.record(z.string(), z.unknown()).optional(),
  imageDigestSources: z.array(digestSource).optional(),
  additionalTrustBundle: z.string().optional(),
});

export const agentConfigSchema = z.looseObject({
  apiVersion: z.enum(['v1alpha1', 'v1beta1']),
  kind: z.literal('AgentConfig').optional(),
  metadata: z.looseObject({ name }),
  rendezvousIP: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' }).optional(),
  additionalNTPSources: z.array(z.string().min(1)).optional(),
  hosts: z
    .array(
      z.looseObject({
        hostname: z.string().optional(),
        role: z.enum(['master', 'worker']).optional(),
        interfaces: z.array(z.looseObject({ name: z.string().min(1), macAddress: z.string().regex(MAC, 'must be a MAC address') })).optional(),
        rootDeviceHints: z.record(z.string(), z.unknown()).optional(),
        networkConfig: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .optional(),
});

export type InstallConfig = z.output<typeof installConfigSchema>;
export type AgentConfig = z.output<typeof agentConfigSchema>;

const loadYaml = (text: unknown, field: string): unknown => {
  if (typeof text !== 'string' || text.trim() === '') throw fieldError(field, 'must be the YAML document as a string');
  if (Buffer.byteLength(text) > MAX_YAML) throw fieldError(field, `is larger than ${MAX_YAML} bytes`);
  try {
    return yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (err) {
    throw fieldError(field, `is not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
};

export interface MirrorSettings {
  /** `host[:port]` of reef's registry as the nodes reach it. */
  registry: string;
  /** Where the release and its components are (config `local_repo`). */
  localRepo: string;
  /** PEM of reef's CA, added to additionalTrustBundle when the registry speaks TLS with it. */
  caBundle?: string;
  /**
   * Credentials for reef's registry (a pull secret's JSON): merged into install_config's
   * pullSecret, or used as it when it has none. Neither: an anonymous entry for `registry`.
   */
  pullSecret?: string;
}

export interface AgentInputs {
  installConfig: InstallConfig;
  agentConfig: AgentConfig;
}

/** Parses and checks both documents; a validation error names the bad fields (`install_config.metadata.name`). */
export const parseAgentInputs = (body: { install_config?: unknown; agent_config?: unknown }, arch: ReleaseArch): AgentInputs => {
  const installConfig = parseWith(installConfigSchema, loadYaml(body.install_config, 'install_config'), 'install_config', 'install_config');
  const agentConfig = parseWith(agentConfigSchema, loadYaml(body.agent_config, 'agent_config'), 'agent_config', 'agent_config');
  const issues = [];
  const want = goArch(arch);
  for (const [path, pool] of [['install_config.controlPlane', installConfig.controlPlane], ...(installConfig.compute ?? []).map((c, i) => [`install_config.compute[${i}]`, c] as const)] as const) {
    if (pool?.architecture && pool.architecture !== want) issues.push({ path: `${path}.architecture`, message: `is ${pool.architecture}, but this release is for ${want} (${arch})` });
  }
  if (issues.length) throw validationError(issues, 'install_config');
  return { installConfig, agentConfig };
};

/** install-config.yaml as reef hands it to the installer: reef's mirror and CA added, the release's architecture set. */
export const installConfigForMirror = (c: InstallConfig, arch: ReleaseArch, mirror: MirrorSettings): InstallConfig => {
  const target = `${mirror.registry}/${mirror.localRepo}`;
  const ours = RELEASE_SOURCES.map((source) => ({ source, mirrors: [target] }));
  const theirs = (c.imageDigestSources ?? []).filter((d) => !RELEASE_SOURCES.includes(d.source));
  const bundle = [c.additionalTrustBundle, mirror.caBundle].filter((b): b is string => !!b && b.trim() !== '').join('\n');
  return {
    ...c,
    pullSecret: mergePullSecrets(c.pullSecret, mirror.pullSecret, mirror.registry),
    controlPlane: { ...c.controlPlane, architecture: goArch(arch) as (typeof ARCHES)[number] },
    imageDigestSources: [...ours, ...theirs],
    ...(bundle ? { additionalTrustBundle: bundle } : {}),
  };
};

/** The user's pull secret with reef's registry credentials added (reef's win for its own host): the installer's oc reads the release through reef. */
const mergePullSecrets = (user: string | undefined, ours: string | undefined, registry: string): string => {
  // Neither: the nodes pull everything from reef's mirror (imageDigestSources), which lets them
  // pull anonymously; the installer still insists on a pull secret, so it names the mirror.
  if (!user && !ours) return JSON.stringify({ auths: { [registry]: { auth: Buffer.from('anonymous:').toString('base64') } } });
  if (!user || !ours) return (user ?? ours)!;
  const auths = (s: string) => (JSON.parse(s) as { auths: Record<string, unknown> }).auths;
  return JSON.stringify({ ...JSON.parse(user), auths: { ...auths(user), ...auths(ours) } });
};

export const toYaml = (doc: unknown): string => yaml.dump(doc, { noRefs: true, lineWidth: -1, schema: yaml.CORE_SCHEMA });
