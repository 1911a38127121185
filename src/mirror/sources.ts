import type { AuthFile } from '../registry/client/auth-file.js';
import { type ClientOptions, createOciClient, type OciClient } from '../registry/client/oci-client.js';
import type { RetryEvent } from '../registry/client/retry.js';

export interface SourceOptions {
  authFile: AuthFile | undefined;
  tlsVerify: boolean;
  retries: number;
  retryDelayMs: number;
  onRetry?: (e: RetryEvent) => void;
  /** Options for particular registries (the site's own registry: its CA, its login). */
  overrides?: Record<string, Partial<ClientOptions>>;
}

const isLoopbackHost = (registry: string) => /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(registry);

/** One client per registry host (its token cache and keep-alive connections shared by every image). */
export const createClientPool = (o: SourceOptions) => {
  const clients = new Map<string, OciClient>();
  return (registry: string): OciClient => {
    let c = clients.get(registry);
    if (!c) {
      c = createOciClient({
        registry,
        ...(o.authFile ? { authFile: o.authFile } : {}),
        // Off means HTTPS without verification, as skopeo's --tls-verify=false; a loopback registry speaks plain HTTP either way.
        ...(o.tlsVerify || isLoopbackHost(registry) ? {} : { tlsVerify: false }),
        retries: o.retries,
        retryDelayMs: o.retryDelayMs,
        ...(o.onRetry ? { onRetry: o.onRetry } : {}),
        ...o.overrides?.[registry],
      });
      clients.set(registry, c);
    }
    return c;
  };
};
export type ClientPool = ReturnType<typeof createClientPool>;
