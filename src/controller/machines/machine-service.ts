import { DomainError, notFound } from '../../core/errors.js';
import { parseWith } from '../../core/validate.js';
import { type MachineInput, machineInputSchema, macSchema, serialSchema } from './machine.schema.js';

export interface Machine {
  serial: string;
  macs: string[];
  labels: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

export interface MachineStore {
  get(serial: string): Machine | undefined;
  getByMac(mac: string): Machine | undefined;
  list(): Machine[];
  /** Creates or updates; returns whether it created. Throws CONFLICT when a MAC belongs to another machine. */
  upsert(input: MachineInput, now: number): boolean;
  /** Deletes the machine and its finished jobs; throws CONFLICT while a job is active. */
  delete(serial: string): boolean;
}

export interface MachineView {
  serial: string;
  macs: string[];
  labels: Record<string, string>;
  created_at: string;
  updated_at: string;
}

export const machineView = (m: Machine): MachineView => ({
  serial: m.serial,
  macs: m.macs,
  labels: m.labels,
  created_at: new Date(m.createdAt).toISOString(),
  updated_at: new Date(m.updatedAt).toISOString(),
});

export const macInUse = (mac: string, serial: string) =>
  new DomainError('CONFLICT', `MAC ${mac} already belongs to machine ${serial}`, [{ path: 'macs', message: `${mac} belongs to ${serial}` }]);

export const createMachineService = (deps: { store: MachineStore; now: () => number }) => {
  const { store, now } = deps;
  return {
    register(body: unknown): { view: MachineView; created: boolean } {
      const input = parseWith(machineInputSchema, body, 'machine');
      const created = store.upsert(input, now());
      return { view: machineView(store.get(input.serial)!), created };
    },
    get(serial: string): MachineView {
      const m = store.get(serial);
      if (!m) throw notFound('machine', serial);
      return machineView(m);
    },
    list(): MachineView[] {
      return store.list().map(machineView);
    },
    remove(serial: string): void {
      if (!store.delete(serial)) throw notFound('machine', serial);
    },
    /** Finds a machine by serial or MAC (both validated), for jobs and boot scripts. */
    lookup(by: { serial?: string; mac?: string }): Machine | undefined {
      if (by.serial !== undefined) return store.get(parseWith(serialSchema, by.serial, 'request', 'serial'));
      if (by.mac !== undefined) return store.getByMac(parseWith(macSchema, by.mac, 'request', 'mac'));
      return undefined;
    },
  };
};

export type MachineService = ReturnType<typeof createMachineService>;
