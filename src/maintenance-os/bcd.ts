import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BCD_ID, type BcdObject, bcdbootObjects, bracedGuid, encodeElement, REG } from './bcd-model.js';
import { type Runner, StepError, ToolMissing } from './exec.js';

/**
 * Builds EFI/Microsoft/Boot/BCD from the image's Windows/System32/config/BCD-Template the way
 * `bcdboot C:\Windows /f UEFI` does for a GPT disk: the template is copied, then edited in place
 * by one `hivexsh -w` script (libhivex-bin) that adds or updates the objects of bcd-model.ts and
 * commits. The GPT GUIDs come from sgdisk. Every tool runs through the Runner (dry runs print it).
 */

/** Existing keys of the template: for each object, its element key names (null: no Elements key). */
export type TemplateObjects = Map<string, Set<string> | null>;

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const hexBytes = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(',');
const dword = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

/**
 * The hivexsh script that writes `objects` into a store holding `existing`: objects, Description
 * and Elements keys are added only when missing (hivexsh `add` refuses an existing key), each
 * element's `Element` value is (re)set, and an existing object keeps the elements not listed.
 */
export const hivexshScript = (objects: BcdObject[], existing: TemplateObjects): string => {
  const lines: string[] = [];
  for (const obj of objects) {
    const key = `\\Objects\\${obj.id}`;
    const had = existing.has(obj.id);
    const elements = existing.get(obj.id) ?? null;
    if (!had) lines.push('cd \\Objects', `add ${obj.id}`, `cd ${key}`, 'add Description', `cd ${key}\\Description`, 'setval 1', 'Type', `hex:${REG.dword}:${hexBytes(dword(obj.type))}`);
    if (!elements) lines.push(`cd ${key}`, 'add Elements');
    for (const e of obj.elements) {
      const name = hex8(e.type);
      if (!elements?.has(name)) lines.push(`cd ${key}\\Elements`, `add ${name}`);
      const { regType, data } = encodeElement(e);
      lines.push(`cd ${key}\\Elements\\${name}`, 'setval 1', 'Element', `hex:${regType}:${hexBytes(data)}`);
    }
  }
  return `${[...lines, 'commit'].join('\n')}\n`;
};

/** Subkeys of `path` in a hive (hivexsh `ls`), lower-cased. */
const subkeys = async (run: Runner, hive: string, path: string): Promise<string[]> => {
  const { stdout } = await run.query('hivexsh', [hive], { input: `${path === '\\' ? '' : `cd ${path}\n`}ls\n` });
  return stdout
    .split('\n')
    .map((l) => l.trim().toLowerCase())
    .filter(Boolean);
};

/** The template's objects among `wanted`, with their element keys; refuses a hive that is not a BCD store. */
export const readTemplate = async (run: Runner, hive: string, wanted: string[]): Promise<TemplateObjects> => {
  const root = await subkeys(run, hive, '\\');
  if (!root.includes('objects') || !root.includes('description')) {
    throw new StepError(`${hive} is not a BCD store: its root has ${root.length ? root.join(', ') : 'no keys'}, not Description and Objects`);
  }
  const objects = new Set(await subkeys(run, hive, '\\Objects'));
  const found: TemplateObjects = new Map();
  for (const id of wanted.filter((w) => objects.has(w))) {
    const keys = await subkeys(run, hive, `\\Objects\\${id}`);
    found.set(id, keys.includes('elements') ? new Set(await subkeys(run, hive, `\\Objects\\${id}\\Elements`)) : null);
  }
  return found;
};

const GUID_RE = '([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})';

/** The GPT disk GUID (`sgdisk -p`: Disk identifier) and the unique GUIDs of partitions `numbers` (`sgdisk -i N`). */
export const gptGuids = async (run: Runner, disk: string, numbers: number[]): Promise<{ disk: string; partitions: string[] }> => {
  const print = (await run.query('sgdisk', ['-p', disk])).stdout;
  const diskGuid = new RegExp(`Disk identifier \\(GUID\\): ${GUID_RE}`).exec(print)?.[1];
  if (!diskGuid) throw new StepError(`sgdisk -p ${disk} shows no disk GUID: is it a GPT disk?`);
  const partitions: string[] = [];
  for (const n of numbers) {
    const info = (await run.query('sgdisk', ['-i', String(n), disk])).stdout;
    const guid = new RegExp(`Partition unique GUID: ${GUID_RE}`).exec(info)?.[1];
    if (!guid) throw new StepError(`sgdisk -i ${n} ${disk} shows no unique GUID for partition ${n}`);
    partitions.push(guid);
  }
  return { disk: diskGuid, partitions };
};

export interface BcdRequest {
  /** Windows/System32/config/BCD-Template in the applied image, or null when the image has none. */
  template: string | null;
  /** The store to write (EFI/Microsoft/Boot/BCD in the staged ESP tree). */
  out: string;
  /** Where the hivexsh script is written. */
  script: string;
  disk: string;
  espNumber: number;
  windowsNumber: number;
  description: string;
  locale?: string;
  /** The ESP will hold EFI/Microsoft/Boot/memtest.efi. */
  memtest: boolean;
  /** Object GUIDs for the loader and resume objects (fresh ones by default). */
  ids?: { loader: string; resume: string };
}

export type BcdOutcome =
  | { built: true; loader: string; resume: string; disk: string; esp: string; windows: string }
  | { built: false; missing: string };

const REMEDY = 'run `bcdboot C:\\Windows /f UEFI` once from WinPE, or the disk will not boot';

/** The line the operator reads about the store. */
export const describeBcd = (o: BcdOutcome): string =>
  o.built
    ? `BCD store built: {bootmgr} (device: ESP partition ${o.esp}) → Windows Boot Loader ${o.loader} (device and osdevice: partition ${o.windows}, \\Windows\\system32\\winload.efi), resume object ${o.resume}, on GPT disk ${o.disk}`
    : `BCD store NOT built: ${o.missing}; ${REMEDY}`;

/** Dry run: what building the store would do (the template is not there to read yet). */
export const planBcd = async (run: Runner, req: BcdRequest): Promise<void> => {
  run.note(`build ${req.out} from the image's Windows/System32/config/BCD-Template (GPT GUIDs of ${req.disk} partitions ${req.espNumber} and ${req.windowsNumber} from sgdisk)`);
  await run.run('hivexsh', ['-w', '-f', req.script, req.out]);
};

/**
 * Builds the store, or says what is missing (no template in the image, hivexsh not installed)
 * without failing; a template that cannot be read or a disk without GPT GUIDs is a StepError.
 */
export const buildBcd = async (run: Runner, req: BcdRequest): Promise<BcdOutcome> => {
  if (!req.template || !existsSync(req.template)) return { built: false, missing: 'the image has no Windows/System32/config/BCD-Template' };
  let existing: TemplateObjects;
  try {
    existing = await readTemplate(run, req.template, [BCD_ID.bootmgr, BCD_ID.memdiag]);
  } catch (err) {
    if (err instanceof ToolMissing) return { built: false, missing: `${err.tool} is not installed in the maintenance OS (Debian package libhivex-bin; add it to the live image)` };
    throw err;
  }
  const gpt = await gptGuids(run, req.disk, [req.espNumber, req.windowsNumber]);
  const loader = bracedGuid(req.ids?.loader ?? randomUUID());
  const resume = bracedGuid(req.ids?.resume ?? randomUUID());
  const [esp, windows] = gpt.partitions as [string, string];
  const objects = bcdbootObjects({
    disk: gpt.disk,
    esp,
    windows,
    loader,
    resume,
    description: req.description,
    locale: req.locale ?? 'en-US',
    memdiag: req.memtest && existing.has(BCD_ID.memdiag),
  });
  await mkdir(dirname(req.out), { recursive: true });
  await copyFile(req.template, req.out);
  await writeFile(req.script, hivexshScript(objects, existing));
  run.note(`write ${req.script} (${objects.length} BCD objects) and apply it to a copy of ${req.template}`);
  await run.run('hivexsh', ['-w', '-f', req.script, req.out]);
  return { built: true, loader, resume, disk: gpt.disk, esp, windows };
};
