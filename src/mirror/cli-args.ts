import { parseDuration } from '../core/durations.js';

/** `reef mirror` arguments and flags, in oc-mirror v2's shape (its seed examples run as printed). */
export interface MirrorArgs {
  config: string;
  /** mirror-to-registry and disk-to-registry: `docker://<registry>[/<ns>]`; mirror-to-disk: `file://<dir>`. */
  destination: { kind: 'registry'; registry: string; namespace: string } | { kind: 'disk'; dir: string };
  /** disk-to-registry: `--from file://<dir>`. */
  from: string | undefined;
  /** mirror-to-registry's working dir (`--workspace file://<dir>`); else the destination dir or a default. */
  workspace: string | undefined;
  cacheDir: string | undefined;
  parallelImages: number;
  parallelLayers: number;
  retryTimes: number;
  retryDelayMs: number;
  imageTimeoutMs: number;
  dryRun: boolean;
  since: string | undefined;
  authfile: string | undefined;
  srcTlsVerify: boolean;
  destTlsVerify: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  continueOnError: boolean;
}

/** A bad flag or argument: `reef mirror` exits 2 with this message, which names it. */
export class MirrorUsageError extends Error {}

const VALUE_FLAGS = new Set(['config', 'from', 'workspace', 'cache-dir', 'parallel-images', 'parallel-layers', 'retry-times', 'retry-delay', 'image-timeout', 'since', 'authfile', 'src-tls-verify', 'dest-tls-verify', 'log-level']);
const BOOL_FLAGS = new Set(['dry-run', 'continue-on-error', 'v2', 'verbose']);
/** Boolean flags that also take `=true|false`, as oc-mirror's examples write them. */
const TLS_FLAGS = new Set(['src-tls-verify', 'dest-tls-verify']);

const count = (flag: string, text: string, min: number): number => {
  if (!/^\d+$/.test(text) || Number(text) < min) throw new MirrorUsageError(`--${flag}: expected a whole number ≥ ${min}, got ${JSON.stringify(text)}`);
  return Number(text);
};
const duration = (flag: string, text: string): number => {
  const ms = parseDuration(text);
  if (ms === undefined) throw new MirrorUsageError(`--${flag}: expected a duration such as 30s, 10m or 1h, got ${JSON.stringify(text)}`);
  return ms;
};
const bool = (flag: string, text: string): boolean => {
  if (text !== 'true' && text !== 'false') throw new MirrorUsageError(`--${flag}: expected true or false, got ${JSON.stringify(text)}`);
  return text === 'true';
};
const fileUrl = (flag: string, text: string): string => {
  const m = /^file:\/\/(.+)$/.exec(text);
  if (!m) throw new MirrorUsageError(`${flag}: expected file://<directory>, got ${JSON.stringify(text)}`);
  return m[1]!;
};

export const MIRROR_USAGE = `usage:
  reef mirror -c isc.yaml docker://<registry>[/<namespace>] [--workspace file://<dir>]   mirror to a registry
  reef mirror -c isc.yaml file://<dir>                                                mirror to disk (archives)
  reef mirror -c isc.yaml --from file://<dir> docker://<registry>[/<namespace>]        disk to registry (offline)
flags: --parallel-images N (4) --parallel-layers N (5) --retry-times N (5) --retry-delay D (1s)
       --image-timeout D (10m) --dry-run --since <RFC3339|YYYY-MM-DD> --authfile F
       --src-tls-verify=true|false --dest-tls-verify=true|false --log-level debug|info|warn|error
       --continue-on-error --cache-dir DIR (accepted; reef keeps its cache in the working dir) --v2 (accepted)`;

/** Parses `reef mirror` argv; throws MirrorUsageError naming the flag or argument at fault. */
export const parseMirrorArgs = (argv: string[]): MirrorArgs => {
  const values = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-c') {
      const v = argv[++i];
      if (v === undefined) throw new MirrorUsageError('-c: needs the ImageSetConfiguration file');
      values.set('config', v);
      continue;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    if (BOOL_FLAGS.has(name)) {
      values.set(name, inline === undefined ? 'true' : String(bool(name, inline)));
    } else if (TLS_FLAGS.has(name) && inline === undefined && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('-') || !/^(true|false)$/.test(argv[i + 1]!))) {
      values.set(name, 'true');
    } else if (VALUE_FLAGS.has(name)) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new MirrorUsageError(`--${name}: needs a value`);
      values.set(name, v);
    } else {
      throw new MirrorUsageError(`unknown flag --${name}`);
    }
  }
  const config = values.get('config');
  if (!config) throw new MirrorUsageError('-c/--config: the ImageSetConfiguration file is required');
  if (positionals.length !== 1) throw new MirrorUsageError(`expected one destination (docker://… or file://…), got ${positionals.length ? positionals.map((p) => JSON.stringify(p)).join(' ') : 'none'}`);
  const dest = positionals[0]!;
  let destination: MirrorArgs['destination'];
  const docker = /^docker:\/\/([^/]+)(?:\/(.*?))?\/*$/.exec(dest);
  if (docker) destination = { kind: 'registry', registry: docker[1]!, namespace: docker[2] ?? '' };
  else if (dest.startsWith('file://')) destination = { kind: 'disk', dir: fileUrl('destination', dest) };
  else throw new MirrorUsageError(`destination: expected docker://<registry>[/<namespace>] or file://<dir>, got ${JSON.stringify(dest)}`);
  const from = values.has('from') ? fileUrl('--from', values.get('from')!) : undefined;
  if (from !== undefined && destination.kind !== 'registry') throw new MirrorUsageError('--from: disk-to-registry needs a docker:// destination');
  const since = values.get('since');
  if (since !== undefined && Number.isNaN(Date.parse(since))) throw new MirrorUsageError(`--since: expected a date such as 2026-12-01 or an RFC 3339 time, got ${JSON.stringify(since)}`);
  const logLevel = values.get('log-level') ?? (values.get('verbose') === 'true' ? 'debug' : 'info');
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new MirrorUsageError(`--log-level: expected debug, info, warn or error, got ${JSON.stringify(logLevel)}`);
  return {
    config,
    destination,
    from,
    workspace: values.has('workspace') ? fileUrl('--workspace', values.get('workspace')!) : undefined,
    cacheDir: values.get('cache-dir'),
    parallelImages: count('parallel-images', values.get('parallel-images') ?? '4', 1),
    parallelLayers: count('parallel-layers', values.get('parallel-layers') ?? '5', 1),
    retryTimes: count('retry-times', values.get('retry-times') ?? '5', 0),
    retryDelayMs: duration('retry-delay', values.get('retry-delay') ?? '1s'),
    imageTimeoutMs: duration('image-timeout', values.get('image-timeout') ?? '10m'),
    dryRun: values.get('dry-run') === 'true',
    since,
    authfile: values.get('authfile'),
    srcTlsVerify: bool('src-tls-verify', values.get('src-tls-verify') ?? 'true'),
    destTlsVerify: bool('dest-tls-verify', values.get('dest-tls-verify') ?? 'true'),
    logLevel: logLevel as MirrorArgs['logLevel'],
    continueOnError: values.get('continue-on-error') === 'true',
  };
};
