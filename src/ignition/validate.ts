/**
 * The Ignition validator: the official JSON schema of the config's version (closed: unknown keys
 * are errors) plus the rules of DESIGN §6 (rules.ts). Every problem is reported, each with the
 * path it concerns (`systemd.units[2].name`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';
import { createSchemaValidator, type JsonSchema } from './json-schema.js';
import { ruleIssues } from './rules.js';
import { IGNITION_VERSIONS, type IgnitionIssue, type IgnitionVersion } from './types.js';

type SchemaCheck = (value: unknown) => IgnitionIssue[];
const checks = new Map<IgnitionVersion, SchemaCheck>();

/** The schema file of a spec version, as shipped in src/ignition/schemas. */
export const schemaFile = (version: IgnitionVersion): string =>
  join(packageRoot(), 'src', 'ignition', 'schemas', `ignition-v${version.split('.').slice(0, 2).join('_')}.schema.json`);

const schemaCheck = (version: IgnitionVersion): SchemaCheck => {
  let check = checks.get(version);
  if (!check) {
    const schema = JSON.parse(readFileSync(schemaFile(version), 'utf8')) as JsonSchema;
    check = createSchemaValidator(schema, { closed: true });
    checks.set(version, check);
  }
  return check;
};

export interface ValidateOptions {
  /** The versions accepted (default: 3.1.0, 3.2.0 and 3.4.0; Assisted Service overrides: 3.1.0 and 3.2.0). */
  versions?: readonly IgnitionVersion[];
}

/**
 * Validates a parsed Ignition config. The schema is the one of `ignition.version` when that is a
 * version reef knows; with any other version only the rules apply (and report the version).
 */
export const validateIgnition = (config: unknown, opts: ValidateOptions = {}): IgnitionIssue[] => {
  const versions = opts.versions ?? IGNITION_VERSIONS;
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return [{ path: '(root)', message: 'an Ignition config must be a JSON object' }];
  const version = (config as { ignition?: { version?: unknown } }).ignition?.version;
  const known = (IGNITION_VERSIONS as readonly unknown[]).includes(version);
  const schemaIssues = known ? schemaCheck(version as IgnitionVersion)(config) : [];
  if (!known && (typeof version !== 'string' || !(config as { ignition?: unknown }).ignition)) {
    schemaIssues.push({ path: 'ignition.version', message: 'required: a string such as "3.2.0"' });
  }
  return [...schemaIssues, ...ruleIssues(config, versions)];
};

/** Parses JSON text and validates it; a syntax error is one issue at the root. */
export const validateIgnitionText = (text: string, opts: ValidateOptions = {}): IgnitionIssue[] => {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    return [{ path: '(root)', message: `not valid JSON: ${(err as Error).message}` }];
  }
  return validateIgnition(config, opts);
};

/** Formats issues one per line: `systemd.units[2].name: unit name … has no valid unit suffix`. */
export const formatIssues = (issues: IgnitionIssue[]): string => issues.map((i) => `${i.path}: ${i.message}`).join('\n');
