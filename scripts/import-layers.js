// The import rules of reef's layers (ARCHITECTURE.md), checked by ESLint (`npm run lint`) as the
// rule `reef/layers`. A file's rule is the one with the longest `from` that contains it; an import
// of a file under src/ must land in one of its `may` folders, and a package import must not be
// one of its `noPackages`. A folder under src/ with no rule is an error: a new area states its
// place here before it lands.
import { dirname, relative, resolve } from 'node:path';
import process from 'node:process';

const SERVER_ONLY = ['hono', '@hono/node-server', 'drizzle-orm', 'better-sqlite3', 'pino', 'prom-client', 'node:http', 'node:https', 'node:http2'];
const NO_HTTP_SERVER_OR_DB = ['hono', '@hono/node-server', 'drizzle-orm', 'better-sqlite3', 'prom-client'];

export const LAYERS = [
  { from: 'src/cli.ts', may: ['src'] },
  { from: 'src/controller', may: ['src'] },
  { from: 'src/registry', may: ['src/registry', 'src/http', 'src/db', 'src/core', 'src/lib'] },
  { from: 'src/registry/core', may: ['src/registry/core', 'src/core', 'src/lib'], noPackages: SERVER_ONLY },
  { from: 'src/registry/storage', may: ['src/registry/storage', 'src/registry/core', 'src/core', 'src/lib'], noPackages: SERVER_ONLY },
  { from: 'src/registry/client', may: ['src/registry/client', 'src/registry/core', 'src/core', 'src/lib'], noPackages: NO_HTTP_SERVER_OR_DB },
  { from: 'src/mirror', may: ['src/mirror', 'src/registry/client', 'src/registry/core', 'src/formats', 'src/core', 'src/lib'], noPackages: NO_HTTP_SERVER_OR_DB },
  { from: 'src/releases', may: ['src/releases', 'src/mirror', 'src/ignition', 'src/registry/client', 'src/registry/core', 'src/formats', 'src/core', 'src/lib'], noPackages: NO_HTTP_SERVER_OR_DB },
  { from: 'src/ignition', may: ['src/ignition', 'src/mirror', 'src/registry/client', 'src/registry/core', 'src/formats', 'src/core', 'src/lib'], noPackages: NO_HTTP_SERVER_OR_DB },
  {
    from: 'src/maintenance-os',
    may: ['src/maintenance-os', 'src/recipes', 'src/ignition/prestage', 'src/registry/client', 'src/registry/core', 'src/formats', 'src/core', 'src/lib'],
    noPackages: NO_HTTP_SERVER_OR_DB,
  },
  { from: 'src/recipes', may: ['src/recipes', 'src/core', 'src/lib'], noPackages: SERVER_ONLY },
  { from: 'src/http', may: ['src/http', 'src/core', 'src/lib'], noPackages: ['drizzle-orm', 'better-sqlite3'] },
  { from: 'src/db', may: ['src/db', 'src/core', 'src/lib'], noPackages: ['hono', '@hono/node-server'] },
  { from: 'src/formats', may: ['src/formats', 'src/lib'], noPackages: SERVER_ONLY },
  { from: 'src/core', may: ['src/core'], noPackages: SERVER_ONLY },
  { from: 'src/lib', may: ['src/lib'], noPackages: SERVER_ONLY },
];

const within = (path, folder) => path === folder || path.startsWith(folder + '/');
const packageName = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

/** The rule for a repo-relative path under src/, or undefined. */
export const layerOf = (path) =>
  LAYERS.filter((l) => within(path, l.from) || path === l.from).sort((a, b) => b.from.length - a.from.length)[0];

/** Why importing `spec` from `file` (both repo-relative) breaks the layers, or undefined if it does not. */
export const layerViolation = (file, spec) => {
  if (!within(file, 'src')) return undefined;
  const layer = layerOf(file);
  if (!layer) return `${file} is in no layer: add its folder to scripts/import-layers.js and ARCHITECTURE.md`;
  if (!spec.startsWith('.')) {
    const name = packageName(spec);
    return layer.noPackages?.includes(name) ? `${layer.from} must not import ${name} (ARCHITECTURE.md)` : undefined;
  }
  const target = relative('.', resolve(dirname(file), spec)).split('\\').join('/');
  if (!within(target, 'src')) return `${layer.from} imports ${target}, outside src/`;
  if (layer.may.some((folder) => within(target, folder))) return undefined;
  return `${layer.from} may import only ${layer.may.join(', ')}; not ${target} (ARCHITECTURE.md)`;
};

const check = (context, node) => {
  const spec = node.source?.value;
  if (typeof spec !== 'string') return;
  const file = relative(context.cwd ?? process.cwd(), context.filename).split('\\').join('/');
  const message = layerViolation(file, spec);
  if (message) context.report({ node: node.source, message });
};

export const layersPlugin = {
  rules: {
    layers: {
      meta: { type: 'problem', docs: { description: 'imports follow the layers of ARCHITECTURE.md' }, schema: [] },
      create: (context) => ({
        ImportDeclaration: (node) => check(context, node),
        ExportNamedDeclaration: (node) => check(context, node),
        ExportAllDeclaration: (node) => check(context, node),
        ImportExpression: (node) => check(context, node),
      }),
    },
  },
};
