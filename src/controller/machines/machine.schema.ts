import { z } from 'zod';

export const SERIAL = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
export const serialSchema = z.string().regex(SERIAL, 'serial must be 1-64 letters, digits, ".", "_", ":" or "-"');

/** Accepts aa:bb:cc:dd:ee:ff, AA-BB-..., or aabbccddeeff; normalises to lowercase with colons. */
export const macSchema = z
  .string()
  .regex(/^(?:[0-9A-Fa-f]{2}([:-]?)){5}[0-9A-Fa-f]{2}$/, 'not a MAC address such as 52:54:00:12:34:56')
  .transform((m) => m.replace(/[:-]/g, '').toLowerCase().match(/../g)!.join(':'));

export const machineInputSchema = z.strictObject({
  serial: serialSchema,
  macs: z.array(macSchema).max(64).optional(),
  labels: z
    .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/, 'label keys are 1-63 letters, digits, ".", "_", "/" or "-"'), z.string().max(256))
    .optional(),
});
/** Omitted macs or labels keep what the machine has. */
export type MachineInput = z.output<typeof machineInputSchema>;
