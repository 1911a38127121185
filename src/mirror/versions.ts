/**
 * Release versions as semver (`4.19.3`, `4.20.0-rc.1`), compared the way oc-mirror's semver
 * library does: numerically by major.minor.patch, a pre-release below its release, pre-release
 * identifiers numeric before alphanumeric; build metadata ignored.
 */
export const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export const isVersion = (v: string): boolean => VERSION.test(v);

const parts = (v: string) => {
  const m = VERSION.exec(v);
  if (!m) throw new Error(`not a version: ${JSON.stringify(v)}`);
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split('.') : [] };
};

const comparePre = (a: string[], b: string[]): number => {
  if (a.length === 0 || b.length === 0) return b.length - a.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const [x, y] = [a[i], b[i]];
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    if (x === y) continue;
    const [nx, ny] = [/^\d+$/.test(x), /^\d+$/.test(y)];
    if (nx && ny) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
};

/** Negative, zero or positive as `a` is below, equal to or above `b`. */
export const compareVersions = (a: string, b: string): number => {
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if (pa.core[i] !== pb.core[i]) return pa.core[i]! - pb.core[i]!;
  return comparePre(pa.pre, pb.pre);
};

/** `4.19.3` → `4.19`. */
export const minorOf = (v: string): string => v.split('.').slice(0, 2).join('.');
