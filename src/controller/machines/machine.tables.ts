import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** The machines reef knows, and their MAC addresses. Times are integer milliseconds since the epoch. */
export const machines = sqliteTable('machines', {
  serial: text('serial').primaryKey(),
  labels: text('labels', { mode: 'json' }).$type<Record<string, string>>().notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const machineMacs = sqliteTable(
  'machine_macs',
  {
    mac: text('mac').primaryKey(),
    serial: text('serial')
      .notNull()
      .references(() => machines.serial, { onDelete: 'cascade' }),
  },
  (t) => [index('machine_macs_serial').on(t.serial)],
);
