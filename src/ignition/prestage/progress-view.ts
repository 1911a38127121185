import type { PrecacheEvent, PrecacheSummary } from './precache.js';
import { formatBytes } from './sizes.js';

interface Out {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * Shows precacheDownload's progress: on a terminal (`err` is a TTY) one bar line redrawn at most
 * five times a second; otherwise one JSON object per line on `out`
 * (`{"image":…,"state":…,"done":…,"total":…}`, and `{"plan":…}` first).
 */
export const createPrecacheView = (out: Out, err: Out) => {
  const tty = !!err.isTTY;
  const perImage = new Map<string, number>();
  let plan: Extract<PrecacheEvent, { type: 'plan' }> | undefined;
  let finished = 0;
  let failedCount = 0;
  let last = 0;
  const start = Date.now();
  const draw = (force = false) => {
    const now = Date.now();
    if (!tty || !plan || (!force && now - last < 200)) return;
    last = now;
    let done = 0;
    for (const n of perImage.values()) done += n;
    const total = plan.bytesToDownload;
    const pct = total > 0 ? Math.min(1, done / total) : 1;
    const fill = Math.round(pct * 30);
    const rate = done / Math.max(0.001, (now - start) / 1000);
    err.write(
      `\r[${'#'.repeat(fill)}${'.'.repeat(30 - fill)}] ${finished}/${plan.toDownload} images ${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s${failedCount ? ` ${failedCount} failed` : ''}   `,
    );
  };
  return {
    onProgress(e: PrecacheEvent) {
      if (e.type === 'plan') {
        plan = e;
        if (tty) err.write(`${e.images} images: ${e.images - e.toDownload - e.failed} already there, ${e.toDownload} to download (${formatBytes(e.bytesToDownload)})\n`);
        else out.write(`${JSON.stringify({ plan: { images: e.images, bytes: e.bytes, to_download: e.toDownload, bytes_to_download: e.bytesToDownload, failed: e.failed } })}\n`);
        return draw(true);
      }
      if (!tty) {
        out.write(`${JSON.stringify({ image: e.image, name: e.name, state: e.state, done: e.done, total: e.total, ...(e.error ? { error: e.error } : {}) })}\n`);
        return;
      }
      if (e.state === 'started' || e.state === 'progress' || e.state === 'done') perImage.set(e.image, e.done);
      if (e.state === 'done') finished++;
      if (e.state === 'failed') {
        failedCount++;
        perImage.delete(e.image);
        err.write(`\rfailed: ${e.image}: ${e.error}\n`);
      }
      draw(e.state === 'done');
    },
    summary(s: PrecacheSummary) {
      if (tty) {
        draw(true);
        err.write('\n');
      }
      const rate = s.bytes / Math.max(0.001, s.seconds);
      const line =
        `${s.images} images: ${s.downloaded.length} downloaded (${formatBytes(s.bytes)} in ${s.seconds.toFixed(1)} s, ${formatBytes(rate)}/s), ` +
        `${s.skipped.length} already there, ${s.failed.length} failed${s.removed.length ? `, ${s.removed.length} stale removed` : ''}`;
      if (tty) out.write(`${line}\n`);
      else out.write(`${JSON.stringify({ summary: s })}\n`);
      for (const f of s.failed) err.write(`reef: failed: ${f.image}: ${f.error}\n`);
      if (!tty) err.write(`${line}\n`);
    },
  };
};
