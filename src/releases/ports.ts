import type { Artifact, Release } from './release.js';

/**
 * What release management needs from the artifact pieces (extraction from the component layers,
 * the agent ISO, copies elsewhere), as narrow ports: the service runs them as jobs with a state,
 * events and a cancel; a reef built without one answers 501 for the routes that need it.
 */

export interface ExtractRequest {
  release: Release;
  /** The repository of reef's own registry holding the release and its components. */
  localRepo: string;
  /** The release's pull spec to stamp into openshift-install (`<registry>/<localRepo>@sha256:…`). */
  pullSpec: string;
  signal: AbortSignal;
}

export interface ExtractOutcome {
  artifacts: Artifact[];
  /** What the release lacks (a component, or a file in it), with the reason. */
  missing: { name: string; reason: string }[];
}

export interface ArtifactExtractor {
  extract(req: ExtractRequest): Promise<ExtractOutcome>;
}

export type AgentIsoInput = { ignition: string } | { install_config: string; agent_config: string };

export interface AgentIsoRequest {
  release: Release;
  input: AgentIsoInput;
  /** Where the ISO must end up (`<installs>/<uuid>/agent.iso`). */
  output: string;
  /** A scratch directory the builder may use (removed afterwards by the caller). */
  workDir: string;
  /** reef's registry host and the release's pull spec there (image digest sources point at it). */
  registry: string;
  pullSpec: string;
  signal: AbortSignal;
}

export interface AgentIsoBuilder {
  build(req: AgentIsoRequest): Promise<void>;
}

export interface CopyRequest {
  file: string;
  /** A local directory under an allowed base, or `user@host:/path/` (scp/sftp, host keys checked). */
  destination: string;
  signal: AbortSignal;
  onProgress?: (bytes: number, total: number) => void;
}

export interface ArtifactCopier {
  /** Refuses a destination before any work starts (a validation error naming `destination`). */
  check(destination: string): void;
  copy(req: CopyRequest): Promise<void>;
}

export interface ReleasePorts {
  extractor?: ArtifactExtractor;
  isoBuilder?: AgentIsoBuilder;
  copier?: ArtifactCopier;
}
