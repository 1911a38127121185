import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Context } from 'hono';
import { notFound } from '../../core/errors.js';
import type { AppEnv } from '../../http/env.js';
import { UI_CSS, UI_JS } from './assets-text.js';

interface Asset {
  body: string;
  type: string;
  etag: string;
}

const asset = (body: string, type: string): Asset => ({ body, type, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"` });

/** htmx, pinned in package.json, read once from node_modules: the UI loads nothing from the internet. */
const readHtmx = (): string => readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'), 'utf8');

/** The files under /ui/assets, by name (nothing else is served from there). */
export const createUiAssets = () => {
  const files = new Map<string, Asset>([
    ['htmx.min.js', asset(readHtmx(), 'text/javascript; charset=utf-8')],
    ['ui.js', asset(UI_JS, 'text/javascript; charset=utf-8')],
    ['ui.css', asset(UI_CSS, 'text/css; charset=utf-8')],
  ]);
  return {
    /** The URL of an asset, with its hash so a new reef never meets a stale cached copy. */
    url: (name: string) => `/ui/assets/${name}?v=${files.get(name)!.etag.slice(1, 13)}`,
    serve(c: Context<AppEnv>) {
      const file = files.get(c.req.param('file') ?? '');
      if (!file) throw notFound('UI asset', c.req.param('file') ?? '');
      if (c.req.header('if-none-match') === file.etag) return c.body(null, 304, { ETag: file.etag });
      return c.body(file.body, 200, { 'Content-Type': file.type, ETag: file.etag, 'Cache-Control': 'public, max-age=86400' });
    },
  };
};
export type UiAssets = ReturnType<typeof createUiAssets>;
