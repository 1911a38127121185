/** A one-line progress bar on a terminal (stderr), at most ~5 updates a second. */
export const progressBar = (label: string) => {
  if (!process.stderr.isTTY) return undefined;
  const start = Date.now();
  let last = 0;
  return (done: number, total: number) => {
    const now = Date.now();
    if (now - last < 200 && done < total) return;
    last = now;
    const pct = total > 0 ? done / total : 1;
    const width = 30;
    const fill = Math.round(pct * width);
    const rate = done / Math.max(0.001, (now - start) / 1000) / 2 ** 20;
    process.stderr.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(pct * 100).toFixed(1)}% ${(done / 2 ** 20).toFixed(1)}/${(total / 2 ** 20).toFixed(1)} MiB ${rate.toFixed(1)} MiB/s`);
    if (done >= total) process.stderr.write('\n');
  };
};
