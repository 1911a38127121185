/**
 * The e2e run's phase times: printed in the test output and kept in bench/RESULTS.md, section
 * "End-to-end VM install (TCG)", between markers (the last RUNS_KEPT runs, newest last).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface E2eRun {
  variant: string;
  /** Seconds building the images (0 when both came from the cache). */
  buildSeconds: number;
  cache: string;
  pxeToAgent: number;
  install: number;
  rebootToLogin: number;
  /** From the login prompt to the output of the recipe's cloud-init runcmd (negative: it came first). */
  loginToRuncmd: number;
  total: number;
}

const FILE = 'bench/RESULTS.md';
const BEGIN = '<!-- e2e-vm:begin (written by `npm run test:e2e`; edits inside are overwritten) -->';
const END = '<!-- e2e-vm:end -->';
const RUNS_KEPT = 10;
const HEADER = ['date (UTC)', 'variant', 'images', 'build s', 'PXE → agent start s', 'install s', 'reboot → login s', 'login → runcmd s', 'VM total s'];

const s = (n: number) => n.toFixed(0);

export const formatRun = (r: E2eRun): string =>
  `e2e ${r.variant}: images ${r.cache} (${s(r.buildSeconds)} s); PXE → agent start ${s(r.pxeToAgent)} s, install ${s(r.install)} s, reboot → login ${s(r.rebootToLogin)} s (cloud-init runcmd ${s(r.loginToRuncmd)} s after); VM total ${s(r.total)} s`;

const row = (r: E2eRun) =>
  `| ${new Date().toISOString().slice(0, 16).replace('T', ' ')} | ${r.variant} | ${r.cache} | ${s(r.buildSeconds)} | ${s(r.pxeToAgent)} | ${s(r.install)} | ${s(r.rebootToLogin)} | ${s(r.loginToRuncmd)} | ${s(r.total)} |`;

export const recordRun = (r: E2eRun): void => {
  const text = existsSync(FILE) ? readFileSync(FILE, 'utf8') : '# reef benchmark results\n';
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  const old = start >= 0 && end > start ? text.slice(start, end) : '';
  const rows = old.split('\n').filter((l) => /^\| \d{4}-/.test(l));
  const kept = [...rows, row(r)].slice(-RUNS_KEPT);
  const section = [
    BEGIN,
    '## End-to-end VM install (TCG)',
    '',
    `The whole flow on a UEFI qemu VM without KVM (q35, OVMF, \`-accel tcg -cpu max -smp 2 -m 3072\`) on this ${cpus().length}-core machine:`,
    'DHCP and iPXE from dnsmasq, reef\'s /boot.ipxe, the maintenance OS over HTTP (live-boot `fetch=`), the agent',
    'installing a Debian 12 rootfs (kernel, GRUB for EFI, systemd) onto a blank 4 GiB virtio disk, the reboot',
    'through reef\'s local-boot script to GRUB on the disk, and the installed system\'s login prompt on ttyS0 under',
    'the hostname of the NoCloud seed, then the output of the recipe\'s cloud-init runcmd. Phases from the start',
    'of qemu: until the job\'s first agent event; until the job succeeded; from the reset after it until `login:`;',
    'from there until the runcmd\'s line. "images": whether both images came from REEF_E2E_CACHE ("cached") or were built',
    '(the build time is outside the VM phases). Run: `npm run test:e2e` (test/e2e/, as root).',
    '',
    `| ${HEADER.join(' | ')} |`,
    `| ${HEADER.map(() => '---').join(' | ')} |`,
    ...kept,
    '',
  ].join('\n');
  const next = start >= 0 && end > start ? `${text.slice(0, start)}${section}${text.slice(end)}` : `${text.trimEnd()}\n\n${section}${END}\n`;
  writeFileSync(FILE, next);
};
