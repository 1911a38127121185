import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DiskRefusedError, PrestageInputError } from './errors.js';
import type { GzipLevel } from './image-archive.js';
import { parseImageList } from './image-ref.js';
import { parseImageSet } from './imageset.js';
import { createDataPartition, type Filesystem } from './partition.js';
import { partitionScript } from './partition-script.js';
import { precacheDownload } from './precache.js';
import { createPrecacheView } from './progress-view.js';
import { parseSize } from './sizes.js';
import { pathExists, runCommand } from './system.js';

export const PRESTAGE_HELP = `Usage:
  reef prestage partition --device D --size 100G [--label data] [--fs xfs|ext4] [--force] [--print]
      create the data partition at the END of disk D (GPT name = label) and format it; refuses a
      disk with partitions or signatures unless --force (which wipes it); --print writes the
      shell script instead of running anything. Sizes: 100G = 100GiB, 512M, 1.5T.
  reef prestage download --registry HOST:PORT --to DIR [--ai-images F] [--ocp-images F]
      [--imageset F] [--release VERSION] [-p N] [--rm-stale] [--plain-http] [-u user:pass]
      [--gzip-level auto|0-9] [--arch amd64|arm64]
      fill DIR with one <name>.tgz per image (dir: format) and ai-images.txt, ocp-images.txt,
      mapping.txt, from reef's registry; parallel, verified, resumable.
Exit status: 0 done, 1 failed (each failed image named), 2 bad usage, 3 disk refused (untouched).
`;

class UsageError extends Error {}

const ARCHES: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', ppc64le: 'ppc64le', s390x: 's390x' };

const partition = async (argv: string[]) => {
  const { values } = parseArgs({
    args: argv,
    options: { device: { type: 'string' }, size: { type: 'string' }, label: { type: 'string' }, fs: { type: 'string' }, force: { type: 'boolean' }, print: { type: 'boolean' } },
  });
  if (!values.device) throw new PrestageInputError('--device', 'required (the whole disk, e.g. /dev/sdb)');
  if (!values.size) throw new PrestageInputError('--size', 'required (e.g. 100G)');
  const opts = { device: values.device, size: parseSize(values.size, '--size'), label: values.label, fs: values.fs as Filesystem | undefined, force: values.force };
  if (values.print) {
    process.stdout.write(partitionScript(opts));
    return;
  }
  const r = await createDataPartition({ ...opts, run: runCommand, exists: pathExists, onLog: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`created ${r.partition} (partition ${r.number} of ${r.device}, GPT name ${r.label}, ${r.fs}, ${r.bytes} bytes) at the end of the disk\n`);
};

const creds = (u: string | undefined) => {
  if (u === undefined) return undefined;
  const i = u.indexOf(':');
  if (i < 0) throw new PrestageInputError('-u', 'expects user:password');
  return { username: u.slice(0, i), password: u.slice(i + 1) };
};

const readInput = async (file: string, flag: string) => {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new PrestageInputError(flag, `cannot read ${file}: ${(err as Error).message}`);
  }
};

const download = async (argv: string[]) => {
  const { values } = parseArgs({
    args: argv,
    options: {
      registry: { type: 'string' },
      to: { type: 'string' },
      'ai-images': { type: 'string' },
      'ocp-images': { type: 'string' },
      imageset: { type: 'string' },
      release: { type: 'string' },
      parallel: { type: 'string', short: 'p' },
      'rm-stale': { type: 'boolean' },
      'plain-http': { type: 'boolean' },
      user: { type: 'string', short: 'u' },
      'gzip-level': { type: 'string' },
      arch: { type: 'string' },
    },
  });
  if (!values.registry) throw new PrestageInputError('--registry', "required: reef's registry as host:port");
  if (!values.to) throw new PrestageInputError('--to', 'required: the directory to fill (the mounted data partition)');
  if (!values['ai-images'] && !values['ocp-images'] && !values.imageset && !values.release) {
    throw new PrestageInputError('--ai-images', 'no images: give --ai-images, --ocp-images, --imageset or --release');
  }
  const m = /^(https?):\/\/([^/]+)\/?$/.exec(values.registry);
  const registry = m ? m[2]! : values.registry;
  if (!/^[A-Za-z0-9.[\]:-]+$/.test(registry)) throw new PrestageInputError('--registry', `${JSON.stringify(values.registry)} is not host:port (or http(s)://host:port)`);
  const parallel = values.parallel === undefined ? undefined : Number(values.parallel);
  if (parallel !== undefined && (!Number.isInteger(parallel) || parallel < 1 || parallel > 256)) throw new PrestageInputError('-p', `${JSON.stringify(values.parallel)} is not a number of images from 1 to 256`);
  const g = values['gzip-level'] ?? 'auto';
  if (g !== 'auto' && !/^[0-9]$/.test(g)) throw new PrestageInputError('--gzip-level', `${JSON.stringify(g)} is not auto or 0-9`);
  const gzipLevel: GzipLevel = g === 'auto' ? 'auto' : Number(g);
  const archName = values.arch ?? 'amd64';
  const arch = ARCHES[archName];
  if (!arch) throw new PrestageInputError('--arch', `${JSON.stringify(archName)} is not one of ${Object.keys(ARCHES).join(', ')}`);

  const list = async (flag: string, file: string | undefined) => (file ? parseImageList(await readInput(file, flag), flag) : undefined);
  const aiImages = await list('--ai-images', values['ai-images']);
  const ocpImages = await list('--ocp-images', values['ocp-images']);
  const imageset = values.imageset ? parseImageSet(await readInput(values.imageset, '--imageset')) : undefined;

  const view = createPrecacheView(process.stdout, process.stderr);
  const abort = new AbortController();
  const stop = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const summary = await precacheDownload({
      registry,
      plainHttp: m ? m[1] === 'http' : values['plain-http'],
      auth: creds(values.user),
      to: values.to,
      aiImages,
      ocpImages,
      imageset,
      release: values.release,
      parallel,
      rmStale: values['rm-stale'],
      gzipLevel,
      platform: { os: 'linux', architecture: archName },
      arch,
      onProgress: view.onProgress,
      signal: abort.signal,
    });
    view.summary(summary);
    if (summary.failed.length > 0) process.exitCode = 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
};

/** `reef prestage partition|download …`: sets the exit status (see PRESTAGE_HELP) instead of throwing. */
export const prestageCommand = async (argv: string[]): Promise<void> => {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'partition') return await partition(rest);
    if (sub === 'download') return await download(rest);
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      process.stdout.write(PRESTAGE_HELP);
      return;
    }
    throw new UsageError(`unknown prestage command ${JSON.stringify(sub)}`);
  } catch (err) {
    const syntax = err instanceof UsageError || !!(err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`reef prestage${sub ? ` ${sub}` : ''}: ${(err as Error).message}\n${syntax ? `\n${PRESTAGE_HELP}` : ''}`);
    process.exitCode = syntax || err instanceof PrestageInputError ? 2 : err instanceof DiskRefusedError ? 3 : 1;
  }
};
