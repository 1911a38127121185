/**
 * `reef iso embed|show|reset`: Ignition configs in CoreOS live ISOs (DESIGN §6), without
 * coreos-installer. Exit 2 for bad flags or input (with the flag named), 1 for an ISO without an
 * embedded config (show) or a damaged embed area.
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Compression, COMPRESSIONS } from './live-iso/compressions.js';
import { checkIgnitionConfig } from './live-iso/config-check.js';
import { isInPlace, type PendingCopy, startCopy } from './live-iso/copy.js';
import { LiveIsoError } from './live-iso/errors.js';

// The codecs and the ISO reader load after the copy of a gigabyte ISO has started (see embed).
const liveIso = () => import('./live-iso/live-iso.js');

const USAGE = `usage:
  reef iso embed --ignition F|- (--in live.iso [--out node.iso] | live.iso) [--force] [--compression xz|gzip]
  reef iso show node.iso
  reef iso reset node.iso [--out F]`;

const MAX_CONFIG = 64 * 1024 * 1024;

class UsageError extends Error {}

const readStdin = async (): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    total += (chunk as Buffer).length;
    if (total > MAX_CONFIG) throw new UsageError(`--ignition -: more than ${MAX_CONFIG} bytes on stdin`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
};

const readConfig = async (from: string): Promise<Buffer> => {
  const bytes = from === '-' ? await readStdin() : await readFile(from).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`--ignition ${from}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  try {
    checkIgnitionConfig(bytes);
  } catch (err) {
    throw new UsageError(`--ignition ${from}: ${(err as Error).message}`);
  }
  return bytes;
};

/** The one ISO named, checked to be a file reef can read at offsets (a pipe or FIFO cannot be). */
const oneIso = (positionals: string[], flagIn: string | undefined, verb: string): string => {
  const isos = [...(flagIn ? [flagIn] : []), ...positionals];
  if (isos.length !== 1) throw new UsageError(`reef iso ${verb}: give exactly one ISO (--in or a path)\n${USAGE}`);
  const iso = isos[0]!;
  const st = statSync(iso, { throwIfNoEntry: false });
  if (!st) throw new UsageError(`${iso}: no such file`);
  if (!st.isFile() && !st.isBlockDevice()) {
    throw new UsageError(`${iso}: not a regular file or block device (a pipe or FIFO cannot be read at offsets; save the ISO to a file first)`);
  }
  return iso;
};

/** `--out` must name a file in a directory that exists. */
const checkOut = (out: string | undefined): void => {
  if (out === undefined) return;
  const dir = dirname(resolve(out));
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--out ${out}: the directory ${dir} does not exist`);
  if (statSync(out, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--out ${out}: is a directory; name the output file`);
};

const embed = async (argv: string[]) => {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ignition: { type: 'string', short: 'i' },
      in: { type: 'string' },
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean', short: 'f' },
      compression: { type: 'string', default: 'xz' },
    },
  });
  const input = oneIso(positionals, values.in, 'embed');
  checkOut(values.out);
  if (!values.ignition) throw new UsageError(`--ignition: required (a file, or - for stdin)\n${USAGE}`);
  if (!(COMPRESSIONS as readonly string[]).includes(values.compression)) throw new UsageError(`--compression: must be xz or gzip, not ${JSON.stringify(values.compression)}`);
  // Start the copy first: reading the config, loading the codecs and locating the area overlap it.
  const copy: PendingCopy | undefined = isInPlace(input, values.out) ? undefined : startCopy(input, values.out!);
  let config: Buffer;
  try {
    config = await readConfig(values.ignition);
  } catch (err) {
    await copy?.discard();
    throw err;
  }
  const { embedIgnition } = await liveIso();
  const { area, packedBytes } = await embedIgnition({ input, output: values.out, config, compression: values.compression as Compression, force: values.force, ...(copy ? { copy } : {}) });
  process.stderr.write(`reef: embedded ${config.length} bytes of Ignition (${packedBytes} bytes ${values.compression}) in ${values.out ?? input} (${area.file}, ${area.length}-byte area)\n`);
};

const show = async (argv: string[]) => {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { in: { type: 'string' } } });
  const iso = oneIso(positionals, values.in, 'show');
  const { config } = await (await liveIso()).showIgnition(iso);
  if (!config) throw new LiveIsoError('NOT_EMBEDDED', `${iso} has no embedded Ignition config (its embed area is all zeros)`);
  process.stdout.write(config);
};

const reset = async (argv: string[]) => {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { in: { type: 'string' }, out: { type: 'string', short: 'o' } } });
  const input = oneIso(positionals, values.in, 'reset');
  checkOut(values.out);
  const area = await (await liveIso()).resetIgnition({ input, output: values.out });
  process.stderr.write(`reef: cleared the ${area.length}-byte Ignition area of ${values.out ?? input}\n`);
};

const fail = (code: number, message: string) => {
  process.stderr.write(`reef iso: ${message}\n`);
  process.exitCode = code;
};

/** `reef iso <embed|show|reset> ...` */
export const isoCommand = async (argv: string[]): Promise<void> => {
  const [verb, ...rest] = argv;
  try {
    if (verb === 'embed') await embed(rest);
    else if (verb === 'show') await show(rest);
    else if (verb === 'reset') await reset(rest);
    else throw new UsageError(`unknown subcommand ${JSON.stringify(verb ?? '')}\n${USAGE}`);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof UsageError || e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return fail(2, e.message);
    if (err instanceof LiveIsoError) return fail(err.code === 'NOT_EMBEDDED' || err.code === 'BAD_AREA' ? 1 : 2, err.message);
    if (e.code === 'ENOENT' || e.code === 'EISDIR' || e.code === 'EACCES') return fail(2, `${e.path ?? ''}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    if (e.code === 'ENOSPC') return fail(1, `no space left on the device: ${e.message}`);
    // Anything else still ends in one line, not a stack trace.
    return fail(1, e.message ?? String(err));
  }
};
