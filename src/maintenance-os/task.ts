import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { Recipe } from '../recipes/recipe-normalize.js';
import { validateRecipe } from '../recipes/validate-recipe.js';
import { StepError } from './exec.js';

/** Everything the agent needs: the normalised recipe, the files of the task ISO, and how to call back. */
export interface Task {
  recipe: Recipe;
  jobId: string | null;
  controllerUrl: string | null;
  callbackUrl: string | null;
  token: string | null;
  /** Registries reached over plain HTTP (the controller's own when it serves plain HTTP). */
  insecureRegistries: string[];
  /**
   * PEM of the controller's CA: the task ISO's ca.crt; once findTask has checked it against the
   * kernel command line's pin (or fetched it from the controller), the one trust anchor of every
   * HTTPS call to the controller. null: the system's trust store.
   */
  ca: string | null;
  /** task.json's ca_fingerprint, as written (`sha256:<hex>`). */
  caFingerprint: string | null;
  userData: string | null;
  metaData: string | null;
  unattendXml: string | null;
  source: string;
}

/** The task ISO's files by name (task.json, recipe.json, user-data, meta-data, unattend.xml, ca.crt). */
export type TaskFiles = Record<string, string>;

const looksNormalised = (doc: Record<string, unknown>) =>
  doc.schema_version === 'v1' && Array.isArray(doc.partitions) && (doc.partitions as Record<string, unknown>[]).every((p) => typeof p.type_guid === 'string' && typeof p.number === 'number');

/** A recipe as stored in a task (normalised), or as a user writes it (validated and normalised here). */
export const recipeFrom = (doc: unknown): Recipe => {
  if (doc && typeof doc === 'object' && looksNormalised(doc as Record<string, unknown>)) return doc as Recipe;
  try {
    return validateRecipe(doc, 'recipe').recipe;
  } catch (err) {
    const e = err as { message: string; details?: { path: string; message: string }[] };
    throw new StepError(`the recipe is not valid: ${e.details?.map((d) => `${d.path}: ${d.message}`).join('; ') ?? e.message}`);
  }
};

const parseJson = (text: string, what: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StepError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
};

/** Builds the task from the task ISO's files. */
export const taskFromFiles = (files: TaskFiles, source: string): Task => {
  const recipeText = files['recipe.json'];
  if (recipeText === undefined) throw new StepError(`${source} has no recipe.json`);
  const recipe = recipeFrom(parseJson(recipeText, `${source}/recipe.json`));
  const task = files['task.json'] ? (parseJson(files['task.json'], `${source}/task.json`) as Record<string, unknown>) : {};
  const str = (k: string) => (typeof task[k] === 'string' ? (task[k] as string) : null);
  return {
    recipe,
    jobId: str('job_id'),
    controllerUrl: str('controller_url'),
    callbackUrl: str('callback_url'),
    token: str('token'),
    insecureRegistries: Array.isArray(task.insecure_registries) ? task.insecure_registries.filter((r): r is string => typeof r === 'string') : [],
    ca: files['ca.crt'] ?? null,
    caFingerprint: str('ca_fingerprint'),
    userData: files['user-data'] ?? recipe.user_data,
    metaData: files['meta-data'] ?? null,
    unattendXml: files['unattend.xml'] ?? recipe.unattend_xml,
    source,
  };
};

/** The files of a task ISO the agent reads (task-iso.ts writes them). */
export const TASK_FILES = new Set(['task.json', 'recipe.json', 'user-data', 'meta-data', 'unattend.xml', 'env', 'ca.crt']);

/** A directory holding the task ISO's files (a mounted task ISO, or an extracted copy). */
export const readTaskDir = (dir: string): Task => {
  const files: TaskFiles = {};
  for (const name of readdirSync(dir)) if (TASK_FILES.has(name)) files[name] = readFileSync(join(dir, name), 'utf8');
  return taskFromFiles(files, dir);
};

/** `--task <path>`: a directory, a task ISO file, or a recipe file in JSON or YAML (no callback then). */
export const readTaskPath = async (path: string, readIsoFiles: (iso: string) => Promise<TaskFiles>): Promise<Task> => {
  if (!existsSync(path)) throw new StepError(`--task ${path}: no such file or directory`);
  if (statSync(path).isDirectory()) return readTaskDir(path);
  const head = Buffer.alloc(64);
  const fd = openSync(path, 'r');
  const n = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  if (/\.ya?ml$/i.test(path)) {
    let doc: unknown;
    try {
      doc = yaml.load(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new StepError(`${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    return taskFromFiles({ 'recipe.json': JSON.stringify(doc) }, path);
  }
  if (head.subarray(0, n).toString('utf8').trimStart().startsWith('{')) return taskFromFiles({ 'recipe.json': readFileSync(path, 'utf8') }, path);
  return taskFromFiles(await readIsoFiles(path), path);
};

/** `reef.controller=` / `reef.job=` / `reef.token=` / `reef.ca=` (the CA's fingerprint, as written) from a kernel command line. */
export const parseCmdline = (cmdline: string): { controller?: string; job?: string; token?: string; ca?: string } => {
  const out: Record<string, string> = {};
  for (const word of cmdline.trim().split(/\s+/)) {
    const m = /^reef\.(controller|job|token|ca)=(.+)$/.exec(word);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
};
