/**
 * A JSON Schema (draft-04) evaluator for the keywords the Ignition schemas use: `type`,
 * `properties`, `required`, `items`, `allOf` and local `$ref`s ("#/definitions/…"); `title`,
 * `$schema` and `definitions` are annotations. Any other keyword is refused when the validator
 * is created, so a schema it cannot check is never silently half-checked.
 *
 * With `closed`, an object key that no applicable `properties` lists is reported: the official
 * Ignition schemas omit `additionalProperties: false`, and Ignition itself rejects unknown keys.
 */
import type { IgnitionIssue } from './types.js';

export interface JsonSchema {
  $ref?: string;
  $schema?: string;
  title?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  allOf?: JsonSchema[];
  definitions?: Record<string, JsonSchema>;
}

const KNOWN_KEYWORDS = new Set(['$ref', '$schema', 'title', 'type', 'properties', 'required', 'items', 'allOf', 'definitions']);

/** A schema with its `$ref`s followed and its `allOf` merged. */
interface Flat {
  types: string[][];
  properties: Map<string, JsonSchema[]>;
  required: Set<string>;
  items: JsonSchema[];
}

const jsonType = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

const matchesType = (v: unknown, t: string): boolean => {
  switch (t) {
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    default:
      return jsonType(v) === t;
  }
};

/** Appends `.key` or `[i]` to a path as users write it: `systemd.units[2].name`. */
export const childPath = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

export const createSchemaValidator = (root: JsonSchema, opts: { closed?: boolean } = {}) => {
  const resolveRef = (ref: string): JsonSchema => {
    if (!ref.startsWith('#/')) throw new Error(`json-schema: only local $refs are supported, got ${ref}`);
    let node: unknown = root;
    for (const raw of ref.slice(2).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      node = (node as Record<string, unknown> | undefined)?.[key];
    }
    if (!node || typeof node !== 'object') throw new Error(`json-schema: $ref ${ref} points nowhere`);
    return node as JsonSchema;
  };

  const cache = new WeakMap<JsonSchema, Flat>();
  const flatten = (schema: JsonSchema, seen: Set<JsonSchema> = new Set()): Flat => {
    const hit = cache.get(schema);
    if (hit) return hit;
    if (seen.has(schema)) throw new Error('json-schema: $ref cycle');
    seen.add(schema);
    const flat: Flat = { types: [], properties: new Map(), required: new Set(), items: [] };
    const parts = [schema, ...(schema.$ref ? [resolveRef(schema.$ref)] : []), ...(schema.allOf ?? [])];
    for (const part of parts) {
      const f = part === schema ? null : flatten(part, seen);
      if (f) {
        flat.types.push(...f.types);
        for (const [k, v] of f.properties) flat.properties.set(k, [...(flat.properties.get(k) ?? []), ...v]);
        f.required.forEach((r) => flat.required.add(r));
        flat.items.push(...f.items);
        continue;
      }
      if (part.type !== undefined) flat.types.push(Array.isArray(part.type) ? part.type : [part.type]);
      for (const [k, v] of Object.entries(part.properties ?? {})) flat.properties.set(k, [...(flat.properties.get(k) ?? []), v]);
      part.required?.forEach((r) => flat.required.add(r));
      if (part.items) flat.items.push(part.items);
    }
    cache.set(schema, flat);
    return flat;
  };

  const check = (schema: JsonSchema, value: unknown, path: string, issues: IgnitionIssue[]): void => {
    const flat = flatten(schema);
    const at = path || '(root)';
    for (const allowed of flat.types) {
      if (!allowed.some((t) => matchesType(value, t))) {
        issues.push({ path: at, message: `must be ${allowed.join(' or ')}, got ${jsonType(value)}` });
        return;
      }
    }
    if (jsonType(value) === 'object') {
      const obj = value as Record<string, unknown>;
      for (const r of flat.required) if (obj[r] === undefined) issues.push({ path: childPath(path, r), message: 'required' });
      for (const [k, v] of Object.entries(obj)) {
        const subs = flat.properties.get(k);
        if (!subs) {
          if (opts.closed) issues.push({ path: childPath(path, k), message: 'unknown key' });
          continue;
        }
        for (const sub of subs) check(sub, v, childPath(path, k), issues);
      }
    }
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        for (const sub of flat.items) check(sub, item, childPath(path, i), issues);
      });
    }
  };

  const audit = (schema: JsonSchema): void => {
    for (const k of Object.keys(schema)) if (!KNOWN_KEYWORDS.has(k)) throw new Error(`json-schema: keyword "${k}" is not supported`);
    const subs = [...Object.values(schema.properties ?? {}), ...Object.values(schema.definitions ?? {}), ...(schema.allOf ?? []), ...(schema.items ? [schema.items] : [])];
    subs.forEach(audit);
  };
  audit(root);
  flatten(root);
  /** Every problem with `value`, in document order (empty when valid). */
  return (value: unknown): IgnitionIssue[] => {
    const issues: IgnitionIssue[] = [];
    check(root, value, '', issues);
    return issues;
  };
};
