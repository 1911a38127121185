import { Hono } from 'hono';
import { fieldError, notFound } from '../../../core/errors.js';
import type { AppEnv } from '../../../http/env.js';
import type { PrestageGenerator } from '../../prestage/ignition-routes.js';
import { createIssueIndex, validationIssues } from '../field-issues.js';
import { renderPage } from '../layout.js';
import { FieldErrors, Pre } from '../parts.js';
import { PartitionScriptSection, partitionScriptFor } from './partition-script.js';
import type { UiDeps } from '../ui-deps.js';

const OPTIONS = [
  ['label', 'Partition label', 'data'],
  ['version', 'Ignition version (3.1.0 or 3.2.0)', '3.1.0'],
  ['images_dir', 'Images directory on the partition', ''],
] as const;

const OUTPUTS = [
  ['discovery', 'Discovery override (Ignition)', (g: PrestageGenerator, q: Record<string, string[]>) => JSON.stringify(g.discovery(q), null, 2)],
  ['pointer', 'Pointer override (Ignition)', (g: PrestageGenerator, q: Record<string, string[]>) => JSON.stringify(g.pointer(q), null, 2)],
  ['assisted', 'Assisted Service PATCH bodies', (g: PrestageGenerator, q: Record<string, string[]>) => JSON.stringify(g.assisted(q), null, 2)],
  ['siteconfig', 'SiteConfig / ClusterInstance snippets (YAML)', (g: PrestageGenerator, q: Record<string, string[]>) => g.siteconfig(q)],
] as const;

/** The pre-staging overrides, from the same generator as /api/v1/prestage/ignition, to copy or save. */
const optionsOf = (query: (k: string) => string | undefined) => {
  const queries: Record<string, string[]> = {};
  for (const [key] of OPTIONS) {
    const v = query(key);
    if (v) queries[key] = [v];
  }
  return queries;
};

/** Option sets whose outputs are kept: the outputs depend on nothing else (the loader script ships with reef). */
const KEEP_OUTPUTS = 16;

export const prestageRoutes = (d: UiDeps & { prestage: PrestageGenerator }) => {
  const kept = new Map<string, [string, string, string][]>();
  const outputsFor = (queries: Record<string, string[]>) => {
    const key = JSON.stringify(queries);
    let found = kept.get(key);
    if (!found) {
      found = OUTPUTS.map(([name, title, make]) => [name, title, make(d.prestage, queries)]);
      kept.set(key, found);
      if (kept.size > KEEP_OUTPUTS) kept.delete(kept.keys().next().value!);
    }
    return found;
  };
  return new Hono<AppEnv>()
    .get('/prestage/:kind', (c) => {
      if (c.req.param('kind') === 'partition') {
        const { script, field, message } = partitionScriptFor((k) => c.req.query(k));
        if (!script) throw fieldError(field ?? 'device', message ?? 'give device and size');
        return c.body(script, 200, { 'Content-Type': 'text/x-shellscript; charset=utf-8', 'Content-Disposition': 'attachment; filename="partition.sh"' });
      }
      const output = OUTPUTS.find(([key]) => key === c.req.param('kind'));
      if (!output) throw notFound('pre-staging output', c.req.param('kind'));
      const [key, , make] = output;
      const yamlOut = key === 'siteconfig';
      return c.body(make(d.prestage, optionsOf((k) => c.req.query(k))), 200, {
        'Content-Type': yamlOut ? 'application/yaml; charset=utf-8' : 'application/json; charset=utf-8',
        'Content-Disposition': `attachment; filename="${key}.${yamlOut ? 'yaml' : 'json'}"`,
      });
    })
    .get('/prestage', (c) => {
      const queries = optionsOf((k) => c.req.query(k));
      let outputs: [string, string, string][] = [];
      let issues: ReturnType<typeof validationIssues> = [];
      try {
        outputs = outputsFor(queries);
      } catch (err) {
        issues = validationIssues(err);
        if (!issues) throw err;
      }
      const index = createIssueIndex(issues);
      return renderPage(
        c,
        d.assets,
        'Pre-staging',
        <>
          <form method="get" action="/ui/prestage" class="filters" aria-label="Override options">
            {OPTIONS.map(([key, label, placeholder]) => {
              const messages = index.take(key, true);
              return (
                <div>
                  <label for={`o-${key}`}>{label}</label>
                  <input type="text" id={`o-${key}`} name={key} value={c.req.query(key) ?? ''} placeholder={placeholder} aria-invalid={messages.length ? 'true' : undefined} aria-describedby={messages.length ? `o-${key}-error` : undefined} />
                  <FieldErrors id={`o-${key}`} messages={messages} />
                </div>
              );
            })}
            <button type="submit">Generate</button>
          </form>
          {index.rest().length ? <p class="field-error">{index.rest().map((i) => `${i.path}: ${i.message}`).join('; ')}</p> : null}
          {outputs.map(([key, title, text]) => (
            <section aria-labelledby={`h-${key}`}>
              <h2 id={`h-${key}`}>{title}</h2>
              <p>
                <a href={`/ui/prestage/${key}?${new URLSearchParams(Object.entries(queries).map(([k, v]): [string, string] => [k, v[0]!]))}`} download={`${key}.${key === 'siteconfig' ? 'yaml' : 'json'}`}>
                  Download {key}.{key === 'siteconfig' ? 'yaml' : 'json'}
                </a>
              </p>
              <Pre label={title}>{text}</Pre>
            </section>
          ))}
          <PartitionScriptSection query={(k) => c.req.query(k)} />
        </>,
      );
    });
};
