import { existsSync, readFileSync } from 'node:fs';
import cron from 'node-cron';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { z } from 'zod';
import { ConfigError, countSetting, durationSetting as duration, optionalTextSetting as optionalText } from '../core/settings.js';
import { type RegistryConfig, REGISTRY_SETTINGS, registryConfig } from '../registry/config.js';
import { DEFAULT_DISCOVER_SCHEDULE, type ReleasesConfig, releasesSectionSchema } from '../releases/release-config.js';
import { zodIssues } from '../core/zod-issues.js';

export { ConfigError };

/**
 * The one place that reads settings. Each setting has an environment name; the optional YAML
 * file named by REEF_CONFIG holds the same settings, keyed by that name or by its short form
 * (`listen`, `data_dir`, ...). The environment wins over the file.
 */
const hostPort = z.string().transform((text, ctx) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `expected host:port (e.g. 0.0.0.0:8080), got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  const host = m[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port };
});
const listen = z.string().default('0.0.0.0:8080').pipe(hostPort);

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL')
  .transform((u) => u.replace(/\/+$/, ''));

const SERVER_SETTINGS = {
  REEF_LISTEN: listen,
  REEF_DATA_DIR: z.string().min(1).default('./data'),
  REEF_PUBLIC_URL: httpUrl.optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  REEF_MEDIA_SIGNING_SECRET: optionalText,
  REEF_MEDIA_URL_TTL: duration('24h'),
  REEF_MEDIA_RETENTION: duration('14d'),
  REEF_MEDIA_CLEANUP_SCHEDULE: z.string().default('17 * * * *'),
  REEF_WEBHOOK_SECRET: optionalText,
  REEF_BOOT_KERNEL: optionalText,
  REEF_BOOT_INITRD: optionalText,
  REEF_BOOT_CMDLINE: z.string().default(''),
  REEF_BOOT_ISO: optionalText,
  REEF_BOOT_DIR: optionalText,
  REEF_MAX_BODY: z
    .string()
    .regex(/^\d+$/, 'must be a number of bytes')
    .default(String(1024 * 1024))
    .transform(Number),
  REEF_SHUTDOWN_GRACE: duration('10s'),
  REEF_BODY_TIMEOUT: duration('30s'),
  REEF_JOB_TIMEOUT: duration('2h'),
  REEF_JOB_MAX_EVENTS: countSetting(10_000),
  REEF_SPACE_RESERVE: countSetting(16 * 1024 * 1024),
  REEF_API_AUTH: z.enum(['token', 'local', 'none']).default('local'),
  REEF_METRICS_AUTH: z.enum(['open', 'token']).default('open'),
  REEF_AUTH_FAILURES: countSetting(30),
  /** How long a web UI sign-in lasts (the token's own expiry and revocation end it sooner). */
  REEF_UI_SESSION_TTL: duration('12h'),
  /** How often a job page's live stream looks for new events. */
  REEF_UI_STREAM_POLL: duration('500ms'),
  REEF_TLS: z.enum(['off', 'auto']).default('off'),
  REEF_TLS_CERT: optionalText,
  REEF_TLS_KEY: optionalText,
  REEF_BOOT_LISTEN: hostPort.optional(),
  REEF_MIRROR_ISC: optionalText,
  REEF_MIRROR_SCHEDULE: optionalText,
  REEF_MIRROR_UPSTREAM_AUTHFILE: optionalText,
  /** Addresses of reverse proxies whose X-Forwarded-For is believed (download records); comma-separated. */
  REEF_TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((a) => a.trim()).filter(Boolean))
    .pipe(z.array(z.union([z.ipv4(), z.ipv6()], { message: 'must be a comma-separated list of IP addresses' }))),
} as const;

/** Every setting reef reads: the server's own, then each area's (one schema, one parse). */
const ALL_SETTINGS = { ...SERVER_SETTINGS, ...REGISTRY_SETTINGS } as const;

type SettingName = keyof typeof ALL_SETTINGS;
const NAMES = Object.keys(ALL_SETTINGS) as SettingName[];
const shortName = (name: string): string => name.replace(/^REEF_/, '').toLowerCase();

const settingsSchema = z.object(ALL_SETTINGS);
type Parsed = z.infer<typeof settingsSchema>;

export interface Config {
  listen: { host: string; port: number };
  dataDir: string;
  /** URL machines use to reach reef, without a trailing slash. */
  publicUrl: string;
  /** Whether REEF_PUBLIC_URL was given (else it is derived from the bound address). */
  publicUrlSet: boolean;
  logLevel: Parsed['LOG_LEVEL'];
  media: {
    signingSecret: string | undefined;
    urlTtlMs: number;
    retentionMs: number;
    cleanupSchedule: string;
  };
  webhookSecret: string | undefined;
  /** Bytes held on the data disk (REEF_SPACE_RESERVE) so deletions and GC can run once it is full. */
  spaceReserveBytes: number;
  /** Events one job keeps (REEF_JOB_MAX_EVENTS); past it progress reports add none, a final status still does. */
  jobMaxEvents: number;
  /** An active job with no report for this long fails (REEF_JOB_TIMEOUT). */
  jobTimeoutMs: number;
  boot: { kernel?: string; initrd?: string; cmdline: string; iso?: string; /** REEF_BOOT_DIR: the maintenance OS served at /media/maintenance. */ dir: string };
  maxBodyBytes: number;
  /** A document or manifest body must arrive whole within this (REEF_BODY_TIMEOUT); else 408. */
  bodyTimeoutMs: number;
  shutdownGraceMs: number;
  configFile: string | undefined;
  registry: RegistryConfig;
  auth: {
    /** REEF_API_AUTH: `local` trusts loopback and demands a token from other addresses; `token` from everyone; `none` from nobody. */
    mode: 'token' | 'local' | 'none';
    metricsNeedToken: boolean;
    failuresPerMinute: number;
  };
  /** The web UI at /ui (REEF_UI_SESSION_TTL, REEF_UI_STREAM_POLL). */
  ui: { sessionTtlMs: number; streamPollMs: number };
  /** HTTPS on REEF_LISTEN: with a certificate made under `<data>/tls` (auto), or the PEM files given. */
  tls: { mode: 'off' } | { mode: 'auto'; dir: string } | { mode: 'files'; cert: string; key: string };
  /** A plain-HTTP listener for what stock iPXE fetches: boot scripts and media (REEF_BOOT_LISTEN). */
  bootListen: { host: string; port: number } | undefined;
  /** Release management (the `releases:` section of the REEF_CONFIG file), when enabled. */
  releases: ReleasesConfig | undefined;
  /** REEF_TRUSTED_PROXIES: peers whose X-Forwarded-For names the real client. */
  trustedProxies: string[];
  /** Hub → site sync into this reef's registry (REEF_MIRROR_ISC, _SCHEDULE, _UPSTREAM_AUTHFILE). */
  mirror: { isc: string; schedule: string | undefined; authfile: string | undefined; workingDir: string } | undefined;
}

const mirrorConfig = (s: Parsed, dataDir: string): Config['mirror'] => {
  if (!s.REEF_MIRROR_ISC) {
    if (s.REEF_MIRROR_SCHEDULE) throw new ConfigError('REEF_MIRROR_SCHEDULE: needs REEF_MIRROR_ISC, the ImageSetConfiguration to sync');
    return undefined;
  }
  if (!existsSync(s.REEF_MIRROR_ISC)) throw new ConfigError(`REEF_MIRROR_ISC: ${s.REEF_MIRROR_ISC} does not exist`);
  if (s.REEF_MIRROR_SCHEDULE && !cron.validate(s.REEF_MIRROR_SCHEDULE)) throw new ConfigError(`REEF_MIRROR_SCHEDULE: ${JSON.stringify(s.REEF_MIRROR_SCHEDULE)} is not a cron schedule`);
  if (s.REGISTRY_AUTH_MODE === 'htpasswd') throw new ConfigError('REEF_MIRROR_ISC: the sync cannot log in to a registry with REGISTRY_AUTH_MODE=htpasswd (no password to present); use token or basic');
  return { isc: resolve(s.REEF_MIRROR_ISC), schedule: s.REEF_MIRROR_SCHEDULE, authfile: s.REEF_MIRROR_UPSTREAM_AUTHFILE, workingDir: resolve(dataDir, 'mirror') };
};

const tlsConfig = (s: Parsed, dataDir: string): Config['tls'] => {
  if (s.REEF_TLS_CERT || s.REEF_TLS_KEY) {
    if (!s.REEF_TLS_CERT || !s.REEF_TLS_KEY) throw new ConfigError(`${s.REEF_TLS_CERT ? 'REEF_TLS_KEY' : 'REEF_TLS_CERT'}: required with ${s.REEF_TLS_CERT ? 'REEF_TLS_CERT' : 'REEF_TLS_KEY'}`);
    if (s.REEF_TLS === 'auto') throw new ConfigError('REEF_TLS: auto makes its own certificate; leave it unset when REEF_TLS_CERT and REEF_TLS_KEY are given');
    return { mode: 'files', cert: resolve(s.REEF_TLS_CERT), key: resolve(s.REEF_TLS_KEY) };
  }
  return s.REEF_TLS === 'auto' ? { mode: 'auto', dir: resolve(dataDir, 'tls') } : { mode: 'off' };
};

interface ConfigFile {
  settings: Record<string, string>;
  /** The `releases:` mapping as written (validated by releasesConfig). */
  releases: unknown;
}

const readConfigFile = (file: string): ConfigFile => {
  let doc: unknown;
  try {
    doc = yaml.load(readFileSync(file, 'utf8'), { schema: yaml.JSON_SCHEMA });
  } catch (err) {
    throw new ConfigError(`REEF_CONFIG: cannot read ${file}: ${(err as Error).message}`);
  }
  if (doc === undefined || doc === null) return { settings: {}, releases: undefined };
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(`REEF_CONFIG: ${file} must hold a mapping of settings`);
  }
  const out: Record<string, string> = {};
  let releases: unknown;
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'releases') {
      releases = value;
      continue;
    }
    const name = NAMES.find((n) => n === key || shortName(n) === key);
    if (!name) throw new ConfigError(`REEF_CONFIG: unknown setting ${JSON.stringify(key)} in ${file}`);
    if (value === null || typeof value === 'object') {
      throw new ConfigError(`${name}: in ${file} must be a scalar value`);
    }
    out[name] = String(value);
  }
  return { settings: out, releases };
};

/** The `releases:` section (FastRegistry's keys), checked; errors name the key (`releases.architectures[1]`). */
const releasesConfig = (section: unknown, s: Parsed, dataDir: string, file: string | undefined): ReleasesConfig | undefined => {
  if (section === undefined || section === null) return undefined;
  const parsed = releasesSectionSchema.safeParse(section);
  if (!parsed.success) throw new ConfigError(zodIssues(parsed.error, 'releases').map((i) => `${i.path}: ${i.message}${file ? ` (in ${file})` : ''}`).join('\n'));
  const r = parsed.data;
  if (!r.enabled) return undefined;
  if (!s.ENABLE_REGISTRY) throw new ConfigError('releases.enabled: releases are cloned into reef\'s own registry, which is off (ENABLE_REGISTRY=false)');
  if (s.REGISTRY_AUTH_MODE === 'htpasswd') throw new ConfigError('releases.enabled: the clone cannot log in to a registry with REGISTRY_AUTH_MODE=htpasswd (no password to present); use token or basic');
  if (r.pull_secret && !existsSync(r.pull_secret)) throw new ConfigError(`releases.pull_secret: ${r.pull_secret} does not exist`);
  const schedule = r.discover_schedule ?? (r.auto_discover ? DEFAULT_DISCOVER_SCHEDULE : undefined);
  if (r.discover_schedule && !cron.validate(r.discover_schedule)) throw new ConfigError(`releases.discover_schedule: ${JSON.stringify(r.discover_schedule)} is not a cron schedule`);
  const artifactPath = resolve(r.artifact_path ?? join(dataDir, 'releases'));
  for (const [key, file] of [['ssh_known_hosts', r.ssh_known_hosts], ['ssh_identity', r.ssh_identity]] as const) {
    if (file && !existsSync(file)) throw new ConfigError(`releases.${key}: ${file} does not exist`);
  }
  if (r.ssh_identity && !r.ssh_known_hosts) throw new ConfigError('releases.ssh_identity: needs releases.ssh_known_hosts (reef copies over scp only with host keys checked)');
  return {
    enabled: true,
    ...(r.pull_secret ? { pull_secret: resolve(r.pull_secret) } : {}),
    upstream: r.upstream,
    repository: r.repository,
    local_repo: r.local_repo,
    architectures: r.architectures,
    auto_discover: r.auto_discover,
    auto_extract: r.auto_extract,
    copy: {
      dirs: r.copy_dirs.map((d) => resolve(d)),
      ...(r.ssh_known_hosts ? { ssh: { knownHostsFile: resolve(r.ssh_known_hosts), ...(r.ssh_identity ? { identityFile: resolve(r.ssh_identity) } : {}) } } : {}),
    },
    parallel_images: r.parallel_images,
    parallel_layers: r.parallel_layers,
    retries: r.retries,
    artifactPath,
    installsPath: join(resolve(artifactPath, '..'), 'installs'),
    discoverSchedule: r.auto_discover ? schedule : undefined,
  };
};

export const defaultPublicUrl = (host: string, port: number, scheme: 'http' | 'https' = 'http'): string => {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const shown = reachable.includes(':') ? `[${reachable}]` : reachable;
  return `${scheme}://${shown}:${port}`;
};

/** Parses the environment (and the file it names) into a Config, or throws ConfigError naming the setting. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const configFile = env.REEF_CONFIG?.trim() || undefined;
  const file = configFile ? readConfigFile(configFile) : { settings: {}, releases: undefined };
  const raw: Record<string, string> = file.settings;
  for (const name of NAMES) {
    const value = env[name];
    if (value !== undefined) raw[name] = value;
  }
  const result = settingsSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `${String(issue.path[0] ?? 'config')}: ${issue.message}`);
    throw new ConfigError(lines.join('\n'));
  }
  const s = result.data;
  return {
    listen: s.REEF_LISTEN,
    dataDir: resolve(s.REEF_DATA_DIR),
    publicUrl: s.REEF_PUBLIC_URL ?? defaultPublicUrl(s.REEF_LISTEN.host, s.REEF_LISTEN.port),
    publicUrlSet: s.REEF_PUBLIC_URL !== undefined,
    logLevel: s.LOG_LEVEL,
    media: {
      signingSecret: s.REEF_MEDIA_SIGNING_SECRET,
      urlTtlMs: s.REEF_MEDIA_URL_TTL,
      retentionMs: s.REEF_MEDIA_RETENTION,
      cleanupSchedule: s.REEF_MEDIA_CLEANUP_SCHEDULE,
    },
    webhookSecret: s.REEF_WEBHOOK_SECRET,
    jobTimeoutMs: s.REEF_JOB_TIMEOUT,
    jobMaxEvents: Math.max(1, s.REEF_JOB_MAX_EVENTS),
    spaceReserveBytes: s.REEF_SPACE_RESERVE,
    boot: {
      ...(s.REEF_BOOT_KERNEL ? { kernel: s.REEF_BOOT_KERNEL } : {}),
      ...(s.REEF_BOOT_INITRD ? { initrd: s.REEF_BOOT_INITRD } : {}),
      cmdline: s.REEF_BOOT_CMDLINE,
      ...(s.REEF_BOOT_ISO ? { iso: s.REEF_BOOT_ISO } : {}),
      dir: resolve(s.REEF_BOOT_DIR ?? join(s.REEF_DATA_DIR, 'boot')),
    },
    maxBodyBytes: s.REEF_MAX_BODY,
    shutdownGraceMs: s.REEF_SHUTDOWN_GRACE,
    bodyTimeoutMs: s.REEF_BODY_TIMEOUT,
    configFile,
    registry: registryConfig(s, s.REEF_DATA_DIR),
    auth: { mode: s.REEF_API_AUTH, metricsNeedToken: s.REEF_METRICS_AUTH === 'token', failuresPerMinute: Math.max(1, s.REEF_AUTH_FAILURES) },
    ui: { sessionTtlMs: s.REEF_UI_SESSION_TTL, streamPollMs: Math.max(50, s.REEF_UI_STREAM_POLL) },
    tls: tlsConfig(s, s.REEF_DATA_DIR),
    bootListen: s.REEF_BOOT_LISTEN,
    mirror: mirrorConfig(s, s.REEF_DATA_DIR),
    releases: releasesConfig(file.releases, s, s.REEF_DATA_DIR, configFile),
    trustedProxies: s.REEF_TRUSTED_PROXIES,
  };
};
