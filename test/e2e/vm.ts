/**
 * The machine: a UEFI qemu VM (q35, OVMF, TCG) with a blank virtio disk and a virtio NIC on the
 * namespace's tap, the NIC first in the boot order (its option ROM, efi-virtio.rom, is iPXE) and
 * the disk second. Its serial console goes to a file the test reads; QMP on a unix socket.
 */
import { closeSync, copyFileSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { BootNet, Started } from './net.js';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
export const IPXE_ROM = '/usr/lib/ipxe/qemu/efi-virtio.rom';

export interface Vm {
  proc: Started;
  serial: SerialLog;
  /** Resets the machine as its reset button would (QMP system_reset). */
  reset(): Promise<void>;
}

export const startVm = (net: BootNet, dir: string, o: { mac: string; diskGiB: number }): Vm => {
  const vars = join(dir, 'OVMF_VARS.fd');
  copyFileSync(OVMF_VARS, vars);
  const disk = join(dir, 'disk.raw');
  execFileSync('truncate', ['-s', `${o.diskGiB}G`, disk]);
  const serialFile = join(dir, 'serial.log');
  const qmp = join(dir, 'qmp.sock');
  const proc = net.start('qemu-system-x86_64', [
    '-machine', 'q35',
    '-accel', 'tcg',
    '-cpu', 'max',
    '-smp', '2',
    '-m', '3072',
    '-nodefaults',
    '-display', 'none',
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${vars}`,
    '-drive', `if=none,id=disk0,format=raw,file=${disk}`,
    '-device', 'virtio-blk-pci,drive=disk0,bootindex=2',
    '-netdev', `tap,id=net0,ifname=${net.tap},script=no,downscript=no`,
    '-device', `virtio-net-pci,netdev=net0,mac=${o.mac},bootindex=1,romfile=${IPXE_ROM}`,
    // Only iPXE boots from the NIC: without these, OVMF's own PXEv4 and PXEv6 boot options for the
    // same NIC come after iPXE's `exit 1` and before the disk, each waiting out its DHCP (minutes
    // under TCG). HTTP boot has no such switch in this OVMF; dnsmasq answers it (boot-services.ts).
    '-fw_cfg', 'name=opt/org.tianocore/IPv4PXESupport,string=no',
    '-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=no',
    '-chardev', `file,id=serial0,path=${serialFile}`,
    '-serial', 'chardev:serial0',
    '-qmp', `unix:${qmp},server=on,wait=off`,
  ]);
  return { proc, serial: new SerialLog(serialFile), reset: () => qmpCommand(qmp, 'system_reset') };
};

/** Sends one QMP command (after the capabilities handshake) and resolves on its reply. */
const qmpCommand = (socket: string, command: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let buf = '';
    let stage = 0;
    const timer = setTimeout(() => fail(new Error(`QMP ${command}: no answer within 10 s (${buf.trim()})`)), 10_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      conn.destroy();
      reject(err);
    };
    conn.on('error', fail);
    conn.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as { QMP?: unknown; return?: unknown; error?: { desc: string } };
        buf = buf.slice(nl + 1);
        if (msg.error) return fail(new Error(`QMP ${command}: ${msg.error.desc}`));
        if (msg.QMP && stage === 0) {
          stage = 1;
          conn.write('{"execute":"qmp_capabilities"}\n');
        } else if (msg.return !== undefined && stage === 1) {
          stage = 2;
          conn.write(`${JSON.stringify({ execute: command })}\n`);
        } else if (msg.return !== undefined && stage === 2) {
          clearTimeout(timer);
          conn.end();
          resolve();
        }
      }
    });
  });

/** The VM's serial console as written so far; ANSI escapes and CRs of the firmware's screen output are kept. */
export class SerialLog {
  constructor(readonly file: string) {}

  size(): number {
    return existsSync(this.file) ? statSync(this.file).size : 0;
  }

  /** The text from byte `from` on. */
  since(from = 0): string {
    if (!existsSync(this.file)) return '';
    const fd = openSync(this.file, 'r');
    try {
      const len = Math.max(0, statSync(this.file).size - from);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, from);
      return buf.toString('latin1');
    } finally {
      closeSync(fd);
    }
  }

  /** The last `lines` lines, with escape sequences removed, for failure messages. */
  tail(lines = 60): string {
    const text = existsSync(this.file) ? readFileSync(this.file, 'latin1') : '';
    return text
      .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
      .replace(/\r/g, '\n')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(-lines)
      .join('\n');
  }
}
