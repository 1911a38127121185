import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, countSetting, durationSetting, flagSetting, optionalTextSetting, type ParsedSettings } from '../core/settings.js';

/** The embedded registry's settings; they keep the names of the Shoal registry docs. */
export const REGISTRY_SETTINGS = {
  ENABLE_REGISTRY: flagSetting(true),
  REGISTRY_STORAGE: optionalTextSetting,
  REGISTRY_AUTH_MODE: z.enum(['none', 'basic', 'htpasswd', 'token']).default('none'),
  REGISTRY_HTPASSWD_FILE: optionalTextSetting,
  REGISTRY_USERNAME: optionalTextSetting,
  REGISTRY_PASSWORD: optionalTextSetting,
  REGISTRY_ANONYMOUS_PULL: flagSetting(false),
  REGISTRY_GC_INTERVAL: durationSetting('1h'),
  REGISTRY_GC_GRACE_PERIOD: durationSetting('24h'),
  REGISTRY_SCRUB_INTERVAL: durationSetting('0s'),
  REGISTRY_SCRUB_RATE: countSetting(50 * 1024 * 1024),
  REGISTRY_MAX_CONCURRENT_UPLOADS: countSetting(8),
  REGISTRY_UPLOAD_TIMEOUT: durationSetting('1h'),
  REGISTRY_UPLOAD_STALL: durationSetting('30s'),
  REGISTRY_DOWNLOAD_TIMEOUT: durationSetting('30m'),
} as const;

type RegistrySettings = ParsedSettings<typeof REGISTRY_SETTINGS>;

export interface RegistryConfig {
  enabled: boolean;
  storage: string;
  auth:
    | { mode: 'none' }
    | { mode: 'basic'; username: string; password: string; anonymousPull: boolean }
    | { mode: 'htpasswd'; file: string; anonymousPull: boolean }
    /** reef's API tokens as registry logins: user = token name, password = token; push and delete need `operator`. */
    | { mode: 'token'; anonymousPull: boolean };
  gcIntervalMs: number;
  gcGraceMs: number;
  /** Re-hash every stored blob this often (REGISTRY_SCRUB_INTERVAL; 0 = only when asked). */
  scrubIntervalMs: number;
  /** Bytes per second a scrub reads at most (REGISTRY_SCRUB_RATE), leaving the disk to pulls. */
  scrubBytesPerSecond: number;
  maxConcurrentUploads: number;
  uploadTimeoutMs: number;
  /** An upload request that receives under 1 KiB in this long is cut, freeing its slot (REGISTRY_UPLOAD_STALL; 0 = never). */
  uploadStallMs: number;
  downloadTimeoutMs: number;
}

const registryAuth = (s: RegistrySettings): RegistryConfig['auth'] => {
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
    case 'token':
      return { mode: 'token', anonymousPull: s.REGISTRY_ANONYMOUS_PULL };
  }
};

/** The registry's config from its parsed settings; storage defaults to `<data dir>/registry`. */
export const registryConfig = (s: RegistrySettings, dataDir: string): RegistryConfig => ({
  enabled: s.ENABLE_REGISTRY,
  storage: resolve(s.REGISTRY_STORAGE ?? join(dataDir, 'registry')),
  auth: registryAuth(s),
  gcIntervalMs: s.REGISTRY_GC_INTERVAL,
  gcGraceMs: s.REGISTRY_GC_GRACE_PERIOD,
  scrubIntervalMs: s.REGISTRY_SCRUB_INTERVAL,
  scrubBytesPerSecond: Math.max(1024 * 1024, s.REGISTRY_SCRUB_RATE),
  maxConcurrentUploads: Math.max(1, s.REGISTRY_MAX_CONCURRENT_UPLOADS),
  uploadTimeoutMs: s.REGISTRY_UPLOAD_TIMEOUT,
  uploadStallMs: s.REGISTRY_UPLOAD_STALL,
  downloadTimeoutMs: s.REGISTRY_DOWNLOAD_TIMEOUT,
});
