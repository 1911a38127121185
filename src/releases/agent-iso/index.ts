/**
 * Agent ISOs of a release (issue 19 point 6). Two entry points:
 *
 *   embedRawIgnition({ baseIso, ignition, output }): Promise<{ iso, packedBytes }>
 *     `{"ignition": …}`: the config embedded into the release's extracted coreos.iso as
 *     assisted-image-service does (gzip newc cpio, zero-padded into images/ignition.img),
 *     written to `output` (temp + rename). A bad or too large config: validation error on
 *     `ignition` (400).
 *
 *   buildAgentImage({ version, arch, artifactsDir, cacheDir, body, mirror, timeoutMs?, env?, signal?, hostArch? }):
 *     Promise<{ key, iso, log, cached }>
 *     `{"install_config", "agent_config"}`: both validated (errors name the field,
 *     `install_config.metadata.name`; 400), then the release's own extracted openshift-install
 *     runs `agent create image` in `<cacheDir>/<key>/work` pointed at reef's mirror
 *     (imageDigestSources → `<mirror.registry>/<mirror.localRepo>`), with the extracted
 *     coreos.iso in its cache and the extracted oc on its PATH; result at
 *     `<cacheDir>/<key>/agent.iso`, cached by a hash of the inputs. The installer and oc are
 *     the release's own when the server has the release's arch, else the server arch's
 *     `openshift-install-linux-<goarch>` / `oc-linux-<goarch>` that extraction took from
 *     installer-artifacts / cli-artifacts. None that runs here: NoInstallerError (a DomainError
 *     CONFLICT: 409). Failure or timeout: InstallerRunError (its log path kept).
 */
export { buildAgentImage, type AgentImage, type AgentImageOptions } from './agent-image.js';
export { embedRawIgnition, type RawIgnitionIsoOptions } from './raw-ignition.js';
export { agentConfigSchema, installConfigSchema, parseAgentInputs, RELEASE_SOURCES, type MirrorSettings } from './install-inputs.js';
export { InstallerRunError, NoInstallerError, ReleaseSourceError } from '../errors.js';
