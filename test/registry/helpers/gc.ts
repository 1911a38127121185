/** Helpers for the GC tests: trigger a run, read the report and metrics, look at storage on disk. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { TestReef } from '../../helpers/server.js';
import { hexOf } from './oci.js';

export type { GcReport } from '../../../src/registry/gc.js';
import type { GcReport } from '../../../src/registry/gc.js';

/** POST /admin/gc (optionally ?dry_run=true); asserts 200 and the report's shape. */
export const runGc = async (reef: TestReef, dryRun = false): Promise<GcReport> => {
  const res = await reef.req(`/admin/gc${dryRun ? '?dry_run=true' : ''}`, { method: 'POST' });
  const text = await res.text();
  expect(res.status, `POST /admin/gc: ${text}`).toBe(200);
  const report = JSON.parse(text) as GcReport;
  expect(report.dry_run).toBe(dryRun);
  for (const key of ['blobs_deleted', 'bytes_freed', 'manifests_deleted', 'uploads_deleted', 'repositories_deleted', 'duration_seconds'] as const) {
    expect(typeof report[key], `${key} in ${text}`).toBe('number');
    expect(report[key]).toBeGreaterThanOrEqual(0);
  }
  return report;
};

/** The default storage directory: <REEF_DATA_DIR>/registry. */
export const storageOf = (reef: TestReef): string => join(reef.dataDir, 'registry');

export const blobFile = (storage: string, digest: string): string => join(storage, 'blobs', digest.slice(0, digest.indexOf(':')), hexOf(digest));

export const blobOnDisk = (storage: string, digest: string): boolean => existsSync(blobFile(storage, digest));

/** Value of an unlabelled Prometheus sample (or the sum over its label sets); undefined if absent. */
export const metricValue = async (reef: TestReef, name: string): Promise<number | undefined> => {
  const text = await (await reef.req('/metrics')).text();
  const samples = text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
  return samples.length ? samples.reduce((a, b) => a + b, 0) : undefined;
};

export const metricsText = async (reef: TestReef): Promise<string> => (await reef.req('/metrics')).text();

/** Files under `dir` (recursively) whose bytes contain `needle`: finds leftover upload data wherever it was written. */
export const filesContaining = (dir: string, needle: Buffer): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
      else if (st?.isFile() && st.size >= needle.length && readFileSync(p).includes(needle)) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
};

/** The storage's OCI image layout index (index.json). */
export const layoutIndex = (storage: string): { manifests: Array<{ digest: string; mediaType: string; annotations?: Record<string, string> }> } =>
  JSON.parse(readFileSync(join(storage, 'index.json'), 'utf8'));
