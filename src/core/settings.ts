import { z } from 'zod';
import { parseDuration } from './durations.js';

/**
 * The building blocks of settings schemas. Every setting arrives as a string (from the
 * environment, or a scalar in the REEF_CONFIG file); each area declares its own settings with
 * these, and the server composes them into the one schema parsed at start.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A duration like `30s`, `15m`, `24h`, `14d`, parsed to milliseconds. */
export const durationSetting = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `not a duration like 30s, 15m, 24h or 14d: ${JSON.stringify(text)}` });
        return z.NEVER;
      }
      return ms;
    });

/** An optional string where empty means unset. */
export const optionalTextSetting = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

export const flagSetting = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const countSetting = (fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .default(String(fallback))
    .transform(Number);

/** The parsed values of a settings shape (`{ NAME: schema }`). */
export type ParsedSettings<S extends z.ZodRawShape> = z.output<z.ZodObject<S>>;
