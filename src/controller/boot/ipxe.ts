/** iPXE scripts, rendered from plain data (no I/O). */
const quote = (s: string) => s.replace(/[\r\n]/g, ' ');

/**
 * Boots the local disk on both firmwares. BIOS: hand INT 13h drive 0x80 back. UEFI: there is no
 * drive 0x80, and a plain `exit` returns success, which stops the firmware in its setup screen;
 * `exit 1` fails the network boot option, so the firmware goes on to the next one (the disk).
 */
export const localBootScript = (why: string): string =>
  [
    '#!ipxe',
    `echo reef: ${quote(why)}; booting from the local disk`,
    'iseq ${platform} efi && goto reef_uefi ||',
    'sanboot --no-describe --drive 0x80 || goto reef_failed',
    ':reef_uefi',
    'echo reef: UEFI: leaving the disk to the firmware boot order',
    'exit 1',
    ':reef_failed',
    'echo reef: the local disk did not boot',
    'exit 1',
    '',
  ].join('\n');

export const chainScript = (p: { jobId: string; kernelUrl: string; initrdUrl: string; args: string[] }): string =>
  [
    '#!ipxe',
    `echo reef: job ${p.jobId}: booting the maintenance OS`,
    `kernel ${p.kernelUrl} initrd=initrd ${p.args.map(quote).join(' ')}`.trimEnd(),
    `initrd --name initrd ${p.initrdUrl}`,
    'boot',
    '',
  ].join('\n');

/** `what` says what is booted, e.g. "job <id>: sanboot of the boot ISO over HTTP". */
export const sanbootScript = (p: { what: string; isoUrl: string }): string =>
  [
    '#!ipxe',
    `echo reef: ${quote(p.what)}`,
    `sanboot --no-describe --drive 0x81 ${p.isoUrl}`,
    '',
  ].join('\n');
