import type { Role } from './roles.js';

/**
 * How a route is protected.
 * - a role: an API token of at least that role (or a loopback request under REEF_API_AUTH=local);
 * - `open`: anyone (health, boot scripts, the CA certificate, the API description);
 * - `media`: anyone on the boot network, narrowed by signed URLs when REEF_MEDIA_SIGNING_SECRET is set (checked by the route);
 * - `job-token`: the job's own token (HMAC of the controller secret and the job id), checked by the route;
 * - `webhook`: the shared REEF_WEBHOOK_SECRET or the job token, checked by the route;
 * - `metrics`: open, or `viewer` when REEF_METRICS_AUTH=token;
 * - `registry`: the registry's own auth (REGISTRY_AUTH_MODE), which knows pulls from pushes.
 */
export type RouteRule = Role | 'open' | 'media' | 'job-token' | 'webhook' | 'metrics' | 'registry';

export interface RouteDeclaration {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'ALL';
  /** The route's path exactly as the app registers it (Hono syntax: `:param`, trailing `*`). */
  path: string;
  rule: RouteRule;
  /** Served on the plain-HTTP boot listener (REEF_BOOT_LISTEN) too: what stock iPXE fetches. */
  boot?: true;
  /**
   * A web UI route: signed in by the session cookie (auth/ui-session.ts), not a bearer token, and
   * every change carries the session's CSRF token. The rule's role is checked as for the API.
   */
  ui?: true;
  /** A GET that changes state (FastRegistry's GET forms of reset, verify, extract): audited and guarded as a change. */
  change?: true;
}

/** Every route of every surface, with its rule. A route missing here fails test/integration/route-table.test.ts. */
export const ROUTE_TABLE: readonly RouteDeclaration[] = [
  { method: 'GET', path: '/healthz', rule: 'open' },
  { method: 'GET', path: '/readyz', rule: 'open' },
  { method: 'GET', path: '/metrics', rule: 'metrics' },
  { method: 'GET', path: '/ca.crt', rule: 'open' },
  { method: 'GET', path: '/admin/certs/ca', rule: 'open' },
  { method: 'GET', path: '/boot.ipxe', rule: 'open', boot: true },
  { method: 'GET', path: '/media/maintenance/:file', rule: 'open', boot: true },
  { method: 'GET', path: '/media/tasks/:id/task.iso', rule: 'media', boot: true },
  { method: 'GET', path: '/media/tasks/:id/boot.iso', rule: 'media', boot: true },
  { method: 'GET', path: '/media/isos/:file', rule: 'media', boot: true },
  { method: 'GET', path: '/api/v1/openapi.json', rule: 'open' },

  { method: 'GET', path: '/api/v1/recipes', rule: 'viewer' },
  { method: 'POST', path: '/api/v1/recipes', rule: 'operator' },
  { method: 'GET', path: '/api/v1/recipes/:name', rule: 'viewer' },
  { method: 'PUT', path: '/api/v1/recipes/:name', rule: 'operator' },
  { method: 'DELETE', path: '/api/v1/recipes/:name', rule: 'operator' },

  { method: 'GET', path: '/api/v1/machines', rule: 'viewer' },
  { method: 'POST', path: '/api/v1/machines', rule: 'operator' },
  { method: 'GET', path: '/api/v1/machines/:serial', rule: 'viewer' },
  { method: 'DELETE', path: '/api/v1/machines/:serial', rule: 'operator' },

  { method: 'GET', path: '/api/v1/jobs', rule: 'viewer' },
  { method: 'POST', path: '/api/v1/jobs', rule: 'operator' },
  { method: 'GET', path: '/api/v1/jobs/:id', rule: 'viewer' },
  { method: 'GET', path: '/api/v1/jobs/:id/events', rule: 'viewer' },
  { method: 'POST', path: '/api/v1/jobs/:id/events', rule: 'job-token' },
  { method: 'GET', path: '/api/v1/jobs/:id/task', rule: 'job-token' },
  { method: 'POST', path: '/api/v1/jobs/:id/cancel', rule: 'operator' },
  { method: 'POST', path: '/api/v1/status-webhook/:serial', rule: 'webhook' },

  { method: 'GET', path: '/api/v1/prestage/ignition/discovery', rule: 'viewer' },
  { method: 'GET', path: '/api/v1/prestage/ignition/pointer', rule: 'viewer' },
  { method: 'GET', path: '/api/v1/prestage/ignition/assisted', rule: 'viewer' },
  { method: 'GET', path: '/api/v1/prestage/ignition/siteconfig', rule: 'viewer' },
  { method: 'GET', path: '/api/v1/isos/bases', rule: 'viewer' },
  { method: 'PUT', path: '/api/v1/isos/bases/:name', rule: 'operator' },
  { method: 'POST', path: '/api/v1/isos', rule: 'operator' },
  { method: 'GET', path: '/api/v1/isos/:id', rule: 'viewer' },
  { method: 'DELETE', path: '/api/v1/isos/:id', rule: 'operator' },

  { method: 'GET', path: '/api/v1/mirror/runs', rule: 'viewer' },
  { method: 'POST', path: '/api/v1/mirror/runs', rule: 'operator' },

  { method: 'GET', path: '/api/v1/tokens', rule: 'admin' },
  { method: 'POST', path: '/api/v1/tokens', rule: 'admin' },
  { method: 'DELETE', path: '/api/v1/tokens/:name', rule: 'admin' },
  { method: 'GET', path: '/api/v1/audit', rule: 'admin' },

  // Release management (FastRegistry's API): reads for viewers, changes for operators; the GET
  // forms of reset, verify and extract change state (FastRegistry accepts them), so operators.
  { method: 'GET', path: '/admin/releases', rule: 'viewer' },
  { method: 'POST', path: '/admin/releases/discover', rule: 'operator' },
  { method: 'POST', path: '/admin/releases/clone', rule: 'operator' },
  { method: 'POST', path: '/admin/releases/extract', rule: 'operator' },
  { method: 'GET', path: '/admin/releases/events', rule: 'viewer' },
  { method: 'GET', path: '/admin/releases/downloads', rule: 'viewer' },
  { method: 'GET', path: '/admin/releases/:version/status', rule: 'viewer' },
  { method: 'GET', path: '/admin/releases/:version/artifacts', rule: 'viewer' },
  { method: 'POST', path: '/admin/releases/:version/extract', rule: 'operator' },
  { method: 'GET', path: '/admin/releases/:version/extract', rule: 'operator', change: true },
  { method: 'POST', path: '/admin/releases/:version/reset', rule: 'operator' },
  { method: 'GET', path: '/admin/releases/:version/reset', rule: 'operator', change: true },
  { method: 'POST', path: '/admin/releases/:version/verify', rule: 'operator' },
  { method: 'GET', path: '/admin/releases/:version/verify', rule: 'operator', change: true },
  { method: 'POST', path: '/admin/releases/:version/iso', rule: 'operator' },
  { method: 'POST', path: '/admin/releases/:version/copy', rule: 'operator' },
  // Downloads are open, as FastRegistry's and as /media: release binaries and the CoreOS ISO are
  // public content (mirror.openshift.com serves the same), fetched by workstations with plain
  // curl; an agent ISO (which holds the install's pull secret) is named by a random v4 UUID that
  // only the operator who made it is told (a capability URL, what iPXE sanboots, so boot too).
  { method: 'GET', path: '/files/releases/:version/:artifact', rule: 'open' },
  { method: 'GET', path: '/files/installs/:id/agent.iso', rule: 'open', boot: true },
  { method: 'GET', path: '/ui/assets/:file', rule: 'open', ui: true },
  { method: 'GET', path: '/ui/login', rule: 'open', ui: true },
  { method: 'POST', path: '/ui/login', rule: 'open', ui: true },
  { method: 'POST', path: '/ui/logout', rule: 'open', ui: true },
  { method: 'GET', path: '/ui', rule: 'viewer', ui: true },
  { method: 'GET', path: '/ui/jobs', rule: 'viewer', ui: true },
  { method: 'GET', path: '/ui/jobs/:id', rule: 'viewer', ui: true },
  { method: 'GET', path: '/ui/jobs/:id/stream', rule: 'viewer', ui: true },
  { method: 'POST', path: '/ui/jobs/:id/cancel', rule: 'operator', ui: true },
  { method: 'GET', path: '/ui/machines', rule: 'viewer', ui: true },
  { method: 'GET', path: '/ui/recipes', rule: 'viewer', ui: true },
  { method: 'GET', path: '/ui/recipes/new', rule: 'operator', ui: true },
  { method: 'POST', path: '/ui/recipes', rule: 'operator', ui: true },
  { method: 'GET', path: '/ui/recipes/:name', rule: 'viewer', ui: true },
  { method: 'GET', path: '/ui/recipes/:name/edit', rule: 'operator', ui: true },
  { method: 'POST', path: '/ui/recipes/:name', rule: 'operator', ui: true },
  { method: 'GET', path: '/ui/registry', rule: 'viewer', ui: true },
  { method: 'GET', path: '/ui/registry/tags', rule: 'viewer', ui: true },
  { method: 'GET', path: '/ui/registry/manifest', rule: 'viewer', ui: true },
  { method: 'POST', path: '/ui/registry/gc', rule: 'operator', ui: true },
  { method: 'GET', path: '/ui/releases', rule: 'viewer', ui: true },
  { method: 'GET', path: '/ui/releases/live', rule: 'viewer', ui: true },
  { method: 'POST', path: '/ui/releases/discover', rule: 'operator', ui: true },
  { method: 'POST', path: '/ui/releases/clone', rule: 'operator', ui: true },
  { method: 'GET', path: '/ui/releases/:version', rule: 'viewer', ui: true },
  { method: 'POST', path: '/ui/releases/:version/extract', rule: 'operator', ui: true },
  { method: 'POST', path: '/ui/releases/:version/reset', rule: 'operator', ui: true },
  { method: 'POST', path: '/ui/releases/:version/verify', rule: 'operator', ui: true },
  { method: 'POST', path: '/ui/releases/:version/iso', rule: 'operator', ui: true },
  { method: 'GET', path: '/ui/mirror', rule: 'viewer', ui: true },
  { method: 'POST', path: '/ui/mirror/runs', rule: 'operator', ui: true },
  { method: 'GET', path: '/ui/isos', rule: 'viewer', ui: true },
  { method: 'GET', path: '/ui/prestage', rule: 'viewer', ui: true },
  { method: 'GET', path: '/ui/prestage/:kind', rule: 'viewer', ui: true },
  { method: 'GET', path: '/ui/audit', rule: 'admin', ui: true },

  { method: 'ALL', path: '/v2', rule: 'registry' },
  { method: 'ALL', path: '/v2/*', rule: 'registry' },
  { method: 'POST', path: '/admin/gc', rule: 'operator' },
  { method: 'POST', path: '/admin/scrub', rule: 'operator' },
];

const patternOf = (path: string): RegExp => {
  const body = path
    .split('/')
    .map((seg) => (seg === '*' ? '.*' : seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  // `s`: a wildcard also covers an encoded newline in the path.
  return new RegExp(`^${body}$`, 's');
};

/** Finds the declaration of a request's route (HEAD is answered by GET routes, as Hono does). */
export const createRuleLookup = (table: readonly RouteDeclaration[] = ROUTE_TABLE) => {
  const compiled = table.map((d) => ({ d, re: patternOf(d.path) }));
  return (method: string, path: string): RouteDeclaration | undefined => {
    const m = method === 'HEAD' ? 'GET' : method;
    // The first declaration that matches, in table order (wildcards are declared after the exact paths).
    return compiled.find(({ d, re }) => (d.method === m || d.method === 'ALL') && re.test(path))?.d;
  };
};
