import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PLANS } from '../../src/maintenance-os/runner.js';
import { requireTool } from '../helpers/tools.js';

const UNITS = 'src/maintenance-os/units';
const unit = (name: string) => readFileSync(join(UNITS, name), 'utf8');
const values = (text: string, key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);

describe('maintenance OS systemd units', () => {
  for (const [target, steps] of Object.entries(PLANS)) {
    const os = target.replace(/^install-|\.target$/g, '');
    const names = steps.map((s) => `reef-${os}-${s.name}.service`);

    it(`${target} runs one oneshot unit per agent step, in the agent's order, each reporting on failure`, () => {
      expect(values(unit(target), 'Requires')[0]!.split(' ')).toEqual(names);
      expect(values(unit(target), 'After')).toEqual([names.at(-1)]);
      names.forEach((name, i) => {
        const text = unit(name);
        expect(values(text, 'Type')).toEqual(['oneshot']);
        // The last unit also does the recipe's `after` (reboot by default) once its final report is delivered.
        const after = i === steps.length - 1 ? ' --apply-after' : '';
        expect(values(text, 'ExecStart')).toEqual([`/usr/local/bin/reef agent --step ${steps[i]!.name}${after} $REEF_AGENT_ARGS`]);
        expect(values(text, 'OnFailure')).toEqual(['reef-report-failure@%n.service']);
        if (i > 0) expect(values(text, 'Requires')).toEqual([names[i - 1]]);
        if (i > 0) expect(values(text, 'After')[0]).toContain(names[i - 1]);
      });
    });
  }

  it('ships no unit the plans do not use', () => {
    const planned = Object.entries(PLANS).flatMap(([t, steps]) => [t, ...steps.map((s) => `reef-${t.replace(/^install-|\.target$/g, '')}-${s.name}.service`)]);
    expect(readdirSync(UNITS).sort()).toEqual([...planned, 'reef-dispatch.service', 'reef-report-failure@.service'].sort());
  });

  it.runIf(requireTool('systemd-analyze'))('passes systemd-analyze verify', async () => {
    // Verified from a copy whose ExecStart points at an executable that exists here.
    const dir = mkdtempSync(join(tmpdir(), 'reef-units-'));
    try {
      const stub = join(dir, 'reef');
      writeFileSync(stub, '#!/bin/sh\nexit 0\n');
      chmodSync(stub, 0o755);
      const files = readdirSync(UNITS).map((name) => {
        writeFileSync(join(dir, name), unit(name).replaceAll('/usr/local/bin/reef', stub));
        return join(dir, name.replace('@.service', '@reef-linux-pull.service.service'));
      });
      const { stdout, stderr } = await promisify(execFile)('systemd-analyze', ['verify', '--man=no', ...files]);
      expect(`${stdout}${stderr}`.trim()).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
