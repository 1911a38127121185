/**
 * The rules of DESIGN §6 that the official Ignition schemas do not check: exact version, decimal
 * file modes, unit names with a suffix, mount units named after their mount point, data URLs
 * that decode; plus absolute node paths and no duplicate units or paths (Ignition refuses both).
 * Unknown keys are checked by the closed schema (see validate.ts).
 */
import { gunzipSync } from 'node:zlib';
import { DataUrlError, decodeDataUrl, isDataUrl } from './data-url.js';
import { childPath } from './json-schema.js';
import { escapePath, simplifyPath, unitNameProblem } from './systemd-names.js';
import { IGNITION_VERSIONS, type IgnitionIssue, type IgnitionVersion } from './types.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const MODE_MAX = 0o7777;

/**
 * The mode rule. Ignition's `mode` is a DECIMAL number (0755 is 493). A value outside 0–4095 is
 * refused. A value above 0777 whose decimal digits are all octal digits (3 or 4 of them) is
 * refused as "octal written in decimal": read as decimal it would set the setuid, setgid or
 * sticky bit (755 is 01363), which generated files never want, and the octal reading of the same
 * digits is what was meant (755 → 493, 644 → 420, 600 → 384, 1777 → 1023). Values up to 0777
 * are never flagged (420, the correct 0644, has octal-looking digits too). The price: a real
 * special-bit mode whose decimal form happens to use only digits 0–7 (04755 = 2541, 01777 =
 * 1023) is flagged as well.
 */
export const modeProblem = (mode: unknown): string | null => {
  if (typeof mode !== 'number' || !Number.isInteger(mode)) return null; // the schema reports the type
  const digits = String(mode);
  const octalLooking = /^[0-7]{3,4}$/.test(digits);
  const hint = octalLooking ? `; if 0${digits} was meant, write ${parseInt(digits, 8)}` : '';
  if (mode < 0 || mode > MODE_MAX) return `mode ${mode} is outside 0–07777 (0–4095 as the decimal number Ignition expects)${hint}`;
  if (mode > 0o777 && octalLooking) {
    return `mode ${mode} looks like octal written in decimal: Ignition reads it as 0${mode.toString(8)} (setuid/setgid/sticky bits)${hint}`;
  }
  return null;
};

const versionRule = (config: Obj, versions: readonly IgnitionVersion[], issues: IgnitionIssue[]): void => {
  const version = obj(config.ignition)?.version;
  if (typeof version !== 'string') return; // missing or mistyped: the schema reports it
  if (!(versions as readonly string[]).includes(version)) {
    issues.push({ path: 'ignition.version', message: `version ${JSON.stringify(version)} is not accepted here; use ${versions.join(', ')}` });
  }
};

/** The value of `key` in `[section]` of a unit file (last assignment wins), if any. */
const unitSetting = (contents: string, section: string, key: string): string | undefined => {
  let current = '';
  let value: string | undefined;
  for (const raw of contents.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) current = head[1]!;
    else if (current === section) {
      const eq = line.indexOf('=');
      if (eq > 0 && line.slice(0, eq).trim() === key) value = line.slice(eq + 1).trim();
    }
  }
  return value;
};

const mountRule = (name: string, contents: string, path: string, issues: IgnitionIssue[]): void => {
  const kind = name.endsWith('.automount') ? 'automount' : name.endsWith('.mount') ? 'mount' : null;
  if (!kind) return;
  const where = unitSetting(contents, kind === 'mount' ? 'Mount' : 'Automount', 'Where');
  if (where === undefined) {
    issues.push({ path: childPath(path, 'contents'), message: `${kind} unit has no Where= in its [${kind === 'mount' ? 'Mount' : 'Automount'}] section` });
    return;
  }
  if (where.includes('%')) return; // specifiers are resolved by systemd
  if (simplifyPath(where) === null) {
    issues.push({ path: childPath(path, 'contents'), message: `Where=${where} is not an absolute path without ".." components` });
    return;
  }
  const expected = `${escapePath(where)}.${kind}`;
  if (name !== expected) issues.push({ path: childPath(path, 'name'), message: `a ${kind} unit for Where=${where} must be named ${expected}, not ${name}` });
};

const unitRules = (config: Obj, issues: IgnitionIssue[]): void => {
  const seen = new Set<string>();
  arr(obj(config.systemd)?.units).forEach((u, i) => {
    const unit = obj(u);
    const path = `systemd.units[${i}]`;
    const name = str(unit?.name);
    if (!unit || name === undefined) return;
    const problem = unitNameProblem(name);
    if (problem) issues.push({ path: childPath(path, 'name'), message: problem });
    if (seen.has(name)) issues.push({ path: childPath(path, 'name'), message: `duplicate unit ${name}` });
    seen.add(name);
    const contents = str(unit.contents);
    if (contents !== undefined && !problem) mountRule(name, contents, path, issues);
    arr(unit.dropins).forEach((d, j) => {
      const dropin = str(obj(d)?.name);
      if (dropin !== undefined && !/^[^/]+\.conf$/.test(dropin)) {
        issues.push({ path: `${path}.dropins[${j}].name`, message: `drop-in name ${JSON.stringify(dropin)} must end in .conf (systemd ignores other drop-ins)` });
      }
    });
  });
};

const NODE_KINDS = ['files', 'directories', 'links'] as const;

const nodeRules = (config: Obj, issues: IgnitionIssue[]): void => {
  const storage = obj(config.storage);
  const seen = new Set<string>();
  for (const kind of NODE_KINDS) {
    arr(storage?.[kind]).forEach((n, i) => {
      const node = obj(n);
      const path = `storage.${kind}[${i}]`;
      const p = str(node?.path);
      if (p !== undefined) {
        const simple = simplifyPath(p);
        if (simple === null) issues.push({ path: childPath(path, 'path'), message: `path ${JSON.stringify(p)} must be absolute, without ".." components` });
        else if (seen.has(simple)) issues.push({ path: childPath(path, 'path'), message: `duplicate path ${simple}` });
        else seen.add(simple);
      }
      if (kind !== 'links' && node && 'mode' in node) {
        const problem = modeProblem(node.mode);
        if (problem) issues.push({ path: childPath(path, 'mode'), message: problem });
      }
    });
  }
};

/** Every resource (with its path) whose `source` Ignition fetches. */
const resources = (config: Obj): [string, Obj][] => {
  const out: [string, Obj][] = [];
  const add = (path: string, v: unknown) => {
    const r = obj(v);
    if (r) out.push([path, r]);
  };
  const ign = obj(config.ignition);
  arr(obj(ign?.config)?.merge).forEach((r, i) => add(`ignition.config.merge[${i}]`, r));
  add('ignition.config.replace', obj(ign?.config)?.replace);
  arr(obj(obj(ign?.security)?.tls)?.certificateAuthorities).forEach((r, i) => add(`ignition.security.tls.certificateAuthorities[${i}]`, r));
  const storage = obj(config.storage);
  arr(storage?.files).forEach((f, i) => {
    add(`storage.files[${i}].contents`, obj(f)?.contents);
    arr(obj(f)?.append).forEach((r, j) => add(`storage.files[${i}].append[${j}]`, r));
  });
  arr(storage?.luks).forEach((l, i) => add(`storage.luks[${i}].keyFile`, obj(l)?.keyFile));
  return out;
};

/** What a `compression: gzip` data URL may expand to while checked: more is a bomb, not a config. */
export const MAX_GUNZIP_BYTES = 64 * 1024 * 1024;

const dataUrlRule = (config: Obj, issues: IgnitionIssue[]): void => {
  for (const [path, r] of resources(config)) {
    const source = str(r.source);
    if (source === undefined || !isDataUrl(source)) continue;
    try {
      const { data } = decodeDataUrl(source);
      // Bounded: a few hundred KB of gzip can stand for gigabytes.
      if (r.compression === 'gzip') gunzipSync(data, { maxOutputLength: MAX_GUNZIP_BYTES });
    } catch (err) {
      const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      const what =
        err instanceof DataUrlError
          ? err.message
          : tooBig
            ? `compression is gzip and the data expands past ${MAX_GUNZIP_BYTES} bytes; refused unchecked (a gzip bomb, or a file too large for a config)`
            : `compression is gzip but the data does not gunzip (${(err as Error).message})`;
      issues.push({ path: childPath(path, err instanceof DataUrlError ? 'source' : 'compression'), message: what });
    }
  }
};

/** Applies the DESIGN §6 rules to a parsed config (of any shape) and returns what breaks them. */
export const ruleIssues = (config: unknown, versions: readonly IgnitionVersion[] = IGNITION_VERSIONS): IgnitionIssue[] => {
  const root = obj(config);
  if (!root) return [];
  const issues: IgnitionIssue[] = [];
  versionRule(root, versions, issues);
  nodeRules(root, issues);
  unitRules(root, issues);
  dataUrlRule(root, issues);
  return issues;
};
