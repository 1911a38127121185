/**
 * `reef ignition discovery|pointer|assisted|siteconfig [flags]` and `reef ignition validate <file>`.
 * Exit status: 0 done, 1 the config given to `validate` is invalid, 2 bad usage (the message
 * names the flag).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DomainError } from '../core/errors.js';
import { assistedPatchBodies, siteConfigSnippets } from './overrides/assisted.js';
import { CLI_NAMES, parseOverrideOptions, withFieldNames } from './overrides/options.js';
import { buildOverrideFor } from './overrides/overrides.js';
import { readLoaderScript } from './precache/loader-script.js';
import { IGNITION_HELP } from './cli-help.js';
import { formatIssues, validateIgnitionText } from './validate.js';


class UsageError extends Error {}

const OPTIONS = {
  label: { type: 'string' },
  version: { type: 'string' },
  'images-dir': { type: 'string' },
  'ssh-key': { type: 'string', multiple: true },
  'ssh-key-file': { type: 'string', multiple: true },
} as const;

/** Keys of an authorized_keys-style file: one per line, blank lines and # comments skipped. */
const keysFromFile = (file: string): string[] => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--ssh-key-file: cannot read ${file}: ${(err as Error).message}`);
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
};

const parse = (argv: string[], positionals: boolean) => {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: positionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
};

const overrideOptions = (argv: string[]) => {
  const { values } = parse(argv, false);
  const sshKeys = [...(values['ssh-key'] ?? []), ...(values['ssh-key-file'] ?? []).flatMap(keysFromFile)];
  return parseOverrideOptions({ label: values.label, version: values.version, imagesDir: values['images-dir'], sshKeys });
};

const generate = (sub: string, argv: string[]): string => {
  const loader = readLoaderScript();
  return withFieldNames(CLI_NAMES, () => {
    const opts = overrideOptions(argv);
    switch (sub) {
      case 'discovery':
      case 'pointer':
        return `${JSON.stringify(buildOverrideFor(sub, opts, loader), null, 2)}\n`;
      case 'assisted':
        return `${JSON.stringify(assistedPatchBodies(opts, loader), null, 2)}\n`;
      default:
        return siteConfigSnippets(opts, loader);
    }
  });
};

const validate = (argv: string[]): number => {
  const { positionals } = parse(argv, true);
  if (positionals.length !== 1) throw new UsageError('usage: reef ignition validate <file|->');
  const file = positionals[0]!;
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const issues = validateIgnitionText(text);
  if (issues.length === 0) {
    const version = (JSON.parse(text) as { ignition: { version: string } }).ignition.version;
    process.stdout.write(`${file}: valid Ignition ${version} config\n`);
    return 0;
  }
  process.stderr.write(`${file}: ${issues.length} problem${issues.length > 1 ? 's' : ''}\n${formatIssues(issues)}\n`);
  return 1;
};

const run = (argv: string[]): number => {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'discovery':
    case 'pointer':
    case 'assisted':
    case 'siteconfig':
      process.stdout.write(generate(sub, rest));
      return 0;
    case 'validate':
      return validate(rest);
    case undefined:
    case '--help':
    case '-h':
      process.stdout.write(`Usage:\n${IGNITION_HELP}`);
      return sub === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown ignition command ${JSON.stringify(sub)} (discovery, pointer, assisted, siteconfig, validate)`);
  }
};

/** Entry point of `reef ignition …`; sets process.exitCode. */
export const ignitionCommand = async (argv: string[]): Promise<void> => {
  try {
    process.exitCode = run(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`reef ignition: ${err.message}\n`);
    } else if (err instanceof DomainError && err.code === 'VALIDATION_FAILED') {
      process.stderr.write(`reef ignition: ${err.details.map((d) => `${d.path}: ${d.message}`).join('\n  ')}\n`);
    } else {
      throw err;
    }
    process.exitCode = 2;
  }
};
