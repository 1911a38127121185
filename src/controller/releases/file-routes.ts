import { type Context, Hono } from 'hono';
import { DomainError } from '../../core/errors.js';
import type { AppEnv } from '../../http/env.js';
import { sendFile } from '../../http/send-file.js';
import { sourceAddress } from '../auth/access.js';
import { ISO_MEDIA } from '../media/media-routes.js';
import { isoRef } from '../../releases/release-artifacts.js';
import type { ReleaseFeature } from './release-routes.js';

const unmapped = (address: string) => address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

/**
 * The client a download is for: the peer, or, when the peer is one of the trusted proxies
 * (REEF_TRUSTED_PROXIES), the right-most X-Forwarded-For address that is not itself a trusted
 * proxy. A client cannot name itself by sending the header directly.
 */
export const clientAddress = (peer: string, forwardedFor: string | undefined, trusted: readonly string[]): string => {
  const proxies = new Set(trusted.map(unmapped));
  let client = unmapped(peer);
  if (!proxies.has(client) || !forwardedFor) return client;
  const hops = forwardedFor.split(',').map((h) => unmapped(h.trim())).filter(Boolean);
  while (hops.length) {
    client = hops.pop()!;
    if (!proxies.has(client)) return client;
  }
  return client;
};

/**
 * /files: release artifacts (`/files/releases/<version>/<artifact>`, a bare version being the
 * default architecture's) and agent ISOs (`/files/installs/<uuid>/agent.iso`), streamed with Range
 * like /media. Every GET leaves one download record (client, user agent, bytes actually sent,
 * duration, status), Range GETs included.
 */
export const createReleaseFileRoutes = (feature: ReleaseFeature | undefined, trustedProxies: readonly string[], now: () => number) => {
  const need = () => {
    if (!feature) throw new DomainError('NOT_FOUND', 'release management is off on this reef');
    return feature;
  };
  const serve = async (c: Context<AppEnv>, f: ReleaseFeature, path: string, what: { version: string; artifact: string }, contentType: string) => {
    const started = now();
    const record = c.req.method === 'GET';
    const res = await sendFile(c, path, {
      contentType,
      cacheControl: 'no-cache',
      onSent: ({ status, bytes }) => {
        if (!record) return;
        const clientIp = clientAddress(sourceAddress(c), c.req.header('x-forwarded-for'), trustedProxies);
        const range = c.req.header('range') ?? null;
        f.service.recordDownload({ time: started, ...what, clientIp, userAgent: c.req.header('user-agent') ?? '', size: bytes, durationMs: now() - started, status, range });
        if (status === 200) f.service.event('download.artifact', 'info', what.version, { artifact: what.artifact, client_ip: clientIp, size: bytes });
      },
    });
    if (!res) throw new DomainError('NOT_FOUND', `${what.artifact} of ${what.version} is missing on disk`);
    return res;
  };
  return new Hono<AppEnv>()
    .get('/releases/:version/:artifact', async (c) => {
      const f = need();
      const { release, path } = f.artifacts.artifactFile(c.req.param('version'), c.req.param('artifact'));
      const iso = path.endsWith('.iso');
      return serve(c, f, path, { version: release.tag, artifact: c.req.param('artifact') }, iso ? ISO_MEDIA.contentType : 'application/octet-stream');
    })
    .get('/installs/:id/agent.iso', async (c) => {
      const f = need();
      return serve(c, f, f.artifacts.installIso(c.req.param('id')), { version: `install:${isoRef(c.req.param('id'))}`, artifact: 'agent.iso' }, ISO_MEDIA.contentType);
    });
};
