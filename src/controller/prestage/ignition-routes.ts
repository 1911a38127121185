import { Hono } from 'hono';
import { z } from 'zod';
import { assistedPatchBodies, siteConfigSnippets } from '../../ignition/overrides/assisted.js';
import { parseOverrideOptions, QUERY_NAMES, withFieldNames } from '../../ignition/overrides/options.js';
import { buildDiscoveryOverride, buildPointerOverride } from '../../ignition/overrides/overrides.js';
import { readLoaderScript } from '../../ignition/precache/loader-script.js';
import type { AppEnv } from '../../http/env.js';
import { parseWith } from '../../core/validate.js';

const once = z.array(z.string()).max(1, 'give this parameter once').transform((a) => a[0]).optional();

/** Query of every /api/v1/prestage/ignition route: ?label=&version=&images_dir=&ssh_key=…&ssh_key=… */
export const ignitionQuerySchema = z.strictObject({
  label: once,
  version: once,
  images_dir: once,
  ssh_key: z.array(z.string()).optional(),
});

/** The pre-staging outputs from a query's options: one generator for the API routes and the web UI. */
export const createPrestageGenerator = (loaderScript: () => string = readLoaderScript) => {
  const options = (queries: Record<string, string[]>) => {
    const q = parseWith(ignitionQuerySchema, queries, 'query');
    return withFieldNames(QUERY_NAMES, () => parseOverrideOptions({ label: q.label, version: q.version, imagesDir: q.images_dir, sshKeys: q.ssh_key }));
  };
  const generate = <T>(queries: Record<string, string[]>, fn: (opts: ReturnType<typeof options>, loader: string) => T): T => {
    const opts = options(queries);
    return withFieldNames(QUERY_NAMES, () => fn(opts, loaderScript()));
  };
  return {
    discovery: (q: Record<string, string[]>) => generate(q, buildDiscoveryOverride),
    pointer: (q: Record<string, string[]>) => generate(q, buildPointerOverride),
    assisted: (q: Record<string, string[]>) => generate(q, assistedPatchBodies),
    siteconfig: (q: Record<string, string[]>) => generate(q, siteConfigSnippets),
  };
};
export type PrestageGenerator = ReturnType<typeof createPrestageGenerator>;

/**
 * GET /api/v1/prestage/ignition/{discovery,pointer,assisted,siteconfig}: the pre-staging
 * overrides, the Assisted Service PATCH bodies and the SiteConfig/ClusterInstance snippets.
 */
export const createPrestageIgnitionRoutes = (generator: PrestageGenerator = createPrestageGenerator()) =>
  new Hono<AppEnv>()
    .get('/discovery', (c) => c.json(generator.discovery(c.req.queries())))
    .get('/pointer', (c) => c.json(generator.pointer(c.req.queries())))
    .get('/assisted', (c) => c.json(generator.assisted(c.req.queries())))
    .get('/siteconfig', (c) => c.body(generator.siteconfig(c.req.queries()), 200, { 'Content-Type': 'application/yaml; charset=utf-8' }));
