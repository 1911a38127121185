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

/**
 * GET /api/v1/prestage/ignition/{discovery,pointer,assisted,siteconfig}: the pre-staging
 * overrides, the Assisted Service PATCH bodies and the SiteConfig/ClusterInstance snippets.
 */
export const createPrestageIgnitionRoutes = (loaderScript: () => string = readLoaderScript) => {
  const options = (queries: Record<string, string[]>) => {
    const q = parseWith(ignitionQuerySchema, queries, 'query');
    return withFieldNames(QUERY_NAMES, () => parseOverrideOptions({ label: q.label, version: q.version, imagesDir: q.images_dir, sshKeys: q.ssh_key }));
  };
  const generate = <T>(queries: Record<string, string[]>, fn: (opts: ReturnType<typeof options>, loader: string) => T): T => {
    const opts = options(queries);
    return withFieldNames(QUERY_NAMES, () => fn(opts, loaderScript()));
  };
  return new Hono<AppEnv>()
    .get('/discovery', (c) => c.json(generate(c.req.queries(), buildDiscoveryOverride)))
    .get('/pointer', (c) => c.json(generate(c.req.queries(), buildPointerOverride)))
    .get('/assisted', (c) => c.json(generate(c.req.queries(), assistedPatchBodies)))
    .get('/siteconfig', (c) => c.body(generate(c.req.queries(), siteConfigSnippets), 200, { 'Content-Type': 'application/yaml; charset=utf-8' }));
};
