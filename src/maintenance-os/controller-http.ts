import { Agent, fetch, type RequestInit, type Response } from 'undici';
import { certFingerprint } from '../lib/cert-fingerprint.js';
import { untrustedCertificateReason } from '../lib/tls-errors.js';
import { StepError } from './exec.js';

/** The controller's certificate did not verify: the same on every attempt, so never retried. */
export class ControllerUntrusted extends StepError {
  constructor(message: string) {
    super(message);
    this.name = 'ControllerUntrusted';
  }
}

export type ControllerFetch = (url: string, init?: RequestInit) => Promise<Response>;

/**
 * fetch for the agent's calls to the controller (task, events): over HTTPS the certificate must
 * be signed by `ca` (the pinned site CA) when given, else by the system's trust store; the
 * hostname is checked either way. A certificate that does not verify throws ControllerUntrusted,
 * naming the URL and why.
 */
export const createControllerFetch = (ca: string | null): ControllerFetch => {
  const dispatcher = ca !== null ? new Agent({ connect: { ca } }) : undefined;
  const anchor = ca !== null ? `the pinned CA ${certFingerprint(ca, 'the controller CA')}` : 'a CA this machine trusts';
  return async (url, init = {}) => {
    try {
      return await fetch(url, dispatcher ? { ...init, dispatcher } : init);
    } catch (err) {
      const why = untrustedCertificateReason(err, new URL(url).hostname, anchor);
      if (why) throw new ControllerUntrusted(`cannot trust the controller at ${url}: ${why}`);
      throw err;
    }
  };
};

/**
 * Runs `attempt` up to `attempts` times, waiting 1 s, 2 s, 4 s … (at most 30 s) between tries,
 * while it fails with anything but a StepError (the network not up yet, a 5xx); then fails with
 * `<what>: <the last error>`. A StepError — a refusal, an untrusted certificate — ends it at once.
 */
export const withBackoff = async <T>(what: string, attempt: () => Promise<T>, attempts = 8): Promise<T> => {
  let last = '';
  for (let n = 0; n < attempts; n++) {
    if (n > 0) await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** (n - 1))));
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof StepError) throw err;
      last = (err as Error).message;
    }
  }
  throw new StepError(`${what}: ${last}`);
};
