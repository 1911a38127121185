import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GcReport } from '../gc.js';
import type { ScrubReport } from '../scrub.js';

/** The registry's metrics, named as in the Shoal docs, on the server's metrics registry. */
export const registerRegistryMetrics = (registry: Registry, stats: () => { bytes: number; count: number }) => {
  new Gauge({
    name: 'registry_storage_bytes',
    help: 'Bytes of blobs held by the registry',
    registers: [registry],
    collect() {
      this.set(stats().bytes);
    },
  });
  new Gauge({
    name: 'registry_blob_count',
    help: 'Blobs held by the registry',
    registers: [registry],
    collect() {
      this.set(stats().count);
    },
  });
  const deleted = new Counter({ name: 'registry_gc_blobs_deleted', help: 'Blobs deleted by garbage collection', registers: [registry] });
  const duration = new Histogram({
    name: 'registry_gc_duration_seconds',
    help: 'Garbage collection run duration',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [registry],
  });
  const scrubChecked = new Counter({ name: 'registry_scrub_blobs_checked', help: 'Blobs re-hashed by scrubs', registers: [registry] });
  const scrubDamaged = new Gauge({ name: 'registry_scrub_damaged_blobs', help: 'Damaged blobs (missing, wrong size or digest) found by the last scrub', registers: [registry] });
  const scrubLast = new Gauge({ name: 'registry_scrub_last_run_timestamp_seconds', help: 'When the last scrub finished', registers: [registry] });
  return {
    onGc: (report: GcReport) => {
      if (report.dry_run) return;
      deleted.inc(report.blobs_deleted);
      duration.observe(report.duration_seconds);
    },
    onScrub: (report: ScrubReport) => {
      scrubChecked.inc(report.blobs_checked);
      scrubDamaged.set(report.damaged.length);
      scrubLast.set(Date.now() / 1000);
    },
  };
};
