import { Agent, fetch } from 'undici';
import { certFingerprint, parseFingerprint, trustAnchorPem } from '../lib/cert-fingerprint.js';
import { withBackoff } from './controller-http.js';
import { StepError } from './exec.js';
import type { Task } from './task.js';

/** A CA certificate is a few KiB; /ca.crt is read before anything is verified, so its size is bounded. */
const MAX_CA_BYTES = 64 * 1024;

/** `reef.ca=` of the kernel command line in reef's form (`sha256:<lowercase hex>`); null when absent. */
export const pinnedFingerprint = (word: string | undefined): string | null => {
  if (word === undefined) return null;
  const pin = parseFingerprint(word);
  if (!pin) throw new StepError(`reef.ca=${word} on the kernel command line is not a SHA-256 fingerprint (expected sha256:<64 hex digits>)`);
  return pin;
};

const fingerprintOf = (pem: string, what: string): string => {
  try {
    return certFingerprint(pem, what);
  } catch (err) {
    throw new StepError((err as Error).message);
  }
};

const readBounded = async (body: AsyncIterable<Uint8Array> | null, url: string): Promise<string> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body ?? []) {
    size += chunk.length;
    if (size > MAX_CA_BYTES) throw new StepError(`${url} is over ${MAX_CA_BYTES} bytes: not a CA certificate`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
};

/**
 * The CA the controller serves at `<controller>/ca.crt`, for an agent that fetches its task over
 * the network. It is fetched WITHOUT verifying the connection (there is nothing to verify it
 * with yet) and accepted only if it hashes to the fingerprint pinned on the kernel command line.
 */
export const fetchControllerCa = async (controller: string, pin: string): Promise<string> => {
  const url = `${controller.replace(/\/+$/, '')}/ca.crt`;
  const unverified = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    const pem = await withBackoff(`cannot fetch the controller's CA from ${url}`, async () => {
      const res = await fetch(url, { dispatcher: unverified, signal: AbortSignal.timeout(30_000) });
      if (res.status >= 500 || res.status === 429) throw new Error(`HTTP ${res.status}`);
      const text = await readBounded(res.body, url);
      if (!res.ok) throw new StepError(`cannot fetch the controller's CA from ${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
      return text;
    });
    const got = fingerprintOf(pem, `the CA at ${url}`);
    if (got !== pin) throw new StepError(`the controller's CA at ${url} is ${got}, not the one pinned on the kernel command line (reef.ca=${pin})`);
    return trustAnchorPem(pem, `the CA at ${url}`);
  } finally {
    await unverified.close();
  }
};

/**
 * Settles `task.ca`, the one trust anchor of the agent's HTTPS calls to the controller: the
 * task's own CA (the task ISO's ca.crt), else — when the kernel command line pins one and the
 * controller speaks HTTPS — the CA the controller serves. A pinned fingerprint must match the CA
 * used, and a ca.crt must match its task.json's ca_fingerprint; anything else is refused. No
 * pin and no CA: the system's trust store, as before.
 */
export const settleTrust = async (task: Task, pin: string | null): Promise<Task> => {
  const whose = /^https?:\/\//.test(task.source) ? `the CA of the task at ${task.source}` : "the task ISO's CA";
  if (task.ca !== null) {
    const got = fingerprintOf(task.ca, `${task.source}/ca.crt`);
    if (task.caFingerprint !== null && parseFingerprint(task.caFingerprint) !== got) {
      throw new StepError(`${task.source}: ca.crt is ${got}, but task.json's ca_fingerprint says ${task.caFingerprint}`);
    }
    if (pin !== null && got !== pin) throw new StepError(`${whose} ${got} is not the one pinned on the kernel command line (reef.ca=${pin})`);
    return { ...task, ca: trustAnchorPem(task.ca, `${task.source}/ca.crt`) };
  }
  if (pin === null || task.controllerUrl === null) return task;
  if (!task.controllerUrl.startsWith('https://')) {
    throw new StepError(`the kernel command line pins a controller CA (reef.ca=${pin}) but the controller ${task.controllerUrl} is not reached over HTTPS; refusing to talk to it unverified`);
  }
  return { ...task, ca: await fetchControllerCa(task.controllerUrl, pin) };
};

/**
 * True when `registry` (host[:port]) is the controller's own and the controller speaks HTTPS:
 * pulls from it go over HTTPS (never as an insecure registry, loopback or not), verified with
 * task.ca.
 */
export const isControllerOverHttps = (task: Task, registry: string): boolean => {
  if (!task.controllerUrl?.startsWith('https://')) return false;
  try {
    return new URL(task.controllerUrl).host === new URL(`https://${registry}`).host;
  } catch {
    return false;
  }
};
