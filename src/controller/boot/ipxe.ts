/** iPXE scripts, rendered from plain data (no I/O). */
const quote = (s: string) => s.replace(/[\r\n]/g, ' ');

export const localBootScript = (why: string): string =>
  [
    '#!ipxe',
    `echo reef: ${quote(why)}; booting from the local disk`,
    // BIOS: hand INT 13h drive 0x80 back; UEFI: `exit` returns to the firmware boot order.
    'sanboot --no-describe --drive 0x80 || exit',
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
