/**
 * What to hand to Assisted Service: the REST PATCH bodies, and the same settings as SiteConfig
 * (ran.openshift.io/v1) and ClusterInstance (siteconfig.open-cluster-management.io/v1alpha1)
 * fields. Overrides travel as JSON strings, installer args as a list (REST) or a JSON string (CRs).
 */
import yaml from 'js-yaml';
import type { OverrideOptions } from './options.js';
import { buildDiscoveryOverride, buildPointerOverride } from './overrides.js';

export const ASSISTED_ENDPOINTS = {
  infraEnv: 'PATCH /v2/infra-envs/{infra_env_id}',
  hostIgnition: 'PATCH /v2/infra-envs/{infra_env_id}/hosts/{host_id}/ignition',
  installerArgs: 'PATCH /v2/infra-envs/{infra_env_id}/hosts/{host_id}/installer-args',
} as const;

/** coreos-installer keeps the data partition only when told to. */
export const installerArgs = (label: string): string[] => ['--save-partlabel', label];

export interface PrestageSettings {
  discovery: string;
  pointer: string;
  installerArgs: string[];
}

/** Both overrides as compact JSON strings plus the installer args. */
export const prestageSettings = (opts: OverrideOptions, loaderScript: string): PrestageSettings => ({
  discovery: JSON.stringify(buildDiscoveryOverride(opts, loaderScript)),
  pointer: JSON.stringify(buildPointerOverride(opts, loaderScript)),
  installerArgs: installerArgs(opts.label),
});

/** The three PATCH bodies, keyed by method and path (ids as placeholders). */
export const assistedPatchBodies = (opts: OverrideOptions, loaderScript: string) => {
  const s = prestageSettings(opts, loaderScript);
  return {
    [ASSISTED_ENDPOINTS.infraEnv]: { ignition_config_override: s.discovery },
    [ASSISTED_ENDPOINTS.hostIgnition]: { config: s.pointer },
    [ASSISTED_ENDPOINTS.installerArgs]: { args: s.installerArgs },
  };
};

const dump = (doc: unknown): string => yaml.dump(doc, { lineWidth: -1, noRefs: true, quotingType: "'" });

/**
 * SiteConfig and ClusterInstance snippets (two YAML documents) holding only the pre-staging
 * fields, to merge into the user's own CRs.
 */
export const siteConfigSnippets = (opts: OverrideOptions, loaderScript: string): string => {
  const s = prestageSettings(opts, loaderScript);
  const args = JSON.stringify(s.installerArgs);
  const siteConfig = {
    apiVersion: 'ran.openshift.io/v1',
    kind: 'SiteConfig',
    spec: { clusters: [{ ignitionConfigOverride: s.discovery, nodes: [{ installerArgs: args, ignitionConfigOverride: s.pointer }] }] },
  };
  const clusterInstance = {
    apiVersion: 'siteconfig.open-cluster-management.io/v1alpha1',
    kind: 'ClusterInstance',
    spec: { ignitionConfigOverride: s.discovery, nodes: [{ installerArgs: args, ignitionConfigOverride: s.pointer }] },
  };
  return [
    '# reef factory pre-staging: merge these fields into your SiteConfig. The discovery override goes',
    '# in spec.clusters[].ignitionConfigOverride, installerArgs and the pointer override in each',
    `# spec.clusters[].nodes[] whose disk carries the "${opts.label}" partition.`,
    dump(siteConfig).trimEnd(),
    '---',
    '# ...or into your ClusterInstance: the discovery override in spec.ignitionConfigOverride,',
    '# installerArgs and the pointer override in spec.nodes[].',
    dump(clusterInstance).trimEnd(),
    '',
  ].join('\n');
};
