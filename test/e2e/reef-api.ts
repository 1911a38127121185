/** reef's API as the test calls it from the host: over the veth, with the admin token. */
export interface JobEvent {
  time: string;
  level: string;
  step: string | null;
  message: string | null;
  source: 'agent' | 'controller' | 'webhook' | 'operator';
}

export interface JobView {
  job_id: string;
  status: 'queued' | 'provisioning' | 'succeeded' | 'failed' | 'canceled';
  step: string | null;
  failed_step: string | null;
  reason: string | null;
  started_at: string | null;
  finished_at: string | null;
  events: JobEvent[];
}

export const reefApi = (baseUrl: string, token: string) => {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  /** A call that must answer `expected`; anything else fails the test with the answer. */
  const must = async <T>(expected: number, method: string, path: string, body?: unknown): Promise<T> => {
    const r = await call<T>(method, path, body);
    if (r.status !== expected) throw new Error(`${method} ${path} answered ${r.status}, not ${expected}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return {
    call,
    must,
    /** The job with its latest 100 events. */
    job: (id: string) => must<JobView>(200, 'GET', `/api/v1/jobs/${id}`),
    /** Every event of the job, oldest first (GET /jobs/{id}/events, page by page). */
    async allEvents(id: string): Promise<JobEvent[]> {
      const out: JobEvent[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: JobEvent[]; next_cursor: string | null } = await must(200, 'GET', `/api/v1/jobs/${id}/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
        out.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      return out;
    },
  };
};

/** Events as lines for a failure message (without the progress reports). */
export const eventLines = (events: JobEvent[]): string =>
  events.filter((e) => e.level !== 'debug').map((e) => `  ${e.time} ${e.source} ${e.level} ${e.step ?? '-'}: ${e.message ?? ''}`).join('\n');
