import type { FieldIssue } from '../../../core/errors.js';
import { createIssueIndex } from '../field-issues.js';
import { Csrf, FieldErrors } from '../parts.js';
import { PARTITION_FIELDS, type RecipeFormValues, SCALAR_FIELDS } from '../recipe-form.js';

const idOf = (path: string) => `f-${path.replace(/[^A-Za-z0-9]+/g, '-')}`;

const HINTS: Record<string, string> = {
  task_target: 'e.g. install-linux.target or install-windows.target',
  target_disk: 'e.g. /dev/sda or /dev/nvme0n1',
  oci_url: 'host[:port]/repository[:tag|@digest]',
  wim_index: 'Windows images only: 1 or more',
};

/** The recipe form: each field with its own errors; the fields it has no input for as YAML or JSON. */
export const RecipeEditor = (p: { values: RecipeFormValues; issues: FieldIssue[]; action: string; isNew: boolean; csrf: string }) => {
  const issues = createIssueIndex(p.issues);
  const input = (path: string, value: string, label: string, opts: { size?: number; hint?: string } = {}) => {
    const id = idOf(path);
    const messages = issues.take(path, true);
    return (
      <div>
        <label for={id}>{label}</label>
        <input
          type="text"
          id={id}
          name={path}
          value={value}
          size={opts.size ?? 50}
          aria-invalid={messages.length ? 'true' : undefined}
          aria-describedby={messages.length ? `${id}-error` : opts.hint ? `${id}-hint` : undefined}
        />
        {opts.hint ? (
          <span class="muted" id={`${id}-hint`}>
            {' '}
            {opts.hint}
          </span>
        ) : null}
        <FieldErrors id={id} messages={messages} />
      </div>
    );
  };
  const nameField = p.isNew ? input('name', p.values.name, 'Name', { size: 40 }) : null;
  const scalars = SCALAR_FIELDS.map((f) => input(f, p.values.scalars[f], f, { hint: HINTS[f] }));
  const partitionMessages = issues.take('partitions');
  const rows = p.values.partitions.map((row, i) => (
    <tr>
      {PARTITION_FIELDS.map((f) => {
        const path = `partitions[${i}].${f}`;
        const id = idOf(path);
        const messages = issues.take(path, true);
        return (
          <td>
            <input
              type="text"
              id={id}
              name={path}
              value={row[f]}
              size={f === 'mount' ? 14 : 9}
              aria-label={`partition ${i + 1} ${f}`}
              aria-invalid={messages.length ? 'true' : undefined}
              aria-describedby={messages.length ? `${id}-error` : undefined}
            />
            <FieldErrors id={id} messages={messages} />
          </td>
        );
      })}
    </tr>
  ));
  const restMessages = issues.take('rest');
  const others = issues.rest().map((i) => `${i.path}: ${i.message}`);
  return (
    <form method="post" action={p.action} novalidate>
      <Csrf token={p.csrf} />
      {p.issues.length ? (
        <div class="errors" role="alert">
          <p>
            <strong>The recipe was not saved:</strong> {p.issues.length} problem{p.issues.length > 1 ? 's' : ''}, shown beside each field.
          </p>
        </div>
      ) : null}
      {nameField}
      {scalars}
      <fieldset>
        <legend>partitions (short form; leave a row blank to drop it)</legend>
        {partitionMessages.length ? <p class="field-error">{partitionMessages.join('; ')}</p> : null}
        <div class="table-wrap" tabindex={0} role="region" aria-label="partitions">
          <table>
            <thead>
              <tr>
                {PARTITION_FIELDS.map((f) => (
                  <th scope="col">{f}</th>
                ))}
              </tr>
            </thead>
            <tbody>{rows}</tbody>
          </table>
        </div>
      </fieldset>
      <label for="f-rest">Other fields (YAML or JSON): cloud_init, user_data, unattend_xml, env, partition_layout, notes…</label>
      <textarea id="f-rest" name="rest" spellcheck={false} aria-invalid={restMessages.length || others.length ? 'true' : undefined} aria-describedby={restMessages.length || others.length ? 'f-rest-error' : undefined}>
        {p.values.rest}
      </textarea>
      <FieldErrors id="f-rest" messages={[...restMessages, ...others]} />
      <p>
        <button type="submit">{p.isNew ? 'Create recipe' : 'Save recipe'}</button> <a href="/ui/recipes">Cancel</a>
      </p>
    </form>
  );
};
