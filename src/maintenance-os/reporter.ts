import { randomUUID } from 'node:crypto';
import { ControllerUntrusted, createControllerFetch } from './controller-http.js';

export interface AgentEvent {
  step?: string;
  level?: 'debug' | 'info' | 'warn' | 'error';
  message?: string;
  bytes_done?: number;
  bytes_total?: number;
  status?: 'succeeded' | 'failed';
  failed_step?: string;
  reason?: string;
}

/** The controller refused a report (wrong token, unknown or finished job): the agent must stop. */
export class ReportRejected extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ReportRejected';
  }
}

export interface Reporter {
  /** Sends an event; step boundaries and the final status are retried with backoff (same delivery id). */
  send(event: AgentEvent): Promise<void>;
  /** Progress of a long step, at most one report per `intervalMs`; never blocks the step. */
  progress(step: string, done: number, total: number): void;
  /** Waits for reports still in flight. */
  flush(): Promise<void>;
}

export interface ReporterOptions {
  callbackUrl: string | null;
  token: string | null;
  /** PEM of the CA the controller's certificate must be signed by (Task.ca); null or absent: the system's trust store. */
  ca?: string | null;
  /** Every event also goes here as one JSON line (the journal on the machine). */
  log: (line: string) => void;
  intervalMs?: number;
  /** Attempts for one event before giving up on delivering it (the step goes on). */
  attempts?: number;
  backoffMs?: number;
  now?: () => number;
}

const FATAL = new Set([400, 401, 403, 404, 409, 410]);

export const createReporter = (opts: ReporterOptions): Reporter => {
  const interval = opts.intervalMs ?? 1000;
  const attempts = opts.attempts ?? 8;
  const backoff = opts.backoffMs ?? 500;
  const now = opts.now ?? Date.now;
  const inFlight = new Set<Promise<void>>();
  const callController = createControllerFetch(opts.ca ?? null);
  let lastProgress = 0;
  let progressBusy = false;
  let finalProgress: (AgentEvent & { delivery_id: string }) | undefined;
  /** The controller refused a report, or its certificate does not verify: every later report fails the same way. */
  let rejected: ReportRejected | ControllerUntrusted | undefined;

  const post = async (body: AgentEvent & { delivery_id: string }, tries: number): Promise<void> => {
    if (!opts.callbackUrl) return;
    for (let n = 1; ; n++) {
      let status = 0;
      let text: string;
      try {
        const res = await callController(opts.callbackUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
        status = res.status;
        text = await res.text();
        if (res.ok) return;
      } catch (err) {
        if (err instanceof ControllerUntrusted) {
          rejected = err;
          throw err;
        }
        text = (err as Error).message;
      }
      if (FATAL.has(status)) {
        let why = text.slice(0, 300);
        try {
          why = JSON.parse(text).error?.message ?? why;
        } catch {
          // keep the raw text
        }
        rejected = new ReportRejected(`the controller rejected the agent's report (HTTP ${status}): ${why}`, status);
        throw rejected;
      }
      if (n >= tries) {
        opts.log(JSON.stringify({ level: 'warn', message: `could not deliver a report to ${opts.callbackUrl} after ${n} attempts: ${status ? `HTTP ${status}` : text}` }));
        return;
      }
      await new Promise((r) => setTimeout(r, Math.min(30_000, backoff * 2 ** (n - 1))));
    }
  };

  const track = (p: Promise<void>) => {
    inFlight.add(p);
    p.finally(() => inFlight.delete(p)).catch(() => {});
    return p;
  };

  return {
    async send(event) {
      if (rejected) throw rejected;
      const body = { level: 'info' as const, ...event, delivery_id: randomUUID() };
      opts.log(JSON.stringify({ time: new Date(now()).toISOString(), ...body }));
      await track(post(body, event.status ? attempts * 2 : attempts));
    },
    progress(step, done, total) {
      const t = now();
      const last = done >= total;
      if (rejected || (t - lastProgress < interval && !last)) return;
      const body = { step, level: 'debug' as const, message: `${step}: ${done} of ${total} bytes`, bytes_done: done, bytes_total: total, delivery_id: randomUUID() };
      if (progressBusy) {
        // The last report (100 %) is never dropped: it goes once the one on its way is delivered.
        if (last) finalProgress = body;
        return;
      }
      lastProgress = t;
      const deliver = (b: AgentEvent & { delivery_id: string }): void => {
        progressBusy = true;
        opts.log(JSON.stringify({ time: new Date(now()).toISOString(), ...b }));
        track(post(b, 1))
          .catch(() => {})
          .finally(() => {
            progressBusy = false;
            const next = finalProgress;
            finalProgress = undefined;
            if (next && !rejected) deliver(next);
          });
      };
      deliver(body);
    },
    async flush() {
      // A delivery may start another (the held-back last progress report): wait until none is left.
      while (inFlight.size) await Promise.allSettled([...inFlight]);
      if (rejected) throw rejected;
    },
  };
};
