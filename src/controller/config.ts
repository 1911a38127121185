import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { z } from 'zod';
import { parseDuration } from './durations.js';

/**
 * The one place that reads settings. Each setting has an environment name; the optional YAML
 * file named by REEF_CONFIG holds the same settings, keyed by that name or by its short form
 * (`listen`, `data_dir`, ...). The environment wins over the file.
 */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `not a duration like 30s, 15m, 24h or 14d: ${JSON.stringify(text)}` });
        return z.NEVER;
      }
      return ms;
    });

const listen = z
  .string()
  .default('0.0.0.0:8080')
  .transform((text, ctx) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/.exec(text);
    const port = m ? Number(m[2]) : Number.NaN;
    if (!m || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `expected host:port (e.g. 0.0.0.0:8080), got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    const host = m[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0';
    return { host, port };
  });

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL')
  .transform((u) => u.replace(/\/+$/, ''));

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));


const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const count = (fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .default(String(fallback))
    .transform(Number);

const SETTINGS = {
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
  REEF_MAX_BODY: z
    .string()
    .regex(/^\d+$/, 'must be a number of bytes')
    .default(String(1024 * 1024))
    .transform(Number),
  REEF_SHUTDOWN_GRACE: duration('10s'),
  REEF_JOB_TIMEOUT: duration('2h'),
  // The embedded registry keeps the names of the Shoal registry docs.
  ENABLE_REGISTRY: flag(true),
  REGISTRY_STORAGE: optionalText,
  REGISTRY_AUTH_MODE: z.enum(['none', 'basic', 'htpasswd']).default('none'),
  REGISTRY_HTPASSWD_FILE: optionalText,
  REGISTRY_USERNAME: optionalText,
  REGISTRY_PASSWORD: optionalText,
  REGISTRY_ANONYMOUS_PULL: flag(false),
  REGISTRY_GC_INTERVAL: duration('1h'),
  REGISTRY_GC_GRACE_PERIOD: duration('24h'),
  REGISTRY_MAX_CONCURRENT_UPLOADS: count(8),
  REGISTRY_UPLOAD_TIMEOUT: duration('1h'),
  REGISTRY_DOWNLOAD_TIMEOUT: duration('30m'),
} as const;

type SettingName = keyof typeof SETTINGS;
const NAMES = Object.keys(SETTINGS) as SettingName[];
const shortName = (name: string): string => name.replace(/^REEF_/, '').toLowerCase();


export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const settingsSchema = z.object(SETTINGS);
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
  /** An active job with no report for this long fails (REEF_JOB_TIMEOUT). */
  jobTimeoutMs: number;
  boot: { kernel?: string; initrd?: string; cmdline: string; iso?: string };
  maxBodyBytes: number;
  shutdownGraceMs: number;
  configFile: string | undefined;
  registry: RegistryConfig;
}

export interface RegistryConfig {
  enabled: boolean;
  storage: string;
  auth:
    | { mode: 'none' }
    | { mode: 'basic'; username: string; password: string; anonymousPull: boolean }
    | { mode: 'htpasswd'; file: string; anonymousPull: boolean };
  gcIntervalMs: number;
  gcGraceMs: number;
  maxConcurrentUploads: number;
  uploadTimeoutMs: number;
  downloadTimeoutMs: number;
}

const registryAuth = (s: Parsed): RegistryConfig['auth'] => {
  switch (s.REGISTRY_AUTH_MODE) {
    case 'none':
      return { mode: 'none' };
    case 'basic':
      if (!s.REGISTRY_USERNAME || !s.REGISTRY_PASSWORD) {
        throw new ConfigError('REGISTRY_AUTH_MODE: basic needs REGISTRY_USERNAME and REGISTRY_PASSWORD');
      }
      return { mode: 'basic', username: s.REGISTRY_USERNAME, password: s.REGISTRY_PASSWORD, anonymousPull: s.REGISTRY_ANONYMOUS_PULL };
    case 'htpasswd':
      if (!s.REGISTRY_HTPASSWD_FILE) throw new ConfigError('REGISTRY_HTPASSWD_FILE: required when REGISTRY_AUTH_MODE=htpasswd');
      if (!existsSync(s.REGISTRY_HTPASSWD_FILE)) throw new ConfigError(`REGISTRY_HTPASSWD_FILE: ${s.REGISTRY_HTPASSWD_FILE} does not exist`);
      return { mode: 'htpasswd', file: s.REGISTRY_HTPASSWD_FILE, anonymousPull: s.REGISTRY_ANONYMOUS_PULL };
  }
};

const readConfigFile = (file: string): Record<string, string> => {
  let doc: unknown;
  try {
    doc = yaml.load(readFileSync(file, 'utf8'), { schema: yaml.JSON_SCHEMA });
  } catch (err) {
    throw new ConfigError(`REEF_CONFIG: cannot read ${file}: ${(err as Error).message}`);
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(`REEF_CONFIG: ${file} must hold a mapping of settings`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc)) {
    const name = NAMES.find((n) => n === key || shortName(n) === key);
    if (!name) throw new ConfigError(`REEF_CONFIG: unknown setting ${JSON.stringify(key)} in ${file}`);
    if (value === null || typeof value === 'object') {
      throw new ConfigError(`${name}: in ${file} must be a scalar value`);
    }
    out[name] = String(value);
  }
  return out;
};

export const defaultPublicUrl = (host: string, port: number): string => {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const shown = reachable.includes(':') ? `[${reachable}]` : reachable;
  return `http://${shown}:${port}`;
};

/** Parses the environment (and the file it names) into a Config, or throws ConfigError naming the setting. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const configFile = env.REEF_CONFIG?.trim() || undefined;
  const raw: Record<string, string> = configFile ? readConfigFile(configFile) : {};
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
    boot: {
      ...(s.REEF_BOOT_KERNEL ? { kernel: s.REEF_BOOT_KERNEL } : {}),
      ...(s.REEF_BOOT_INITRD ? { initrd: s.REEF_BOOT_INITRD } : {}),
      cmdline: s.REEF_BOOT_CMDLINE,
      ...(s.REEF_BOOT_ISO ? { iso: s.REEF_BOOT_ISO } : {}),
    },
    maxBodyBytes: s.REEF_MAX_BODY,
    shutdownGraceMs: s.REEF_SHUTDOWN_GRACE,
    configFile,
    registry: {
      enabled: s.ENABLE_REGISTRY,
      storage: resolve(s.REGISTRY_STORAGE ?? join(s.REEF_DATA_DIR, 'registry')),
      auth: registryAuth(s),
      gcIntervalMs: s.REGISTRY_GC_INTERVAL,
      gcGraceMs: s.REGISTRY_GC_GRACE_PERIOD,
      maxConcurrentUploads: Math.max(1, s.REGISTRY_MAX_CONCURRENT_UPLOADS),
      uploadTimeoutMs: s.REGISTRY_UPLOAD_TIMEOUT,
      downloadTimeoutMs: s.REGISTRY_DOWNLOAD_TIMEOUT,
    },
  };
};
