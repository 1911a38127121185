import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/controller/config.js';
import { type RunningReef, type StartOptions, startReef } from '../../src/controller/main.js';

export interface TestReef extends RunningReef {
  dataDir: string;
  /** fetch relative to the server URL. */
  req(path: string, init?: RequestInit): Promise<Response>;
  /** JSON POST/PUT helper returning status and parsed body. */
  json<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T; headers: Headers }>;
  stop(): Promise<void>;
}

/** Starts a real reef on 127.0.0.1:0 with a fresh data directory (or the one given). */
export const startTestReef = async (env: Record<string, string> = {}, dataDir?: string, opts: Omit<StartOptions, 'log'> = {}): Promise<TestReef> => {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'reef-test-'));
  const config = loadConfig({ REEF_LISTEN: '127.0.0.1:0', REEF_DATA_DIR: dir, LOG_LEVEL: 'silent', ...env } as NodeJS.ProcessEnv);
  const reef = await startReef(config, { ...opts, log: pino({ level: 'silent' }) });
  // Under REEF_TLS=auto the helpers trust the site CA, as a client given <data>/tls/ca.crt would.
  const caFile = join(dir, 'tls', 'ca.crt');
  const dispatcher = reef.url.startsWith('https:') && existsSync(caFile) ? new Agent({ connect: { ca: readFileSync(caFile, 'utf8') } }) : undefined;
  const req = (path: string, init?: RequestInit): Promise<Response> =>
    dispatcher ? (undiciFetch(`${reef.url}${path}`, { ...(init as object), dispatcher }) as unknown as Promise<Response>) : fetch(`${reef.url}${path}`, init);
  return {
    ...reef,
    dataDir: dir,
    req,
    async json(method, path, body, headers = {}) {
      const res = await req(path, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
    async stop() {
      await reef.close();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
};
