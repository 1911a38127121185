import yaml from 'js-yaml';
import { fieldError } from '../../core/errors.js';

/** The recipe fields the form shows one by one; the rest of a recipe is edited as YAML or JSON. */
export const SCALAR_FIELDS = ['task_target', 'target_disk', 'oci_url', 'wim_index'] as const;
export const PARTITION_FIELDS = ['mount', 'size', 'fstype', 'label'] as const;
/** Blank partition rows offered below the recipe's own. */
const SPARE_ROWS = 2;

export interface RecipeFormValues {
  name: string;
  scalars: Record<(typeof SCALAR_FIELDS)[number], string>;
  partitions: Record<(typeof PARTITION_FIELDS)[number], string>[];
  /** Every other field, as YAML (or JSON, as the user typed it). */
  rest: string;
}

const text = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));

const withSpares = (rows: RecipeFormValues['partitions']) => [...rows, ...Array.from({ length: SPARE_ROWS }, () => ({ mount: '', size: '', fstype: '', label: '' }))];

/** The form for a stored recipe's source document (or an empty one). */
export const formFromRecipe = (name: string, source: Record<string, unknown> | undefined): RecipeFormValues => {
  const { partitions, ...others } = source ?? {};
  const scalars = Object.fromEntries(SCALAR_FIELDS.map((f) => [f, text(others[f])])) as RecipeFormValues['scalars'];
  for (const f of SCALAR_FIELDS) delete others[f];
  const rows = Array.isArray(partitions) ? partitions.map((p: Record<string, unknown>) => Object.fromEntries(PARTITION_FIELDS.map((f) => [f, text(p?.[f])])) as RecipeFormValues['partitions'][number]) : [];
  return { name, scalars, partitions: withSpares(rows), rest: Object.keys(others).length ? yaml.dump(others, { lineWidth: 120 }) : '' };
};

const field = (form: Record<string, unknown>, key: string): string => (typeof form[key] === 'string' ? (form[key] as string) : '');

/** What the user typed, to show again beside the errors. */
export const formFromPost = (form: Record<string, unknown>, name: string): RecipeFormValues => {
  const scalars = Object.fromEntries(SCALAR_FIELDS.map((f) => [f, field(form, f)])) as RecipeFormValues['scalars'];
  const rows: RecipeFormValues['partitions'] = [];
  for (let i = 0; i < 256 && `partitions[${i}].mount` in form; i++) {
    rows.push(Object.fromEntries(PARTITION_FIELDS.map((f) => [f, field(form, `partitions[${i}].${f}`)])) as RecipeFormValues['partitions'][number]);
  }
  const filled = rows.filter((r) => PARTITION_FIELDS.some((f) => r[f].trim() !== ''));
  return { name, scalars, partitions: withSpares(filled), rest: field(form, 'rest') };
};

/**
 * The recipe document the form stands for: the YAML/JSON of the other fields, with the form's
 * fields set over it (a field given in both is refused, named). Validation is the recipe
 * service's, exactly as for the API.
 */
export const documentFromForm = (v: RecipeFormValues): Record<string, unknown> => {
  let doc: unknown = {};
  if (v.rest.trim() !== '') {
    try {
      doc = yaml.load(v.rest, { schema: yaml.JSON_SCHEMA });
    } catch (err) {
      const e = err as yaml.YAMLException;
      throw fieldError('rest', `YAML syntax error${e.mark ? ` at line ${e.mark.line + 1}` : ''}: ${e.reason ?? e.message}`, 'recipe');
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw fieldError('rest', 'the other fields must be a YAML or JSON mapping', 'recipe');
  }
  const out = { ...(doc as Record<string, unknown>) };
  const set = (key: string, value: unknown) => {
    if (key in out) throw fieldError(key, `${key} is given both in its field and in the other fields; keep one`, 'recipe');
    out[key] = value;
  };
  for (const f of SCALAR_FIELDS) {
    const t = v.scalars[f].trim();
    if (t !== '') set(f, f === 'wim_index' && /^\d+$/.test(t) ? Number(t) : t);
  }
  const rows = v.partitions.filter((r) => PARTITION_FIELDS.some((f) => r[f].trim() !== ''));
  if (rows.length) set('partitions', rows.map((r) => Object.fromEntries(PARTITION_FIELDS.filter((f) => r[f].trim() !== '').map((f) => [f, r[f].trim()]))));
  return out;
};
