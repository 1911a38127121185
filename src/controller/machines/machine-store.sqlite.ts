import { and, asc, eq, inArray, ne } from 'drizzle-orm';
import { DomainError } from '../../core/errors.js';
import type { Db } from '../../db/client.js';
import { jobs } from '../jobs/job.tables.js';
import { machineMacs, machines } from './machine.tables.js';
import { type Machine, type MachineStore, macInUse } from './machine-service.js';

const ACTIVE = ['queued', 'provisioning'] as const;

export const createSqliteMachineStore = (db: Db): MachineStore => {
  const load = (serial: string): Machine | undefined => {
    const row = db.select().from(machines).where(eq(machines.serial, serial)).get();
    if (!row) return undefined;
    const macs = db.select({ mac: machineMacs.mac }).from(machineMacs).where(eq(machineMacs.serial, serial)).orderBy(asc(machineMacs.mac)).all();
    return { serial: row.serial, labels: row.labels, createdAt: row.createdAt, updatedAt: row.updatedAt, macs: macs.map((m) => m.mac) };
  };
  return {
    get: load,
    getByMac: (mac) => {
      const row = db.select({ serial: machineMacs.serial }).from(machineMacs).where(eq(machineMacs.mac, mac)).get();
      return row ? load(row.serial) : undefined;
    },
    // Two queries for the whole list (not two per machine): 1,000 machines in milliseconds.
    list: () => {
      const macsOf = new Map<string, string[]>();
      for (const m of db.select().from(machineMacs).orderBy(asc(machineMacs.mac)).all()) macsOf.set(m.serial, [...(macsOf.get(m.serial) ?? []), m.mac]);
      return db
        .select()
        .from(machines)
        .orderBy(asc(machines.serial))
        .all()
        .map((row) => ({ serial: row.serial, labels: row.labels, createdAt: row.createdAt, updatedAt: row.updatedAt, macs: macsOf.get(row.serial) ?? [] }));
    },
    upsert: (input, now) =>
      db.transaction((tx) => {
        for (const mac of input.macs ?? []) {
          const owner = tx.select({ serial: machineMacs.serial }).from(machineMacs).where(eq(machineMacs.mac, mac)).get();
          if (owner && owner.serial !== input.serial) throw macInUse(mac, owner.serial);
        }
        const existed = tx.select({ serial: machines.serial }).from(machines).where(eq(machines.serial, input.serial)).get();
        tx.insert(machines)
          .values({ serial: input.serial, labels: input.labels ?? {}, createdAt: now, updatedAt: now })
          .onConflictDoUpdate({ target: machines.serial, set: { ...(input.labels ? { labels: input.labels } : {}), updatedAt: now } })
          .run();
        if (input.macs) {
          tx.delete(machineMacs).where(eq(machineMacs.serial, input.serial)).run();
          for (const mac of input.macs) tx.insert(machineMacs).values({ mac, serial: input.serial }).run();
        }
        return !existed;
      }),
    delete: (serial) =>
      db.transaction((tx) => {
        const active = tx.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.serial, serial), inArray(jobs.status, [...ACTIVE]))).get();
        if (active) throw new DomainError('CONFLICT', `machine ${serial} has an active job ${active.id}; cancel it first`);
        tx.delete(jobs).where(and(eq(jobs.serial, serial), ne(jobs.status, 'queued'))).run();
        return tx.delete(machines).where(eq(machines.serial, serial)).run().changes === 1;
      }),
  };
};
