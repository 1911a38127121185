import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadAuthFile } from '../registry/client/auth-file.js';
import { diskToRegistry } from './disk-to-registry.js';
import { MirrorInputError } from './errors.js';
import { type FlowOptions, type FlowResult, type MirrorEvents, mirrorToDisk, mirrorToRegistry } from './flows.js';
import { MIRROR_USAGE, MirrorUsageError, parseMirrorArgs } from './cli-args.js';
import { parseImageSetConfiguration } from './imageset.js';
import { updateGraphUrl } from './release-graph.js';
import { createClientPool } from './sources.js';

const fmtBytes = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);

/** A bar on a terminal (images, bytes, rate, ETA by images), JSON lines otherwise; warnings and failures always on their own line. */
const createEvents = (tty: boolean, write: (line: string) => void, level: string): MirrorEvents & { summary(r: FlowResult, secs: number): void } => {
  let bytes = 0;
  let done = 0;
  let total = 0;
  const t0 = Date.now();
  let drawn = 0;
  const line = (level: string, message: string, fields: Record<string, unknown> = {}) => {
    if (tty) process.stderr.write(`\r\x1b[K${level === 'info' ? '' : `${level}: `}${message}\n`);
    else write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }));
  };
  const bar = () => {
    if (!tty || Date.now() - drawn < 200) return;
    drawn = Date.now();
    const secs = (Date.now() - t0) / 1000;
    const rate = bytes / Math.max(secs, 0.001);
    const eta = done > 0 && total > done ? ` ETA ${Math.round((secs / done) * (total - done))} s` : '';
    process.stderr.write(`\r\x1b[Kimages ${done}/${total}  ${fmtBytes(bytes)}  ${fmtBytes(rate)}/s${eta}`);
  };
  return {
    info: (m, f) => level === 'debug' || level === 'info' ? line('info', m, f) : undefined,
    warn: (m, f) => (level === 'error' ? undefined : line('warn', m, f)),
    image(d) {
      done = d.index;
      total = d.total;
      if (!d.ok) line('error', `${d.ref}: ${d.error}`, { image: d.ref });
      else if (!tty && (level === 'debug' || level === 'info')) write(JSON.stringify({ time: new Date().toISOString(), level: 'info', message: 'image mirrored', image: d.ref, done: d.index, total: d.total, bytes }));
      bar();
    },
    bytes(n) {
      bytes += n;
      bar();
    },
    summary(r, secs) {
      const text = `${r.images - r.failed.length} of ${r.images} images in ${secs.toFixed(1)} s, ${fmtBytes(bytes)}${r.failed.length ? `; ${r.failed.length} failed` : ''}`;
      line(r.failed.length ? 'error' : 'info', text, { images: r.images, failed: r.failed.length, bytes, seconds: secs, outputs: r.outputs });
      for (const f of r.failed) line('error', `failed: ${f.ref}: ${f.error}`);
      for (const o of r.outputs) line('info', `wrote ${o}`);
    },
  };
};

/**
 * `reef mirror`: oc-mirror v2's three flows. Exit 0 all done, 1 an image failed (the rest landed;
 * each named), 2 a bad flag or ImageSetConfiguration field (named).
 */
export const mirrorCommand = async (argv: string[], env: Record<string, string | undefined>): Promise<void> => {
  let args;
  let isc;
  let iscText: string;
  try {
    args = parseMirrorArgs(argv);
    iscText = await readFile(args.config, 'utf8').catch((err: Error) => {
      throw new MirrorUsageError(`-c ${args!.config}: ${err.message}`);
    });
    isc = parseImageSetConfiguration(iscText);
  } catch (err) {
    if (err instanceof MirrorUsageError || err instanceof MirrorInputError) {
      process.stderr.write(`reef mirror: ${err.message}\n${err instanceof MirrorUsageError ? `${MIRROR_USAGE}\n` : ''}`);
      process.exit(2);
    }
    throw err;
  }
  const events = createEvents(!!process.stderr.isTTY, (l) => process.stdout.write(`${l}\n`), args.logLevel);
  const authFile = await loadAuthFile(args.authfile, { xdgRuntimeDir: env.XDG_RUNTIME_DIR, home: env.HOME });
  const retry = { retries: args.retryTimes, retryDelayMs: args.retryDelayMs, onRetry: (e: { what: string; attempt: number; reason: string }) => events.info(`retry ${e.attempt} of ${e.what}: ${e.reason}`) };
  const src = createClientPool({ authFile, tlsVerify: args.srcTlsVerify, ...retry });
  const dst = createClientPool({ authFile, tlsVerify: args.destTlsVerify, ...retry });
  // Source registries are read with the source's TLS setting, the destination with its own.
  const clients = (registry: string) => (args.destination.kind === 'registry' && registry === args.destination.registry ? dst(registry) : src(registry));
  const o: FlowOptions = {
    isc,
    iscText,
    clients,
    parallelImages: args.parallelImages,
    parallelLayers: args.parallelLayers,
    imageTimeoutMs: args.imageTimeoutMs,
    dryRun: args.dryRun,
    continueOnError: args.continueOnError,
    since: args.since ? new Date(args.since) : undefined,
    graph: { url: updateGraphUrl(env), fetch: (url, init) => fetch(url, init) },
    events,
    now: () => new Date(),
  };
  const t0 = Date.now();
  let result: FlowResult;
  if (args.from !== undefined && args.destination.kind === 'registry') {
    result = await diskToRegistry({ clients, events, now: o.now }, resolve(args.from), args.destination, join(resolve(args.from), 'working-dir'));
  } else if (args.destination.kind === 'registry') {
    result = await mirrorToRegistry(o, args.destination, join(resolve(args.workspace ?? '.'), 'working-dir'));
  } else {
    result = await mirrorToDisk(o, resolve(args.destination.dir));
  }
  events.summary(result, (Date.now() - t0) / 1000);
  if (result.failed.length) process.exitCode = 1;
};
