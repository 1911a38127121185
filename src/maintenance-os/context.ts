import type { Partition } from '../recipes/recipe-normalize.js';
import { pickLayer, resolveManifest } from '../registry/client/artifact.js';
import { createOciClient, type OciClient } from '../registry/client/oci-client.js';
import { isLoopback } from '../registry/client/reference.js';
import { isControllerOverHttps } from './controller-trust.js';
import { partitionDevice } from './disk.js';
import { type Runner, StepError } from './exec.js';
import type { Reporter } from './reporter.js';
import type { Task } from './task.js';

/** What every step gets: the task, the disk, the tools, and where to report. */
export interface AgentContext {
  task: Task;
  /** The disk to install to (the recipe's target_disk unless overridden). */
  disk: string;
  run: Runner;
  log: (line: string) => void;
  reporter: Reporter;
  /** Where the target's filesystems are mounted (`<mountRoot>/root`, `<mountRoot>/esp`, ...). */
  mountRoot: string;
  /** Where a WIM is downloaded before it is applied. */
  scratchDir: string;
  registryAuth?: { username: string; password: string };
  /** Registry for pre-staging downloads (default: the controller's own). */
  registry?: string;
  plainHttp?: boolean;
  retries?: number;
}

/** What a step says when it ends: a message, or a reason it was skipped. */
export type StepOutcome =
  | { message: string }
  /** `unbootable`: what was skipped leaves a disk that will not boot by itself; the job's final event says so. */
  | { skipped: string; unbootable?: boolean };

export interface Step {
  name: string;
  run(ctx: AgentContext): Promise<StepOutcome>;
}

export const device = (ctx: AgentContext, p: Partition) => partitionDevice(ctx.disk, p.number);

export const partitionByRole = (ctx: AgentContext, role: Partition['role']): Partition | undefined => ctx.task.recipe.partitions.find((p) => p.role === role);

export const mustPartition = (ctx: AgentContext, role: Partition['role'], what: string): Partition => {
  const p = partitionByRole(ctx, role);
  if (!p) throw new StepError(`the recipe has no ${what} partition`);
  return p;
};

/**
 * The recipe's artifact: manifest resolved (an index gives linux/amd64), the layer chosen by
 * media type, progress wired to the reporter's `pull` events.
 */
export const resolveArtifact = async (ctx: AgentContext, mediaTypes: string[]) => {
  const { client, repo, reference } = registryClient(ctx, (done, total) => ctx.reporter.progress('pull', done, total));
  const m = await resolveManifest(client, repo, reference);
  const layer = pickLayer(m.doc, ctx.task.recipe.oci_url!, mediaTypes);
  return { client, repo, layer };
};

/**
 * The registry client for the recipe's oci_url: plain HTTP for loopback and for registries the
 * task marks insecure; the controller's own over HTTPS (when it speaks HTTPS) with its CA.
 */
export const registryClient = (ctx: AgentContext, onProgress?: (done: number, total: number) => void): { client: OciClient; repo: string; reference: string } => {
  const oci = ctx.task.recipe.oci;
  if (!oci) throw new StepError('the recipe has no oci_url');
  const controller = isControllerOverHttps(ctx.task, oci.registry);
  const plain = !!ctx.plainHttp || (!controller && (isLoopback(oci.registry) || ctx.task.insecureRegistries.includes(oci.registry)));
  const client = createOciClient({
    registry: oci.registry,
    plainHttp: plain,
    ...(controller && !plain && ctx.task.ca !== null ? { ca: ctx.task.ca } : {}),
    ...(ctx.registryAuth ?? {}),
    retries: ctx.retries ?? 8,
    ...(onProgress ? { onProgress } : {}),
  });
  return { client, repo: oci.repository, reference: oci.digest ?? oci.tag ?? 'latest' };
};
