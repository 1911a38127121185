import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Young-generation collections on demand, for code that turns large streams into short-lived
 * Buffers it cannot reuse (node:http copies every request-body chunk into a new one).
 *
 * V8 starts a scavenge for new ArrayBuffer memory only once about 32 MB of it has piled up
 * (twice its default maximum semi-space), however little of it is still reachable. Each dead
 * chunk holds its malloc'd bytes until then, so an upload kept up to 32 MB of garbage resident,
 * plus the malloc arena that had grown to hold it. Scavenging after every few MiB bounds both; a
 * scavenge of reef's small young heap costs well under a millisecond.
 */

type Gc = (opts: { type: 'minor' | 'major' }) => void;

let gc: Gc | null | undefined;

/** V8's gc(), obtained without exposing it globally: set the flag, take it from a fresh context, unset. */
const v8Gc = (): Gc | null => {
  if (gc !== undefined) return gc;
  try {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as Gc;
  } catch {
    gc = null; // not available on this runtime: collection stays V8's own business
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  return gc;
};

/** Runs one young-generation (minor) collection now, if the runtime allows it. */
export const collectYoung = (): void => v8Gc()?.({ type: 'minor' });

/**
 * Returns a function to report bytes turned into garbage; it runs `collect` each time
 * `everyBytes` have been reported (0 = never). Share one pacer between all the streams of a
 * process: the collection frees every stream's garbage at once.
 */
export const youngGcPacer = (everyBytes: number, collect: () => void = collectYoung) => {
  let since = 0;
  return (bytes: number): void => {
    if (everyBytes <= 0) return;
    since += bytes;
    if (since < everyBytes) return;
    since = 0;
    collect();
  };
};
