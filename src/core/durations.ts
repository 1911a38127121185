/** Durations read like `0s`, `30s`, `15m`, `24h`, `14d` (and combinations such as `1h30m`). */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;

export const parseDuration = (text: string): number | undefined => {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) return undefined;
  let total = 0;
  for (const m of trimmed.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return total;
};

/** The inverse for messages: 7200000 → `2h`, 90000 → `1m30s`, 2000 → `2s`. */
export const formatDuration = (ms: number): string => {
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]!);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit]!;
  }
  return out || `${rest}ms`;
};
