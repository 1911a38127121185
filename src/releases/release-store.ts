import type { CloneProgress, DownloadRecord, Release, ReleaseEvent, ReleaseState, Severity } from './release.js';

/** Where releases, their progress, events and download records are kept (SQLite in the server). */
export interface EventFilter {
  type?: string;
  severity?: Severity;
  version?: string;
  /** Milliseconds since the epoch: events at or after it. */
  since?: number;
  limit: number;
}

export interface DownloadTotals {
  by_version: { version: string; downloads: number; bytes: number }[];
  by_artifact: { version: string; artifact: string; downloads: number; bytes: number }[];
}

export interface ReleaseStore {
  list(state?: ReleaseState): Release[];
  get(tag: string): Release | undefined;
  /** Adds the release as `available` unless it is known; true when it was new. */
  addAvailable(r: Pick<Release, 'tag' | 'version' | 'architecture' | 'discoveredAt'>): boolean;
  update(tag: string, patch: Partial<Omit<Release, 'tag' | 'version' | 'architecture'>>): void;
  progress(tag: string): CloneProgress | undefined;
  setProgress(tag: string, progress: CloneProgress | undefined): void;
  addEvent(e: Omit<ReleaseEvent, 'id'>): ReleaseEvent;
  events(f: EventFilter): ReleaseEvent[];
  addDownload(d: DownloadRecord): void;
  downloads(f: { version?: string; limit: number }): DownloadRecord[];
  downloadTotals(): DownloadTotals;
}
