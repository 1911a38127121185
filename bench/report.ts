import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Number with fixed decimals and thousands separators ("n/a" for NaN). */
export const fmt = (n: number, decimals: number): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals }) : 'n/a';

export const median = (xs: number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** A plain-text table with a header rule; numbers right-aligned. */
export const table = (head: string[], rows: string[][]): string => {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => /^[-\d.,%]+$/.test(r[i] ?? '')));
  const line = (cells: string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
};

/** A markdown table. */
export const mdTable = (head: string[], rows: string[][]) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

/** Replaces the part of `file` from `begin` to `end` (markers included in `markdown`), or appends it; keeps everything else. */
export const writeResultsSection = (file: string, begin: string, end: string, markdown: string): void => {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# reef benchmark results\n';
  const b = old.indexOf(begin);
  const e = old.indexOf(end);
  const next = b >= 0 && e > b ? `${old.slice(0, b)}${markdown}${old.slice(e + end.length)}` : `${old.trimEnd()}\n\n${markdown}\n`;
  writeFileSync(file, next);
};
