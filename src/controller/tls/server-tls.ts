import { networkInterfaces, hostname } from 'node:os';
import type { Logger } from 'pino';
import { type LongTimer, setLongInterval } from '../../lib/long-timer.js';
import type { Config } from '../config.js';
import { ensureSiteTls, loadTlsFiles, type TlsMaterial } from './site-ca.js';

/** How often REEF_TLS=auto looks at its server certificate's expiry (it renews 30 days ahead). */
const RENEW_CHECK_MS = 12 * 3_600_000;

/** The names a server certificate made by reef covers: the public URL's host, the listen address (or every interface's for a wildcard), the box's name, loopback. */
export const certificateHosts = (listenHost: string, publicUrl: string | undefined): string[] => {
  const hosts = new Set<string>();
  if (publicUrl) hosts.add(new URL(publicUrl).hostname.replace(/^\[|\]$/g, ''));
  if (listenHost === '0.0.0.0' || listenHost === '::') {
    for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (!a.internal && !a.address.startsWith('fe80:')) hosts.add(a.address);
  } else {
    hosts.add(listenHost);
  }
  for (const h of [hostname(), 'localhost', '127.0.0.1', '::1']) hosts.add(h);
  return [...hosts].filter(Boolean);
};

export interface ServerTls {
  /** Key and certificate for https.createServer. */
  initial: TlsMaterial;
  /** The site CA's PEM (REEF_TLS=auto only: an operator's certificate comes from a CA clients already trust). */
  caPem(): string | undefined;
  caFingerprint(): string | undefined;
  /** Reloads on SIGHUP (files) or renews before expiry (auto), handing the new material to `apply`. */
  watch(apply: (m: TlsMaterial) => void): void;
  stop(): void;
}

/** The TLS side of the server: loads or makes the certificate, and keeps it current. */
export const createServerTls = async (tls: Exclude<Config['tls'], { mode: 'off' }>, hosts: string[], log: Logger): Promise<ServerTls> => {
  let material: TlsMaterial;
  if (tls.mode === 'files') {
    material = loadTlsFiles(tls.cert, tls.key);
  } else {
    const made = await ensureSiteTls({ dir: tls.dir, hosts });
    material = made.material;
    if (made.renewed) log.info({ dir: tls.dir, hosts, reason: made.reason, not_after: material.notAfter }, 'TLS: server certificate made by the site CA');
    log.info({ ca: `${tls.dir}/ca.crt`, fingerprint: material.caFingerprint }, 'TLS: clients trust the site CA from GET /ca.crt or this file');
  }
  let timer: LongTimer | undefined;
  let onHup: (() => void) | undefined;
  return {
    initial: material,
    caPem: () => material.ca,
    caFingerprint: () => material.caFingerprint,
    watch(apply) {
      if (tls.mode === 'files') {
        onHup = () => {
          try {
            material = loadTlsFiles(tls.cert, tls.key);
            apply(material);
            log.info({ cert: tls.cert, not_after: material.notAfter }, 'TLS: certificate reloaded (SIGHUP)');
          } catch (err) {
            log.error({ err: (err as Error).message }, 'TLS: certificate not reloaded; the server keeps the one it has');
          }
        };
        process.on('SIGHUP', onHup);
        return;
      }
      timer = setLongInterval(() => {
        ensureSiteTls({ dir: tls.dir, hosts }).then(
          (made) => {
            material = made.material;
            if (!made.renewed) return;
            apply(material);
            log.info({ reason: made.reason, not_after: material.notAfter }, 'TLS: server certificate renewed');
          },
          (err) => log.error({ err: (err as Error).message }, 'TLS: server certificate renewal failed; retrying in 12 h'),
        );
      }, RENEW_CHECK_MS);
    },
    stop() {
      timer?.clear();
      if (onHup) process.off('SIGHUP', onHup);
    },
  };
};
