import { Hono, type Context } from 'hono';
import type { AppEnv } from '../../../http/env.js';
import { validationIssues } from '../field-issues.js';
import { renderPage, viewerOf } from '../layout.js';
import { KeyValues, Notice, Pre, Table, Time } from '../parts.js';
import { documentFromForm, formFromPost, formFromRecipe, type RecipeFormValues } from '../recipe-form.js';
import type { UiDeps } from '../ui-deps.js';
import { RecipeEditor } from './recipe-editor.js';
import type { FieldIssue } from '../../../core/errors.js';

export const recipeRoutes = (d: UiDeps) => {
  const editor = (c: Context<AppEnv>, values: RecipeFormValues, issues: FieldIssue[], isNew: boolean) =>
    renderPage(
      c,
      d.assets,
      isNew ? 'New recipe' : `Edit recipe ${values.name}`,
      <RecipeEditor values={values} issues={issues} isNew={isNew} action={isNew ? '/ui/recipes' : `/ui/recipes/${encodeURIComponent(values.name)}`} csrf={viewerOf(c).csrf} />,
      { status: issues.length ? 400 : 200 },
    );

  /** Saves through the recipe service (the API's validation); a refusal comes back on its fields. */
  const save = async (c: Context<AppEnv>, isNew: boolean) => {
    const form = await c.req.parseBody();
    const name = isNew ? (typeof form.name === 'string' ? form.name.trim() : '') : c.req.param('name')!;
    const values = formFromPost(form, name);
    try {
      const doc = documentFromForm(values);
      if (isNew) d.recipes.create({ ...doc, name });
      else d.recipes.put(name, doc);
    } catch (err) {
      const issues = validationIssues(err);
      if (!issues) throw err;
      return editor(c, values, issues, isNew);
    }
    return c.redirect(`/ui/recipes/${encodeURIComponent(name)}?saved=1`, 303);
  };

  return new Hono<AppEnv>()
    .get('/recipes', (c) => {
      const items = d.recipes.list();
      const v = viewerOf(c);
      return renderPage(
        c,
        d.assets,
        'Recipes',
        <>
          {v.canWrite ? (
            <p>
              <a class="button" href="/ui/recipes/new">
                New recipe
              </a>
            </p>
          ) : null}
          <Table caption={`${items.length} recipes`} head={['Name', 'Task target', 'Target disk', 'Artifact', 'Updated']} empty={!items.length} emptyText="no recipes yet">
            {items.map((r) => (
              <tr>
                <td>
                  <a href={`/ui/recipes/${encodeURIComponent(r.name)}`}>{r.name}</a>
                </td>
                <td>{r.normalized.task_target}</td>
                <td>{r.normalized.target_disk ?? '—'}</td>
                <td>
                  <code>{r.normalized.oci_url ?? '—'}</code>
                </td>
                <td>
                  <Time at={r.updated_at} />
                </td>
              </tr>
            ))}
          </Table>
        </>,
      );
    })
    .get('/recipes/new', (c) => editor(c, formFromRecipe('', undefined), [], true))
    .post('/recipes', (c) => save(c, true))
    .get('/recipes/:name', (c) => {
      const r = d.recipes.get(c.req.param('name'));
      const v = viewerOf(c);
      return renderPage(
        c,
        d.assets,
        `Recipe ${r.name}`,
        <>
          <Notice text={c.req.query('saved') ? 'Saved.' : undefined} />
          <KeyValues
            rows={[
              ['Task target', r.normalized.task_target],
              ['Created', <Time at={r.created_at} />],
              ['Updated', <Time at={r.updated_at} />],
            ]}
          />
          {v.canWrite ? (
            <p>
              <a class="button" href={`/ui/recipes/${encodeURIComponent(r.name)}/edit`}>
                Edit
              </a>
            </p>
          ) : null}
          <h2>As posted</h2>
          <Pre label="The recipe as posted">{JSON.stringify(r.recipe, null, 2)}</Pre>
          <h2>Normalised</h2>
          <Pre label="The recipe normalised">{JSON.stringify(r.normalized, null, 2)}</Pre>
        </>,
      );
    })
    .get('/recipes/:name/edit', (c) => {
      const r = d.recipes.get(c.req.param('name'));
      return editor(c, formFromRecipe(r.name, r.recipe), [], false);
    })
    .post('/recipes/:name', (c) => save(c, false));
};
