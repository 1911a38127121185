/**
 * The dry-run files oc-mirror v2 writes in `working-dir/dry-run/`: `mapping.txt`, one line per
 * image, `docker://<source>=docker://<destination>`; and `missing.txt`, the same lines for the
 * images a disk-to-mirror run would not find in the archive/cache (oc-mirror writes it only when
 * there are any). oc-mirror keeps its collection order; reef sorts the lines and drops repeats.
 */

export const DRY_RUN_DIR = 'dry-run';
export const MAPPING_FILE = 'mapping.txt';
export const MISSING_FILE = 'missing.txt';

export interface MappingEntry {
  /** `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:…` (a `docker://` prefix is kept, not doubled). */
  source: string;
  /** `reg:5000/ns/openshift/release:4.19.3-x86_64-cli` */
  destination: string;
}

const docker = (ref: string) => (/^[a-z0-9+.-]+:\/\//.test(ref) ? ref : `docker://${ref}`);

/** One `src=dst` line per entry, sorted, each ending in a newline; empty for none. */
export const renderMapping = (entries: MappingEntry[]): string => {
  const lines = [...new Set(entries.map((e) => `${docker(e.source)}=${docker(e.destination)}`))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return lines.map((l) => `${l}\n`).join('');
};

/** `missing.txt`: the same format as mapping.txt, for the entries not found. */
export const renderMissing = (missing: MappingEntry[]): string => renderMapping(missing);
