import type { HttpBindings } from '@hono/node-server';
import type { Logger } from 'pino';

/** Typed Hono context shared by every route of the controller. */
export interface AppEnv {
  /** `listener: 'boot'` on the plain-HTTP boot listener (REEF_BOOT_LISTEN). */
  Bindings: Partial<HttpBindings> & { listener?: 'main' | 'boot' };
  Variables: {
    requestId: string;
    log: Logger;
    sentStatus?: number;
    /** How long a request body read whole (documents, manifests) may take to arrive (REEF_BODY_TIMEOUT). */
    bodyTimeoutMs?: number;
    /** Who made the request, once authenticated (an API token's name, `local`, a registry user). Never a secret. */
    principal?: { name: string; role?: string };
    /** The web UI session's CSRF token, for the forms a /ui page renders. */
    uiCsrf?: string;
  };
}
