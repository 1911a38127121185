import type { HttpBindings } from '@hono/node-server';
import type { Logger } from 'pino';

/** Typed Hono context shared by every route of the controller. */
export interface AppEnv {
  Bindings: Partial<HttpBindings>;
  Variables: {
    requestId: string;
    log: Logger;
    sentStatus?: number;
    /** How long a request body read whole (documents, manifests) may take to arrive (REEF_BODY_TIMEOUT). */
    bodyTimeoutMs?: number;
  };
}
