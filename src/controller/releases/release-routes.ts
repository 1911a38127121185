import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { DomainError } from '../../core/errors.js';
import { parseWith } from '../../core/validate.js';
import { readOptionalJson } from '../../http/body.js';
import type { AppEnv } from '../../http/env.js';
import type { ReleaseArtifacts } from '../../releases/release-artifacts.js';
import type { ReleaseService } from '../../releases/release-service.js';
import { EVENT_TYPES, RELEASE_STATES, SEVERITIES } from '../../releases/release.js';
import { downloadJson, eventJson, progressJson, releaseJson } from './release-view.js';

export interface ReleaseFeature {
  service: ReleaseService;
  artifacts: ReleaseArtifacts;
}

const off = () => new DomainError('NOT_FOUND', 'release management is off on this reef: set `releases: {enabled: true}` in the REEF_CONFIG file');

const versionName = z.string().min(1).max(64);
const cloneBody = z.object({ version: versionName }).strict();
const extractBody = z.object({ version: versionName.optional(), versions: z.array(versionName).max(500).optional(), all: z.boolean().optional() }).strict();
const isoBody = z.union([
  z.object({ ignition: z.string().min(1) }).strict(),
  z.object({ install_config: z.string().min(1), agent_config: z.string().min(1) }).strict(),
]);
const copyBody = z.object({ artifact: z.string().min(1).max(128), destination: z.string().min(1).max(1024) }).strict();
const stateQuery = z.object({ state: z.enum(RELEASE_STATES).optional() });
const eventsQuery = z.object({
  type: z.enum(EVENT_TYPES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  version: versionName.optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(500),
});
const downloadsQuery = z.object({ version: versionName.optional(), limit: z.coerce.number().int().min(1).max(10_000).default(500) });

/**
 * /admin/releases: FastRegistry's release API (paths, verbs and JSON as its users know them), plus
 * the events timeline and download records as JSON. Reads are for viewers, changes for
 * operators (route-rules.ts); GET on reset, verify and extract change things too and are
 * declared for operators.
 */
export const createReleaseRoutes = (feature: ReleaseFeature | undefined, maxBody: number) => {
  const need = () => {
    if (!feature) throw off();
    return feature;
  };
  const body = async <S extends z.ZodType>(c: Context<AppEnv>, schema: S) => parseWith(schema, await readOptionalJson(c, maxBody), 'request');
  const reset = async (c: Context<AppEnv>) => {
    const r = await need().service.reset(c.req.param('version')!);
    return c.json({ message: `release reset to ${r.state}`, version: r.tag });
  };
  const verify = async (c: Context<AppEnv>) => {
    const f = need();
    const report = await f.service.verify(c.req.param('version')!);
    return c.json({ version: f.service.tagOf(c.req.param('version')!), verify: report });
  };
  const extractOne = (c: Context<AppEnv>) => c.json(need().artifacts.extractOne(c.req.param('version')!), 202);
  return new Hono<AppEnv>()
    .get('/', (c) => {
      const q = parseWith(stateQuery, c.req.query(), 'query');
      return c.json({ releases: need().service.list(q.state).map(releaseJson) });
    })
    .post('/discover', async (c) => {
      const r = await need().service.discover('api');
      return c.json({ message: `discovery complete: ${r.found} releases upstream, ${r.added.length} new`, found: r.found, new: r.added });
    })
    .post('/clone', async (c) => {
      const { version } = await body(c, cloneBody);
      const r = await need().service.clone(version);
      return c.json({ message: 'clone started', version: r.tag }, 202);
    })
    .post('/extract', async (c) => c.json(need().artifacts.extract(await body(c, extractBody)), 202))
    .get('/events', (c) => {
      const q = parseWith(eventsQuery, c.req.query(), 'query');
      const events = need().service.events({ ...q, ...(q.since ? { since: Date.parse(q.since) } : { since: undefined }) });
      return c.json({ events: events.map(eventJson) });
    })
    .get('/downloads', (c) => {
      const q = parseWith(downloadsQuery, c.req.query(), 'query');
      const s = need().service;
      return c.json({ downloads: s.downloads(q).map(downloadJson), totals: s.downloadTotals() });
    })
    .get('/:version/status', (c) => {
      const s = need().service.status(c.req.param('version'));
      return c.json({ release: releaseJson(s.release), ...(s.progress ? { progress: progressJson(s.release.tag, s.progress) } : {}) });
    })
    .get('/:version/artifacts', (c) => c.json({ artifacts: need().artifacts.artifacts(c.req.param('version')) }))
    .post('/:version/extract', extractOne)
    .get('/:version/extract', extractOne)
    .post('/:version/reset', reset)
    .get('/:version/reset', reset)
    .post('/:version/verify', verify)
    .get('/:version/verify', verify)
    .post('/:version/iso', async (c) => c.json(await need().artifacts.createIso(c.req.param('version'), await body(c, isoBody))))
    .post('/:version/copy', async (c) => c.json(need().artifacts.copy(c.req.param('version'), await body(c, copyBody)), 202));
};
