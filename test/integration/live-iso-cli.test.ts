import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveIsoFixture, type LiveIsoVariant, buildLiveIso, hashOutside, noise, readRange } from '../helpers/live-iso.js';
import { requireTool } from '../helpers/tools.js';

/** `reef iso ...` as its own process (from source), with optional stdin. */
const reefIso = (args: string[], stdin?: Buffer) =>
  new Promise<{ code: number; stdout: Buffer; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'iso', ...args], { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString() }),
    );
    child.stdin!.end(stdin ?? Buffer.alloc(0));
  });

const config = (extra: Record<string, unknown> = {}) =>
  Buffer.from(`${JSON.stringify({ ignition: { version: '3.2.0' }, passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3 test'] }] }, ...extra }, null, 2)}\n`);

/** Extracts images/ignition.img with xorriso, decompresses the area with xz/gzip, unpacks with cpio. */
const extractWithRealTools = (iso: string, fx: LiveIsoFixture, work: string, tool: 'xz' | 'gzip'): Buffer => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  execFileSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/images/ignition.img', join(work, 'ignition.img')], { stdio: 'pipe' });
  const area = readFileSync(join(work, 'ignition.img')).subarray(fx.offsetInImg, fx.offsetInImg + fx.areaLength);
  const cpio = execFileSync(tool, ['-dc'], { input: area, maxBuffer: 64 << 20 });
  execFileSync('cpio', ['-id', '--quiet'], { cwd: work, input: cpio });
  expect(readdirSync(work).sort()).toEqual(['config.ign', 'ignition.img']);
  return readFileSync(join(work, 'config.ign'));
};

const haveTools = () => requireTool('xorriso') && requireTool('xz') && requireTool('gzip') && requireTool('cpio');

describe('reef iso embed | show | reset on xorriso-built live ISOs', () => {
  let dir: string;
  const fixtures = {} as Record<LiveIsoVariant, LiveIsoFixture>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reef-liveiso-'));
    if (!haveTools()) return;
    for (const v of ['igninfo', 'igninfo-offset', 'img-only'] as const) fixtures[v] = buildLiveIso(dir, v);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const variant of ['igninfo', 'igninfo-offset', 'img-only'] as const) {
    for (const compression of ['xz', 'gzip'] as const) {
      it(`${variant}, ${compression}: show and xorriso+${compression}+cpio give back the config; nothing else changes`, async () => {
        if (!haveTools()) return;
        const fx = fixtures[variant];
        const before = readFileSync(fx.path);
        const out = join(dir, `node-${variant}-${compression}.iso`);
        const cfg = config({ variant, compression });
        const cfgFile = join(dir, `${variant}-${compression}.ign`);
        writeFileSync(cfgFile, cfg);
        const r = await reefIso(['embed', '--ignition', cfgFile, '--in', fx.path, '--out', out, '--compression', compression]);
        expect(r.stderr).toContain('embedded');
        expect(r.code).toBe(0);

        const shown = await reefIso(['show', out]);
        expect(shown.code).toBe(0);
        expect(shown.stdout.equals(cfg)).toBe(true);
        expect(extractWithRealTools(out, fx, join(dir, 'x'), compression).equals(cfg)).toBe(true);

        expect(hashOutside(out, fx.areaOffset, fx.areaOffset + fx.areaLength)).toBe(hashOutside(fx.path, fx.areaOffset, fx.areaOffset + fx.areaLength));
        expect(readRange(out, fx.areaOffset, fx.areaLength).equals(Buffer.alloc(fx.areaLength))).toBe(false);
        expect(readFileSync(fx.path).equals(before)).toBe(true);

        // reset --out: the pristine ISO again, byte for byte.
        const reset = join(dir, `reset-${variant}-${compression}.iso`);
        expect((await reefIso(['reset', out, '--out', reset])).code).toBe(0);
        expect(readFileSync(reset).equals(before)).toBe(true);
        const none = await reefIso(['show', reset]);
        expect(none.code).toBe(1);
        expect(none.stderr).toMatch(/no embedded Ignition config/);
        rmSync(out);
        rmSync(reset);
      });
    }
  }

  it('refuses a config that does not fit, naming both sizes, and leaves the ISOs untouched', async () => {
    if (!haveTools()) return;
    const fx = fixtures['igninfo-offset'];
    const before = readFileSync(fx.path);
    const big = config({ blob: noise(200 * 1024, 77).toString('base64') });
    const cfgFile = join(dir, 'big.ign');
    writeFileSync(cfgFile, big);
    const out = join(dir, 'too-big.iso');
    for (const compression of ['xz', 'gzip']) {
      const r = await reefIso(['embed', '-i', cfgFile, '--in', fx.path, '-o', out, '--compression', compression]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${big.length} bytes compress to`);
      expect(r.stderr).toContain(`the area holds ${fx.areaLength} bytes`);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }
    const inPlace = join(dir, 'in-place-big.iso');
    copyFileSync(fx.path, inPlace);
    expect((await reefIso(['embed', '-i', cfgFile, inPlace])).code).toBe(2);
    expect(readFileSync(inPlace).equals(before)).toBe(true);
    expect(readFileSync(fx.path).equals(before)).toBe(true);
  });

  it('a config larger than the area fits once compressed, with xz (real LZMA) and with gzip', async () => {
    if (!haveTools()) return;
    const fx = fixtures['igninfo-offset'];
    const cfgFile = join(dir, 'text.ign');
    const lines = Array.from({ length: 9000 }, (_, i) => `node-${i} 10.0.${i % 256}.${(i * 7) % 256} rack-${i % 40}`).join('\n');
    writeFileSync(cfgFile, config({ notes: lines }));
    expect(readFileSync(cfgFile).length).toBeGreaterThan(2 * fx.areaLength);
    for (const compression of ['xz', 'gzip'] as const) {
      const out = join(dir, `fits-${compression}.iso`);
      const r = await reefIso(['embed', '-i', cfgFile, '--in', fx.path, '-o', out, '--compression', compression]);
      expect(r.code).toBe(0);
      expect((await reefIso(['show', out])).stdout.equals(readFileSync(cfgFile))).toBe(true);
      expect(extractWithRealTools(out, fx, join(dir, 'x'), compression).equals(readFileSync(cfgFile))).toBe(true);
    }
  });

  it('embeds in place from stdin, refuses to replace without --force, replaces with it', async () => {
    if (!haveTools()) return;
    const fx = fixtures['img-only'];
    const iso = join(dir, 'in-place.iso');
    copyFileSync(fx.path, iso);
    const first = config({ n: 1 });
    expect((await reefIso(['embed', '--ignition', '-', iso], first)).code).toBe(0);
    expect((await reefIso(['show', iso])).stdout.equals(first)).toBe(true);
    const second = config({ n: 2 });
    const refused = await reefIso(['embed', '--ignition', '-', iso], second);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already has an embedded Ignition config; use --force/);
    expect((await reefIso(['show', iso])).stdout.equals(first)).toBe(true);
    expect((await reefIso(['embed', '--ignition', '-', '--force', iso], second)).code).toBe(0);
    expect((await reefIso(['show', iso])).stdout.equals(second)).toBe(true);
    expect((await reefIso(['reset', iso])).code).toBe(0);
    expect(readFileSync(iso).equals(readFileSync(fx.path))).toBe(true);
  });

  it('shows a config embedded with real LZMA (cpio -o -H newc | xz --check=crc32), as coreos-installer writes it', async () => {
    if (!haveTools()) return;
    const fx = fixtures.igninfo;
    const cfg = config({ storage: { files: [{ path: '/etc/motd', contents: { source: `data:,${'welcome to the edge '.repeat(400)}` }, mode: 420 }] } });
    const work = join(dir, 'lzma');
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'config.ign'), cfg);
    const cpio = execFileSync('cpio', ['-o', '-H', 'newc', '--quiet'], { cwd: work, input: 'config.ign\n' });
    const packed = execFileSync('xz', ['--check=crc32', '-c', '-9'], { input: cpio });
    expect(packed.length).toBeLessThan(cpio.length / 4); // really LZMA-compressed, not stored
    const iso = join(dir, 'lzma.iso');
    copyFileSync(fx.path, iso);
    execFileSync('dd', [`of=${iso}`, 'bs=2048', `seek=${fx.areaOffset / 2048}`, 'conv=notrunc', 'status=none'], { input: packed });
    const shown = await reefIso(['show', iso]);
    expect(shown.stderr).toBe('');
    expect(shown.stdout.equals(cfg)).toBe(true);
  });

  it('bad input: exit 2 naming the flag or the problem', async () => {
    if (!haveTools()) return;
    const iso = fixtures.igninfo.path;
    const notJson = join(dir, 'butane.yaml');
    writeFileSync(notJson, 'variant: fcos\nversion: 1.5.0\n');
    const noVersion = join(dir, 'noversion.ign');
    writeFileSync(noVersion, '{"passwd":{}}');
    const good = join(dir, 'good.ign');
    writeFileSync(good, config());
    const random = join(dir, 'random.bin');
    writeFileSync(random, noise(100_000, 4));
    const cases: [string[], RegExp][] = [
      [['embed', '--in', iso, '-o', join(dir, 'o.iso')], /--ignition: required/],
      [['embed', '-i', notJson, '--in', iso, '-o', join(dir, 'o.iso')], /--ignition .*butane\.yaml: the Ignition config is not JSON/],
      [['embed', '-i', noVersion, '--in', iso, '-o', join(dir, 'o.iso')], /no ignition\.version/],
      [['embed', '-i', good, '--in', iso, '-o', join(dir, 'o.iso'), '--compression', 'zstd'], /--compression: must be xz or gzip/],
      [['embed', '-i', join(dir, 'missing.ign'), '--in', iso], /--ignition .*missing\.ign: no such file/],
      [['embed', '-i', good, '--in', join(dir, 'missing.iso'), '-o', join(dir, 'o.iso')], /missing\.iso: no such file/],
      [['embed', '-i', good, random], /not an ISO 9660 image/],
      [['show'], /give exactly one ISO/],
      [['frobnicate'], /unknown subcommand "frobnicate"/],
      [['show', iso, '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const r = await reefIso(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(join(dir, 'o.iso'))).toBe(false);
    expect((await reefIso(['show', random])).stderr).toMatch(/not an ISO 9660 image/);
  });
});
