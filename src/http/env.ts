import type { HttpBindings } from '@hono/node-server';
import type { Logger } from 'pino';

/** Typed Hono context shared by every route of the controller. */
export interface AppEnv {
  Bindings: Partial<HttpBindings>;
  Variables: { requestId: string; log: Logger; sentStatus?: number };
}
